from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = "Reminders and alerts"

    def ready(self) -> None:
        # Register the digest's send-time context builder and the configuration check.
        from . import checks, staff  # noqa: F401
