from django.apps import AppConfig


class SchedulerConfig(AppConfig):
    name = "paperfeed.scheduler"
    verbose_name = "Scheduler"
