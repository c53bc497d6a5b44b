from django.urls import path

from . import views

app_name = "notifications"

urlpatterns = [
    path("", views.alert_list, name="alert_list"),
    path("<uuid:public_id>/", views.alert_detail, name="alert_detail"),
]
