from django.apps import AppConfig


class CommunityConfig(AppConfig):
    name = "paperfeed.community"
    verbose_name = "Community"
