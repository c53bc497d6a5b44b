from django.urls import path

from . import views

app_name = "patients"

urlpatterns = [
    path("", views.search, name="search"),
    path("register/", views.register, name="register"),
    path("emergency/", views.emergency_access, name="emergency_access"),
    path("emergency/<uuid:access_id>/end/", views.emergency_end, name="emergency_end"),
    path("emergency/reviews/", views.emergency_reviews, name="emergency_reviews"),
    path("emergency/reviews/<uuid:access_id>/", views.emergency_review, name="emergency_review"),
    path("<uuid:public_id>/", views.detail, name="detail"),
    path("<uuid:public_id>/edit/", views.edit, name="edit"),
    path("<uuid:public_id>/archive/", views.archive, name="archive"),
    path("<uuid:public_id>/referrals/new/", views.referral_create, name="referral_create"),
    path("<uuid:public_id>/admit/", views.episode_admit, name="episode_admit"),
    path("<uuid:public_id>/episodes/<uuid:episode_id>/discharge/", views.episode_discharge, name="episode_discharge"),
    path("<uuid:public_id>/consents/", views.consent_list, name="consent_list"),
    path("<uuid:public_id>/consents/new/", views.consent_create, name="consent_create"),
    path("<uuid:public_id>/consents/<uuid:consent_id>/", views.consent_detail, name="consent_detail"),
    path("<uuid:public_id>/consents/<uuid:consent_id>/revoke/", views.consent_revoke, name="consent_revoke"),
    path("<uuid:public_id>/disclosures/", views.disclosure_list, name="disclosure_list"),
    path("<uuid:public_id>/disclosures/new/", views.disclosure_create, name="disclosure_create"),
    path(
        "<uuid:public_id>/disclosures/without-consent/",
        views.disclosure_without_consent,
        name="disclosure_without_consent",
    ),
    path("<uuid:public_id>/disclosures/accounting/", views.disclosure_accounting, name="disclosure_accounting"),
    path(
        "<uuid:public_id>/disclosures/<uuid:disclosure_id>/packet/",
        views.disclosure_packet,
        name="disclosure_packet",
    ),
    path("<uuid:public_id>/support/", views.support_list, name="support_list"),
    path("<uuid:public_id>/support/new/", views.support_create, name="support_create"),
    path("<uuid:public_id>/support/<uuid:contact_id>/edit/", views.support_edit, name="support_edit"),
    path("<uuid:public_id>/support/<uuid:contact_id>/remove/", views.support_remove, name="support_remove"),
]
