from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "billing"
    label = "billing"
    verbose_name = "Billing"

    def ready(self) -> None:
        from django.urls import reverse

        from notifications.links import register

        from .selectors import REVIEW_DUE_OBJECT

        # A "utilization review due" task (raised by reports.due_work) opens the patient's
        # Authorizations page.
        register(
            REVIEW_DUE_OBJECT,
            lambda object_id: reverse("billing:authorizations", args=[object_id.split(":", 1)[0]]),
        )
