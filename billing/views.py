"""Authorization pages, reached from the patient's chart: the patient's authorizations with
units used and the next utilization review due, one authorization with its UR history and the
billable days counted against it, and the forms that record them.

Every view starts with one fetch-and-check: ``get_patient_for_user`` (404 for a patient the
user may not see, 403 without ``billing.manage`` for the writes), then the authorization among
that patient's (404 otherwise). Each response showing the patient's information records one
audit event; writes are audited by the services, with before/after.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Prefetch, prefetch_related_objects
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST, require_safe

from audit.models import Action
from audit.services import record
from patients.models import Patient, site_today
from patients.permissions import get_patient_for_user
from patients.selectors import chart_header
from users.forms import add_service_errors

from . import services
from .forms import AuthorizationForm, ReviewForm
from .models import Authorization, UtilizationReview
from .permissions import authorizations_visible_to, can_manage_billing, get_authorization_for_user
from .selectors import billable_days, review_state, superseded, with_units_used


def _viewed(request: HttpRequest, patient: Patient, *, obj=None, object_type: str = "") -> None:
    """The one audit event for a response that shows this patient's information."""
    record(Action.VIEW, request=request, site=patient.site_id, patient=patient, obj=obj, object_type=object_type)


def _context(request: HttpRequest, patient: Patient, *, episodes=None, **extra) -> dict:
    return {
        "patient": patient,
        "chart": chart_header(patient, episodes=episodes),
        "may": {"billing_manage": can_manage_billing(request.user, patient)},
        **extra,
    }


@login_required
@require_safe
def authorizations(request: HttpRequest, public_id) -> HttpResponse:
    """The patient's authorizations, newest episode first: payer, code, the authorized level next
    to the clinical one, dates, units authorized / used / left, reference, care manager and the
    next UR review due."""
    patient = get_patient_for_user(request.user, public_id)
    episodes = list(patient.episodes.select_related("primary_counselor").order_by("-admission_date", "-id"))
    auths = with_units_used(
        authorizations_visible_to(request.user)
        .filter(episode__patient=patient)
        .select_related("payer", "service_code", "episode")
        .prefetch_related("reviews")
        .order_by("-start_date", "-id")
    )
    today = site_today(patient.site)
    replaced = superseded(auths)
    for auth in auths:
        auth.review_state = review_state(auth, today, replaced=replaced)
    groups = [(e, [a for a in auths if a.episode_id == e.pk]) for e in episodes]
    _viewed(request, patient, object_type="billing.Authorization")
    return render(
        request,
        "billing/authorizations.html",
        _context(request, patient, episodes=episodes, groups=groups, today=today),
    )


@login_required
def authorization_create(request: HttpRequest, public_id) -> HttpResponse:
    patient = get_patient_for_user(request.user, public_id, write=True, capability="billing.manage")
    episodes = patient.episodes.order_by("-admission_date", "-id")
    current = episodes.filter(discharge_date__isnull=True).first() or episodes.first()
    initial = {}
    if current is not None:
        initial = {
            "episode": current.pk,
            "authorized_level": current.level_of_care,
            "start_date": current.admission_date,
        }
    form = AuthorizationForm(request.POST or None, episodes=episodes, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        episode = data.pop("episode")
        try:
            auth = services.authorization_create(episode=episode, by=request.user, **data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Authorization {auth.reference_number} recorded.")
            return redirect(
                "billing:authorization_detail", public_id=patient.public_id, authorization_id=auth.public_id
            )
    _viewed(request, patient, obj=patient)
    return render(request, "billing/authorization_form.html", _context(request, patient, form=form, authorization=None))


def _detail_page(request: HttpRequest, patient: Patient, auth: Authorization, *, form=None) -> HttpResponse:
    days = list(billable_days(auth.start_date, auth.end_date, episode_ids=[auth.episode_id]))
    auth._units_used = len(days)
    prefetch_related_objects([auth], Prefetch("reviews", UtilizationReview.objects.select_related("recorded_by")))
    reviews = list(auth.reviews.all())
    today = site_today(patient.site)
    same_payer = Authorization.objects.filter(episode_id=auth.episode_id, payer_id=auth.payer_id)
    auth.review_state = review_state(auth, today, replaced=superseded([auth, *same_payer.exclude(pk=auth.pk)]))
    may_manage = can_manage_billing(request.user, patient)
    if form is None and may_manage:
        form = ReviewForm(initial={"review_date": today})
    _viewed(request, patient, obj=auth)
    return render(
        request,
        "billing/authorization_detail.html",
        _context(
            request,
            patient,
            authorization=auth,
            reviews=reviews,
            days=[{**d, "unit": n} for n, d in enumerate(days, start=1)],
            form=form if may_manage else None,
            today=today,
        ),
    )


@login_required
@require_safe
def authorization_detail(request: HttpRequest, public_id, authorization_id) -> HttpResponse:
    patient = get_patient_for_user(request.user, public_id)
    auth = get_authorization_for_user(request.user, patient, authorization_id)
    return _detail_page(request, patient, auth)


@login_required
def authorization_edit(request: HttpRequest, public_id, authorization_id) -> HttpResponse:
    patient = get_patient_for_user(request.user, public_id, write=True, capability="billing.manage")
    auth = get_authorization_for_user(request.user, patient, authorization_id, write=True)
    initial = {name: getattr(auth, name) for name in services.AUTHORIZATION_FIELDS}
    form = AuthorizationForm(request.POST or None, episodes=None, current=auth, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.authorization_update(authorization=auth, by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, "Authorization saved.")
            return redirect(
                "billing:authorization_detail", public_id=patient.public_id, authorization_id=auth.public_id
            )
    _viewed(request, patient, obj=auth)
    return render(request, "billing/authorization_form.html", _context(request, patient, form=form, authorization=auth))


@login_required
@require_POST
def review_create(request: HttpRequest, public_id, authorization_id) -> HttpResponse:
    """Record a utilization review; on a refusal the authorization page is shown again with the
    message on the field and nothing saved."""
    patient = get_patient_for_user(request.user, public_id, write=True, capability="billing.manage")
    auth = get_authorization_for_user(request.user, patient, authorization_id, write=True)
    form = ReviewForm(request.POST)
    if form.is_valid():
        try:
            review = services.utilization_review_record(authorization=auth, by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"{review.get_kind_display()} recorded.")
            return redirect(
                "billing:authorization_detail", public_id=patient.public_id, authorization_id=auth.public_id
            )
    return _detail_page(request, patient, auth, form=form)
