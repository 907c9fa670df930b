from django.apps import AppConfig


class CommunityConfig(AppConfig):
    name = "paperfeed.community"
    verbose_name = "Community"

    def ready(self) -> None:
        from paperfeed.community import signals  # noqa: F401 (connects the receivers)
