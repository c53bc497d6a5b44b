from django.apps import AppConfig


class AssessmentsConfig(AppConfig):
    name = "assessments"
    verbose_name = "Assessments and placement"

    def ready(self) -> None:
        # Tell notifications where an alert about a response can be opened (it cannot import us).
        from django.urls import reverse

        from notifications.links import register

        register(
            "assessments.AssessmentResponse",
            lambda object_id: reverse("assessments:response_detail", kwargs={"public_id": object_id}),
        )
