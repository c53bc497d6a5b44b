from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = "Reminders and alerts"

    def ready(self) -> None:
        # Register the send-time context builders, the configuration check and the receivers of
        # patient events.
        from django.urls import reverse

        from . import checks, receivers, staff  # noqa: F401
        from .links import register

        # An emergency-access alert opens the grant's review page; a no-consent disclosure alert
        # the patient's disclosure log.
        register(
            "patients.EmergencyAccess",
            lambda object_id: reverse("patients:emergency_review", kwargs={"access_id": object_id}),
        )
        register("patients.Disclosure", _disclosure_log_url)


def _disclosure_log_url(object_id: str) -> str | None:
    from django.urls import reverse

    from patients.models import Disclosure

    patient = Disclosure.objects.filter(public_id=object_id).values_list("patient__public_id", flat=True).first()
    return reverse("patients:disclosure_list", kwargs={"public_id": patient}) if patient else None
