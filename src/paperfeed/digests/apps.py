from django.apps import AppConfig


class DigestsConfig(AppConfig):
    name = "paperfeed.digests"
    verbose_name = "E-mail digests"
