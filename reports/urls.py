from django.urls import path

from . import views

app_name = "reports"

urlpatterns = [
    path("discharge/<uuid:public_id>/<uuid:episode_id>/", views.discharge, name="discharge"),
]
