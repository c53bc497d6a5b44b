from django.urls import path

from . import delivery_views, views

app_name = "notifications"

urlpatterns = [
    path("", views.alert_list, name="alert_list"),
    path("delivery/", delivery_views.delivery, name="delivery"),
    path("sms/status/", delivery_views.sms_status, name="sms_status"),
    path("sms/inbound/", delivery_views.sms_inbound, name="sms_inbound"),
    path("<uuid:public_id>/", views.alert_detail, name="alert_detail"),
]
