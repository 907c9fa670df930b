from django.apps import AppConfig


class SearchConfig(AppConfig):
    name = "paperfeed.search"
    verbose_name = "Search"

    def ready(self) -> None:
        from paperfeed.search import signals  # noqa: F401 - connects the index updater
