from django.urls import path

from . import views

urlpatterns = [
    path("sessions/<uuid:session_id>/attendance/", views.AttendanceListApi.as_view(), name="attendance-list"),
    path(
        "sessions/<uuid:session_id>/attendance/record/",
        views.AttendanceRecordApi.as_view(),
        name="attendance-record",
    ),
    path("notes/", views.ProgressNoteListApi.as_view(), name="note-list"),
    path("notes/create/", views.ProgressNoteCreateApi.as_view(), name="note-create"),
    path("notes/<uuid:note_id>/", views.ProgressNoteDetailApi.as_view(), name="note-detail"),
    path("notes/<uuid:note_id>/update/", views.ProgressNoteUpdateApi.as_view(), name="note-update"),
    path("notes/<uuid:note_id>/sign/", views.ProgressNoteSignApi.as_view(), name="note-sign"),
]
