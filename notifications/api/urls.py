from django.urls import path

from . import views

urlpatterns = [
    path("alerts/", views.AlertListApi.as_view(), name="alert-list"),
    path("alerts/<uuid:alert_id>/", views.AlertDetailApi.as_view(), name="alert-detail"),
    path("alerts/<uuid:alert_id>/acknowledge/", views.AlertAcknowledgeApi.as_view(), name="alert-acknowledge"),
]
