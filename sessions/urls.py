from django.urls import path

from . import views

app_name = "sessions"
urlpatterns = [
    path("<uuid:public_id>/rollcall/", views.rollcall, name="rollcall"),
    path("<uuid:public_id>/rollcall/row/<int:index>/", views.rollcall_row, name="rollcall_row"),
    path("<uuid:public_id>/group-note/", views.group_note_open, name="group_note_open"),
    path("<uuid:public_id>/notes/<uuid:patient_id>/new/", views.progress_note_new, name="progress_note_new"),
    path("group-notes/<uuid:public_id>/", views.group_note_detail, name="group_note"),
    path("group-notes/<uuid:public_id>/edit/", views.group_note_edit, name="group_note_edit"),
    path("notes/<uuid:public_id>/", views.progress_note_detail, name="progress_note"),
    path("notes/<uuid:public_id>/edit/", views.progress_note_edit, name="progress_note_edit"),
    path("notes/drafts/", views.my_notes, name="my_notes"),
    path("cosign/", views.cosign_queue, name="cosign_queue"),
    path("cosign/<str:kind>/<uuid:public_id>/", views.cosign, name="cosign"),
    path("followups/", views.followups, name="followups"),
    path("settings/", views.clinical_settings, name="clinical_settings"),
    path("followups/attendance/<uuid:public_id>/", views.attendance_followup, name="attendance_followup"),
    path("patients/<uuid:public_id>/followup/", views.patient_followup, name="patient_followup"),
    path("patients/<uuid:public_id>/notes/", views.patient_notes, name="patient_notes"),
    path("patients/<uuid:public_id>/notes/group/<uuid:note_id>/", views.patient_group_note, name="patient_group_note"),
    path("patients/<uuid:public_id>/hours/", views.patient_hours, name="patient_hours"),
]
