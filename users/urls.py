from django.urls import path

from . import views

app_name = "users"
urlpatterns = [
    path("site/switch/", views.site_switch, name="site_switch"),
    path("sites/<uuid:public_id>/", views.site_detail, name="site_detail"),
    path("sites/<uuid:public_id>/edit/", views.site_edit, name="site_edit"),
    path("sites/<uuid:public_id>/staff/", views.staff, name="staff"),
    path("sites/<uuid:public_id>/staff/<int:membership_id>/", views.membership_edit, name="membership_edit"),
    path(
        "sites/<uuid:public_id>/invitations/<int:invitation_id>/revoke/",
        views.invitation_revoke,
        name="invitation_revoke",
    ),
    path("invite/<str:token>/", views.invitation_accept, name="invitation_accept"),
]
