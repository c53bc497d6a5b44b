from django.urls import path

from . import lock, views
from .api import views_tokens

app_name = "users"
urlpatterns = [
    path("site/switch/", views.site_switch, name="site_switch"),
    # The screen lock: under /session/ (lock.PREFIX), reachable while locked.
    path("session/alive/", lock.alive, name="alive"),
    path("session/lock/", lock.lock, name="lock"),
    path("session/lock/status/", lock.status, name="lock_status"),
    path("session/locked/", lock.locked, name="locked"),
    path("session/unlock/", lock.unlock, name="unlock"),
    path("session/unlocked/", lock.unlocked, name="unlocked"),
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
    path("account/api-tokens/", views_tokens.api_tokens, name="api_tokens"),
    path("account/api-tokens/create/", views_tokens.api_token_create_view, name="api_token_create"),
    path("account/api-tokens/<uuid:public_id>/revoke/", views_tokens.api_token_revoke_view, name="api_token_revoke"),
]
