"""Clinician alert pages: the list at the current site and one alert with its acknowledgement.

Each view starts with one fetch-and-check; a page that names patients records one audit event.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Exists, OuterRef
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from audit.models import Action
from audit.services import record
from users.forms import add_service_errors
from users.permissions import has_capability

from . import services
from .forms import AcknowledgeForm
from .models import Alert
from .permissions import alerts_visible_to, can_acknowledge, get_alert_for_user

RECENT = 25


@login_required
def alert_list(request: HttpRequest) -> HttpResponse:
    """Open alerts at the current site (mine first), then the recently acknowledged ones."""
    site = request.clinic.site
    if site is None or not has_capability(request.user, site, "clinical.view"):
        raise PermissionDenied
    visible = alerts_visible_to(request.user).filter(site=site).select_related("patient", "acknowledged_by")
    addressed = Alert.recipients.through.objects.filter(alert_id=OuterRef("pk"), user_id=request.user.pk)
    open_alerts = list(visible.open().annotate(is_mine=Exists(addressed)).by_urgency())
    open_alerts.sort(key=lambda a: not a.is_mine)  # stable: urgency order kept within each group
    recent = list(visible.acknowledged().order_by("-acknowledged_at", "-id")[:RECENT])
    shown = [a for a in open_alerts + recent if a.patient_id]
    if shown:
        record(
            Action.VIEW,
            request=request,
            site=site,
            object_type="notifications.Alert",
            changes={"shown_patients": sorted({str(a.patient.public_id) for a in shown})},
        )
    return render(request, "notifications/alert_list.html", {"open": open_alerts, "recent": recent, "site": site})


@login_required
def alert_detail(request: HttpRequest, public_id) -> HttpResponse:
    """One alert; a clinician acknowledges it here with an action and a note."""
    alert = get_alert_for_user(request.user, public_id, write=request.method == "POST")
    form = AcknowledgeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.alert_acknowledge(alert=alert, by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, "Alert acknowledged. Your action and note are on the record.")
            return redirect("notifications:alert_detail", public_id=alert.public_id)
    record(Action.VIEW, request=request, site=alert.site_id, patient=alert.patient, obj=alert)
    return render(
        request,
        "notifications/alert_detail.html",
        {"alert": alert, "form": form, "may_acknowledge": can_acknowledge(request.user, alert)},
    )
