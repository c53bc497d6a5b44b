from django.urls import path

from . import views

urlpatterns = [
    path(
        "patients/<uuid:patient_id>/fhir-disclosure/",
        views.FhirDisclosureApi.as_view(),
        name="patient-fhir-disclosure",
    ),
]
