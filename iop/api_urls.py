"""One router for every app's API, under /api/v1/."""

from django.urls import include, path

from users.api import views as user_api

app_name = "api"
v1 = [
    path("me/", user_api.MeApi.as_view(), name="me"),
]
urlpatterns = [path("v1/", include(v1))]
