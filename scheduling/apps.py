from django.apps import AppConfig


class SchedulingConfig(AppConfig):
    name = "scheduling"
    verbose_name = "Scheduling"

    def ready(self) -> None:
        # Register the reminders' send-time check with the outbox (every web and worker process).
        from . import reminders  # noqa: F401
