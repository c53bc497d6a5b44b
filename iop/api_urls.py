"""One router for every app's API, under /api/v1/, plus the OpenAPI schema and its viewers."""

from csp.decorators import csp_update
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerSplitView

from users.api import views as user_api

# Swagger UI and ReDoc insert <style> elements at run time. These two pages show the API
# schema only (never patient data), so they alone may apply inline styles; scripts stay 'self'.
_docs_styles = csp_update({"style-src": ["'unsafe-inline'"]})

app_name = "api"
v1 = [
    path("me/", user_api.MeApi.as_view(), name="me"),
    path("", include("patients.api.urls")),
    path("", include("scheduling.api.urls")),
    path("", include("sessions.api.urls")),
    path("", include("assessments.api.urls")),
    path("", include("plans.api.urls")),
    path("", include("billing.api.urls")),
    path("", include("notifications.api.urls")),
    path("", include("reports.api.urls")),
]
urlpatterns = [
    path("v1/", include(v1)),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves its start-up script as a file, so no inline script is needed.
    path("docs/", _docs_styles(SpectacularSwaggerSplitView.as_view(url_name="api:schema")), name="docs"),
    path("redoc/", _docs_styles(SpectacularRedocView.as_view(url_name="api:schema")), name="redoc"),
]
