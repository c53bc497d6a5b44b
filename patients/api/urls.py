from django.urls import path

from . import views

urlpatterns = [
    path("patients/", views.PatientListApi.as_view(), name="patient-list"),
    path("patients/search/", views.PatientSearchApi.as_view(), name="patient-search"),
    path("patients/create/", views.PatientCreateApi.as_view(), name="patient-create"),
    path("patients/<uuid:patient_id>/", views.PatientDetailApi.as_view(), name="patient-detail"),
    path("patients/<uuid:patient_id>/update/", views.PatientUpdateApi.as_view(), name="patient-update"),
    path("patients/<uuid:patient_id>/episodes/", views.EpisodeListApi.as_view(), name="episode-list"),
    path("patients/<uuid:patient_id>/episodes/admit/", views.EpisodeAdmitApi.as_view(), name="episode-admit"),
    path(
        "patients/<uuid:patient_id>/episodes/<uuid:episode_id>/discharge/",
        views.EpisodeDischargeApi.as_view(),
        name="episode-discharge",
    ),
    path("patients/<uuid:patient_id>/consents/", views.ConsentListApi.as_view(), name="consent-list"),
    path("patients/<uuid:patient_id>/consents/create/", views.ConsentCreateApi.as_view(), name="consent-create"),
    path(
        "patients/<uuid:patient_id>/consents/<uuid:consent_id>/",
        views.ConsentDetailApi.as_view(),
        name="consent-detail",
    ),
    path(
        "patients/<uuid:patient_id>/consents/<uuid:consent_id>/revoke/",
        views.ConsentRevokeApi.as_view(),
        name="consent-revoke",
    ),
    path("patients/<uuid:patient_id>/disclosures/", views.DisclosureListApi.as_view(), name="disclosure-list"),
    path(
        "patients/<uuid:patient_id>/disclosures/create/",
        views.DisclosureCreateApi.as_view(),
        name="disclosure-create",
    ),
]
