from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = "Reminders and alerts"

    def ready(self) -> None:
        # Register the send-time context builders, the configuration check and the receivers of
        # patient events.
        from django.urls import reverse

        from . import checks, receivers, reminders, staff  # noqa: F401
        from .links import register

        # An emergency-access alert opens the grant's review page.
        register(
            "patients.EmergencyAccess",
            lambda object_id: reverse("patients:emergency_review", kwargs={"access_id": object_id}),
        )
