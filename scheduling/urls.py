from django.urls import path

from . import views

app_name = "scheduling"
urlpatterns = [
    path("", views.calendar, name="calendar"),
    path("my-day/", views.my_day, name="my_day"),
    path("tracks/", views.track_list, name="track_list"),
    path("tracks/new/", views.track_create, name="track_create"),
    path("tracks/<uuid:public_id>/", views.track_detail, name="track_detail"),
    path("tracks/<uuid:public_id>/edit/", views.track_edit, name="track_edit"),
    path("tracks/<uuid:public_id>/generate/", views.track_generate, name="track_generate"),
    path("tracks/<uuid:public_id>/deactivate/", views.track_deactivate, name="track_deactivate"),
    path("tracks/<uuid:public_id>/enroll/", views.enroll, name="enroll"),
    path("enrollments/<uuid:public_id>/", views.enrollment_change, name="enrollment_change"),
    path("sessions/book/", views.session_book, name="session_book"),
    path("sessions/<uuid:public_id>/", views.session_detail, name="session_detail"),
    path("sessions/<uuid:public_id>/move/", views.session_move, name="session_move"),
    path("sessions/<uuid:public_id>/cancel/", views.session_cancel, name="session_cancel"),
    path("sessions/<uuid:public_id>/roster/", views.roster_add, name="roster_add"),
    path("sessions/<uuid:public_id>/roster/remove/", views.roster_remove, name="roster_remove"),
    path("rooms/", views.room_list, name="room_list"),
    path("rooms/<int:pk>/", views.room_edit, name="room_edit"),
    path("closures/", views.closure_list, name="closure_list"),
    path("closures/<int:pk>/delete/", views.closure_delete, name="closure_delete"),
    path("patients/<uuid:public_id>/", views.patient_schedule, name="patient_schedule"),
    path("patients/<uuid:public_id>/print/", views.patient_schedule_print, name="patient_schedule_print"),
    path("availability/", views.my_availability, name="my_availability"),
    path("availability/<uuid:public_id>/", views.staff_availability, name="staff_availability"),
    path("feed/", views.feed_settings, name="feed_settings"),
    path("ical/<str:token>.ics", views.ical_feed, name="ical_feed"),
]
