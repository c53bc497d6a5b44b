from django.urls import path

from . import views

A = "authorizations/<uuid:authorization_id>/"

urlpatterns = [
    path("payers/", views.PayerListApi.as_view(), name="payer-list"),
    path("service-codes/", views.ServiceCodeListApi.as_view(), name="service-code-list"),
    path("authorizations/", views.AuthorizationListApi.as_view(), name="authorization-list"),
    path("authorizations/create/", views.AuthorizationCreateApi.as_view(), name="authorization-create"),
    path(A, views.AuthorizationDetailApi.as_view(), name="authorization-detail"),
    path(A + "update/", views.AuthorizationUpdateApi.as_view(), name="authorization-update"),
    path(A + "reviews/", views.ReviewCreateApi.as_view(), name="authorization-review-create"),
]
