from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = "Reminders and alerts"

    def ready(self) -> None:
        # Register the send-time context builders and the configuration check.
        from . import checks, reminders, staff  # noqa: F401
