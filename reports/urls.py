from django.urls import path

from . import views

app_name = "reports"

urlpatterns = [
    path("discharge/<uuid:public_id>/<uuid:episode_id>/", views.discharge, name="discharge"),
    path("caseload/", views.caseload, name="caseload"),
    path("dashboard/", views.dashboard, name="dashboard"),
    path("per-diem/", views.per_diem, name="per_diem"),
]
