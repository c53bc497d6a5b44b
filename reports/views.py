"""Report pages. The discharge page drafts the summary from every floor and signs it through
``plans.services.discharge_sign`` (which calls ``patients.services.episode_discharge``)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from audit.models import Action
from audit.services import record
from patients.models import site_today
from patients.permissions import get_patient_for_user
from patients.selectors import chart_header
from plans.forms import DischargeSignForm
from plans.services import discharge_sign
from users.forms import add_service_errors
from users.permissions import has_capability

from .discharge import discharge_summary_draft


@login_required
def discharge(request: HttpRequest, public_id, episode_id) -> HttpResponse:
    """Choose the discharge type, edit the drafted summary, sign. Needs clinical.view to read
    and episode.discharge to sign (intake staff: 403; another site: 404)."""
    patient = get_patient_for_user(request.user, public_id, write=True, capability="clinical.view")
    episode = get_object_or_404(patient.episodes.select_related("site"), public_id=episode_id)
    may_sign = episode.is_open and has_capability(request.user, patient.site_id, "episode.discharge")
    today = site_today(patient.site)
    draft = discharge_summary_draft(episode, discharge_date=today)
    form = None
    if may_sign:
        form = DischargeSignForm(request.POST or None, initial={"discharge_date": today, "summary": draft["text"]})
    if request.method == "POST":
        if not may_sign:
            raise PermissionDenied
        if form.is_valid():
            try:
                discharge_sign(episode=episode, by=request.user, **form.cleaned_data)
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(
                    request, "Discharge signed: the episode is closed and 30/60/90-day follow-ups are scheduled."
                )
                return redirect("plans:aftercare", public_id=patient.public_id)
    record(Action.VIEW, request=request, site=patient.site_id, patient=patient, obj=episode)
    return render(
        request,
        "reports/discharge.html",
        {"patient": patient, "chart": chart_header(patient), "episode": episode, "draft": draft, "form": form},
    )
