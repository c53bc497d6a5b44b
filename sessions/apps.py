from django.apps import AppConfig


class ClinicalSessionsConfig(AppConfig):
    # The default label "sessions" belongs to django.contrib.sessions.
    name = "sessions"
    label = "clinical_sessions"
    verbose_name = "Session delivery"

    def ready(self) -> None:
        from django.urls import reverse

        from notifications.links import register
        from notifications.models import TITLES

        from .services import ALERT_TITLES, CONTACT_OBJECT, WEEK_OBJECT

        # Follow-up alerts carry PHI-free title codes; their text lives with the rest.
        for code, text in ALERT_TITLES.items():
            TITLES.setdefault(code, text)
        register(
            "clinical_sessions.Attendance",
            lambda object_id: reverse("sessions:attendance_followup", args=[object_id]),
        )
        # "<patient public id>:<week or date>": the patient's part comes first.
        register(WEEK_OBJECT, lambda object_id: reverse("sessions:patient_hours", args=[object_id.split(":", 1)[0]]))
        register(
            CONTACT_OBJECT, lambda object_id: reverse("sessions:patient_followup", args=[object_id.split(":", 1)[0]])
        )
