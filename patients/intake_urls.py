"""The intake staff's pages: the board and one referral's pipeline (namespace ``intake``)."""

from django.urls import path

from . import views

app_name = "intake"

urlpatterns = [
    path("", views.intake_board, name="board"),
    path("referrals/<uuid:public_id>/", views.referral_detail, name="referral"),
    path("referrals/<uuid:public_id>/advance/", views.referral_advance, name="referral_advance"),
]
