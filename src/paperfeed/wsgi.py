"""WSGI entry point used by gunicorn in `paperfeed serve`."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "paperfeed.settings")
application = get_wsgi_application()
