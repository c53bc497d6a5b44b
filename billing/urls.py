from django.urls import path

from . import views

app_name = "billing"

P = "patients/<uuid:public_id>/authorizations/"
A = P + "<uuid:authorization_id>/"

urlpatterns = [
    path(P, views.authorizations, name="authorizations"),
    path(P + "new/", views.authorization_create, name="authorization_create"),
    path(A, views.authorization_detail, name="authorization_detail"),
    path(A + "edit/", views.authorization_edit, name="authorization_edit"),
    path(A + "reviews/", views.review_create, name="review_create"),
]
