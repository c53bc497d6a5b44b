from django.urls import path

from . import views

app_name = "assessments"

urlpatterns = [
    path("due/", views.due_list, name="due"),
    path("placements/review/", views.placement_review, name="placement_review"),
    path("patient/<uuid:public_id>/", views.patient_assessments, name="patient"),
    path("patient/<uuid:public_id>/administer/<slug:code>/", views.administer, name="administer"),
    path("patient/<uuid:public_id>/placements/", views.placement_list, name="placement_list"),
    path("patient/<uuid:public_id>/placements/new/", views.placement_create, name="placement_create"),
    path("patient/<uuid:public_id>/toxicology/", views.specimen_list, name="specimen_list"),
    path("patient/<uuid:public_id>/toxicology/new/", views.specimen_create, name="specimen_create"),
    path("patient/<uuid:public_id>/medications/", views.medication_list, name="medication_list"),
    path("patient/<uuid:public_id>/medications/new/", views.medication_create, name="medication_create"),
    path("response/<uuid:public_id>/", views.response_detail, name="response_detail"),
    path("response/<uuid:public_id>/close/", views.response_close, name="response_close"),
    path("placement/<uuid:public_id>/", views.placement_detail, name="placement_detail"),
    path("placement/<uuid:public_id>/edit/", views.placement_edit, name="placement_edit"),
    path("placement/<uuid:public_id>/cosign/", views.placement_cosign, name="placement_cosign"),
    path("specimen/<uuid:public_id>/", views.specimen_detail, name="specimen_detail"),
    path("medication/<uuid:public_id>/edit/", views.medication_edit, name="medication_edit"),
]
