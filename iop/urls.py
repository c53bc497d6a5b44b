from allauth.account.decorators import secure_admin_login
from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from users import views as user_views

# Admin sign-in goes through the main sign-in (allauth): the same MFA, throttling and audit.
admin.site.login = secure_admin_login(admin.site.login)
admin.site.site_header = "IOP Clinic administration"
admin.site.site_title = "IOP Clinic admin"

urlpatterns = [
    path("", user_views.home, name="home"),
    path("", include("users.urls")),
    path("audit/", include("audit.urls")),
    path("patients/", include("patients.urls")),
    path("intake/", include("patients.intake_urls")),
    path("plans/", include("plans.urls")),
    path("reports/", include("reports.urls")),
    path("billing/", include("billing.urls")),
    path("caseload/", RedirectView.as_view(pattern_name="reports:caseload", query_string=True), name="caseload"),
    path("assessments/", include("assessments.urls")),
    path("alerts/", include("notifications.urls")),
    path("schedule/", include("scheduling.urls")),
    path("sessions/", include("sessions.urls")),
    path("accounts/", include("allauth.urls")),
    path("api/", include("iop.api_urls")),
    path(settings.ADMIN_URL, admin.site.urls),
]

handler403 = "iop.errors.permission_denied"
handler404 = "iop.errors.page_not_found"
handler500 = "iop.errors.server_error"
