from django.urls import path

from . import views

urlpatterns = [
    path("tracks/", views.TrackListApi.as_view(), name="track-list"),
    path("tracks/<uuid:track_id>/", views.TrackDetailApi.as_view(), name="track-detail"),
    path("sessions/", views.SessionListApi.as_view(), name="session-list"),
    path("sessions/book/", views.SessionBookApi.as_view(), name="session-book"),
    path("sessions/<uuid:session_id>/", views.SessionDetailApi.as_view(), name="session-detail"),
    path("enrollments/", views.EnrollmentListApi.as_view(), name="enrollment-list"),
    path("enrollments/create/", views.EnrollmentCreateApi.as_view(), name="enrollment-create"),
    path("enrollments/<uuid:enrollment_id>/", views.EnrollmentDetailApi.as_view(), name="enrollment-detail"),
    path("enrollments/<uuid:enrollment_id>/end/", views.EnrollmentEndApi.as_view(), name="enrollment-end"),
]
