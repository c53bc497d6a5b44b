from django.urls import path

from . import views, views_group, views_signatures

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
    path("notes/<uuid:note_id>/cosign/", views_signatures.ProgressNoteCosignApi.as_view(), name="note-cosign"),
    path("notes/<uuid:note_id>/addendum/", views_signatures.ProgressNoteAddendumApi.as_view(), name="note-addendum"),
    path("group-notes/", views_group.GroupNoteListApi.as_view(), name="group-note-list"),
    path("group-notes/create/", views_group.GroupNoteCreateApi.as_view(), name="group-note-create"),
    path("group-notes/<uuid:group_note_id>/", views_group.GroupNoteDetailApi.as_view(), name="group-note-detail"),
    path(
        "group-notes/<uuid:group_note_id>/update/",
        views_group.GroupNoteUpdateApi.as_view(),
        name="group-note-update",
    ),
    path("group-notes/<uuid:group_note_id>/sign/", views_group.GroupNoteSignApi.as_view(), name="group-note-sign"),
    path(
        "group-notes/<uuid:group_note_id>/cosign/",
        views_signatures.GroupNoteCosignApi.as_view(),
        name="group-note-cosign",
    ),
    path(
        "group-notes/<uuid:group_note_id>/addendum/",
        views_signatures.GroupNoteAddendumApi.as_view(),
        name="group-note-addendum",
    ),
    path("cosign-queue/", views_signatures.CosignQueueApi.as_view(), name="cosign-queue"),
]
