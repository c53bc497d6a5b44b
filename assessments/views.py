"""Assessment, placement, toxicology and medication pages.

Every view starts with one fetch-and-check: 404 for a patient or record the user cannot see,
403 when they may see it but not do this. A response showing a patient's information records
one audit event; writes are audited by the services. Times are shown and entered in the
patient's site zone.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from audit.models import Action
from audit.services import record
from notifications.models import Alert
from patients.models import Patient, site_today
from patients.permissions import get_patient_for_user
from patients.selectors import chart_header
from users.forms import add_service_errors
from users.models import User
from users.permissions import has_capability
from users.reauth import reauthenticate_redirect, recently_authenticated

from . import services
from .charts import patient_charts
from .forms import (
    AnalyteResultForm,
    InstrumentForm,
    MedicationForm,
    PlacementForm,
    SpecimenForm,
    SpecimenReviewForm,
)
from .instruments import CSSRS_PROMPT, instrument
from .models import (
    Placement,
    PlacementStatus,
    ResponseStatus,
)
from .permissions import (
    get_medication_for_user,
    get_patient_for_clinical,
    get_placement_for_user,
    get_response_for_user,
    get_specimen_for_user,
    may_see_assessments,
    may_see_clinical,
    medications_visible_to,
    placements_visible_to,
    responses_visible_to,
    specimens_visible_to,
)
from .selectors import assessments_due, instrument_offered, offered_instruments

PLACEMENT_FORM_FIELDS = services.PLACEMENT_EDITABLE


def _viewed(request: HttpRequest, patient: Patient, *, obj=None, object_type: str = "") -> None:
    """The one audit event for a response that shows this patient's information."""
    record(Action.VIEW, request=request, site=patient.site_id, patient=patient, obj=obj, object_type=object_type)


def _chart(request: HttpRequest, patient: Patient, **extra) -> dict:
    """Context every patient page needs: the chart header and which sections to link."""
    clinical = may_see_clinical(request.user, patient)
    return {"patient": patient, "chart": chart_header(patient), "clinical": clinical, **extra}


def _get_patient(request: HttpRequest, public_id) -> Patient:
    return get_patient_for_user(request.user, public_id)


def _administrable(user: User, patient: Patient) -> list[str]:
    """The instruments offered at the patient's site that this user may administer."""
    return [
        code for code in offered_instruments(patient.site_id) if services.can_administer(user, patient.site_id, code)
    ]


# --- Assessments --------------------------------------------------------------------------------


@login_required
def patient_assessments(request: HttpRequest, public_id) -> HttpResponse:
    """The patient's assessments: what is due, trend charts, every response, placements."""
    patient = _get_patient(request, public_id)
    if not may_see_assessments(request.user, patient):
        raise PermissionDenied
    clinical = may_see_clinical(request.user, patient)
    zone = patient.site.zone
    with timezone.override(zone):
        responses = list(
            responses_visible_to(request.user)
            .filter(patient=patient)
            .select_related("administered_by")
            .order_by("-administered_at", "-id")
        )
        today = site_today(patient.site)
        due = assessments_due([patient.site_id], today, patient=patient, include_upcoming=True)
        placements = (
            list(placements_visible_to(request.user).filter(patient=patient).select_related("signed_by"))
            if clinical
            else []
        )
        patient_alerts = list(Alert.objects.open().filter(patient=patient)) if clinical else []
        _viewed(request, patient, object_type="assessments.AssessmentResponse")
        return render(
            request,
            "assessments/patient.html",
            _chart(
                request,
                patient,
                responses=responses,
                charts=patient_charts(responses, zone),
                due=due,
                placements=placements,
                # Not "open_alerts": that is the signed-in user's own alerts (the navigation badge).
                patient_alerts=patient_alerts,
                administrable=[(code, code.lower()) for code in _administrable(request.user, patient)],
                may_write=has_capability(request.user, patient.site_id, "clinical.write"),
            ),
        )


@login_required
def administer(request: HttpRequest, public_id, code: str) -> HttpResponse:
    """Administer one instrument; bad answers come back per item and nothing is saved."""
    try:
        definition = instrument(code)
    except ValidationError:
        raise Http404 from None
    patient = _get_patient(request, public_id)
    if not services.can_administer(request.user, patient.site_id, definition.code):
        raise PermissionDenied
    zone = patient.site.zone
    if not instrument_offered(patient.site_id, definition.code):
        # Turned off at this site: say so (a POST is refused and nothing is saved).
        _viewed(request, patient, object_type="assessments.AssessmentResponse")
        with timezone.override(zone):
            return render(
                request,
                "assessments/administer.html",
                _chart(
                    request,
                    patient,
                    form=None,
                    definition=definition,
                    not_offered=services.not_offered_message(definition.code, patient.site),
                ),
                status=400 if request.method == "POST" else 200,
            )
    with timezone.override(zone):
        form = InstrumentForm(request.POST or None, definition=definition, zone=zone)
        if request.method == "POST" and form.is_valid():
            try:
                response = services.assessment_record(
                    patient=patient,
                    instrument_code=definition.code,
                    answers=form.answers(),
                    by=request.user,
                    context=form.cleaned_data["context"],
                    administered_at=form.cleaned_data.get("administered_at"),
                    ruler_type=form.ruler_type,
                )
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                if response.has_safety_flag:
                    messages.warning(
                        request,
                        "Safety alert raised: the patient's counselor and the site's supervisors have been "
                        "alerted. It must be acknowledged before this response can be closed.",
                    )
                else:
                    messages.success(request, f"{definition.code} recorded.")
                return redirect("assessments:response_detail", public_id=response.public_id)
        _viewed(request, patient, object_type="assessments.AssessmentResponse")
        return render(
            request,
            "assessments/administer.html",
            _chart(request, patient, form=form, definition=definition),
        )


@login_required
def response_detail(request: HttpRequest, public_id) -> HttpResponse:
    response = get_response_for_user(request.user, public_id)
    patient = response.patient
    with timezone.override(patient.site.zone):
        clinical = may_see_clinical(request.user, patient)
        alerts = (
            list(
                Alert.objects.about("assessments.AssessmentResponse", response.public_id).select_related(
                    "acknowledged_by"
                )
            )
            if response.has_safety_flag
            else []
        )
        _viewed(request, patient, obj=response)
        return render(
            request,
            "assessments/response_detail.html",
            _chart(
                request,
                patient,
                response=response,
                rows=response.answer_rows(),
                alerts=alerts,
                show_alert_links=clinical,
                unacknowledged=any(a.is_open for a in alerts),
                prompt_cssrs=CSSRS_PROMPT in (response.flags or []),
                may_cssrs=services.can_administer(request.user, patient.site_id, "C-SSRS"),
                may_close=response.status == ResponseStatus.OPEN
                and has_capability(request.user, patient.site_id, "clinical.write"),
            ),
        )


@login_required
@require_POST
def response_close(request: HttpRequest, public_id) -> HttpResponse:
    response = get_response_for_user(request.user, public_id, write=True)
    try:
        services.assessment_close(response=response, by=request.user)
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    else:
        messages.success(request, "Response closed.")
    return redirect("assessments:response_detail", public_id=response.public_id)


@login_required
def due_list(request: HttpRequest) -> HttpResponse:
    """Re-assessments due for the signed-in clinician's patients (supervisors: ?scope=site)."""
    site = request.clinic.site
    if site is None or not has_capability(request.user, site, "clinical.view"):
        raise PermissionDenied
    whole_site = request.GET.get("scope") == "site"
    today = site_today(site)
    with timezone.override(site.zone):
        items = assessments_due([site.pk], today, counselor=None if whole_site else request.user)
        if items:
            record(
                Action.VIEW,
                request=request,
                site=site,
                object_type="assessments.AssessmentResponse",
                changes={"shown_patients": sorted({str(i.patient.public_id) for i in items}), "list": "due"},
            )
        return render(
            request,
            "assessments/due.html",
            {"items": items, "whole_site": whole_site, "site": site, "today": today},
        )


# --- Placements --------------------------------------------------------------------------------


def _placement_fields(form: PlacementForm) -> dict:
    return {name: form.cleaned_data.get(name) for name in PLACEMENT_FORM_FIELDS} | {
        "actual_level": form.cleaned_data.get("actual_level") or "",
        "override_reason": form.cleaned_data.get("override_reason") or "",
    }


@login_required
def placement_list(request: HttpRequest, public_id) -> HttpResponse:
    patient = get_patient_for_clinical(request.user, public_id)
    with timezone.override(patient.site.zone):
        placements = list(
            placements_visible_to(request.user)
            .filter(patient=patient)
            .select_related("signed_by", "cosigned_by", "created_by")
        )
        _viewed(request, patient, object_type="assessments.Placement")
        return render(
            request,
            "assessments/placement_list.html",
            _chart(
                request,
                patient,
                placements=placements,
                may_write=has_capability(request.user, patient.site_id, "clinical.write"),
            ),
        )


@login_required
def placement_create(request: HttpRequest, public_id) -> HttpResponse:
    patient = get_patient_for_clinical(request.user, public_id, capability="clinical.write")
    suggestions = services.placement_suggestions(patient)
    initial = {"placement_type": "initial", "imminent_danger": suggestions["imminent_danger"]}
    if suggestions["D1"] is not None:
        initial["d1_rating"] = suggestions["D1"]
    form = PlacementForm(request.POST or None, initial=initial)
    signing, sign_now = _signing(request)
    with timezone.override(patient.site.zone):
        if request.method == "POST" and form.is_valid():
            try:
                with transaction.atomic():
                    placement = services.placement_create(patient=patient, by=request.user, **_placement_fields(form))
                    if sign_now:
                        placement = services.placement_sign(placement=placement, by=request.user)
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                if signing and not sign_now:
                    return _reauthenticate_to_sign(request, placement)
                messages.success(request, _saved_message(placement))
                return redirect("assessments:placement_detail", public_id=placement.public_id)
        _viewed(request, patient, object_type="assessments.Placement")
        return render(
            request,
            "assessments/placement_form.html",
            _chart(request, patient, form=form, suggestions=suggestions, placement=None),
        )


def _signing(request: HttpRequest) -> tuple[bool, bool]:
    """(asked to sign, may sign now): without a recent sign-in the placement is saved as a
    draft but not signed (DOMAIN.md §12)."""
    signing = request.method == "POST" and "sign" in request.POST
    return signing, signing and recently_authenticated(request)


def _reauthenticate_to_sign(request: HttpRequest, placement: Placement) -> HttpResponse:
    return reauthenticate_redirect(
        request,
        reverse("assessments:placement_edit", args=[placement.public_id]),
        "sign this placement",
        "It was saved as a draft; it is not signed yet.",
    )


def _saved_message(placement: Placement) -> str:
    if placement.status == PlacementStatus.SIGNED:
        return "Placement signed."
    if placement.status == PlacementStatus.AWAITING_COSIGN:
        return "Placement signed; it now awaits a supervisor's co-sign."
    return "Draft saved."


@login_required
def placement_edit(request: HttpRequest, public_id) -> HttpResponse:
    placement = get_placement_for_user(request.user, public_id, write=True)
    if not placement.is_draft:
        raise PermissionDenied  # signed placements are immutable
    patient = placement.patient
    form = PlacementForm(request.POST or None, instance=placement)
    signing, sign_now = _signing(request)
    with timezone.override(patient.site.zone):
        if request.method == "POST" and form.is_valid():
            try:
                with transaction.atomic():
                    placement = services.placement_update(
                        placement=placement, by=request.user, **_placement_fields(form)
                    )
                    if sign_now:
                        placement = services.placement_sign(placement=placement, by=request.user)
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                if signing and not sign_now:
                    return _reauthenticate_to_sign(request, placement)
                messages.success(request, _saved_message(placement))
                return redirect("assessments:placement_detail", public_id=placement.public_id)
        _viewed(request, patient, obj=placement)
        return render(
            request,
            "assessments/placement_form.html",
            _chart(request, patient, form=form, suggestions=placement.suggestions, placement=placement),
        )


@login_required
def placement_detail(request: HttpRequest, public_id) -> HttpResponse:
    placement = get_placement_for_user(request.user, public_id)
    patient = placement.patient
    may_cosign = (
        placement.status == PlacementStatus.AWAITING_COSIGN
        and placement.signed_by_id != request.user.pk
        and (
            has_capability(request.user, patient.site_id, "placement.override")
            or has_capability(request.user, patient.site_id, "note.cosign")
        )
    )
    with timezone.override(patient.site.zone):
        _viewed(request, patient, obj=placement)
        return render(
            request,
            "assessments/placement_detail.html",
            _chart(
                request,
                patient,
                placement=placement,
                rec=placement.recommendation or {},
                may_edit=placement.is_draft and has_capability(request.user, patient.site_id, "clinical.write"),
                may_cosign=may_cosign,
            ),
        )


@login_required
@require_POST
def placement_cosign(request: HttpRequest, public_id) -> HttpResponse:
    placement = get_placement_for_user(request.user, public_id)
    if not (
        has_capability(request.user, placement.site_id, "placement.override")
        or has_capability(request.user, placement.site_id, "note.cosign")
    ):
        raise PermissionDenied
    if not recently_authenticated(request):
        return reauthenticate_redirect(
            request,
            reverse("assessments:placement_detail", args=[placement.public_id]),
            "co-sign this placement",
            "Nothing was co-signed.",
        )
    try:
        services.placement_cosign(placement=placement, by=request.user)
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    else:
        messages.success(request, "Placement co-signed.")
    return redirect("assessments:placement_detail", public_id=placement.public_id)


@login_required
def placement_review(request: HttpRequest) -> HttpResponse:
    """For supervisors: placements awaiting co-sign and recommended-vs-actual discrepancies."""
    site = request.clinic.site
    if site is None or not has_capability(request.user, site, "placement.override"):
        raise PermissionDenied
    at_site = Placement.objects.filter(site=site, patient__deleted_at__isnull=True).select_related(
        "patient", "signed_by", "cosigned_by"
    )
    with timezone.override(site.zone):
        awaiting = list(at_site.awaiting_cosign().order_by("signed_at"))
        discrepancies = list(at_site.discrepant().order_by("-signed_at"))
        shown = {str(p.patient.public_id) for p in awaiting + discrepancies}
        if shown:
            record(
                Action.VIEW,
                request=request,
                site=site,
                object_type="assessments.Placement",
                changes={"shown_patients": sorted(shown), "list": "placement_review"},
            )
        return render(
            request,
            "assessments/placement_review.html",
            {"site": site, "awaiting": awaiting, "discrepancies": discrepancies},
        )


# --- Toxicology ----------------------------------------------------------------------------------


@login_required
def specimen_list(request: HttpRequest, public_id) -> HttpResponse:
    patient = get_patient_for_clinical(request.user, public_id)
    with timezone.override(patient.site.zone):
        specimens = list(
            specimens_visible_to(request.user)
            .filter(patient=patient)
            .select_related("collected_by", "reviewed_by")
            .prefetch_related("results")
        )
        _viewed(request, patient, object_type="assessments.Specimen")
        return render(
            request,
            "assessments/specimen_list.html",
            _chart(
                request,
                patient,
                specimens=specimens,
                may_write=has_capability(request.user, patient.site_id, "clinical.write"),
            ),
        )


@login_required
def specimen_create(request: HttpRequest, public_id) -> HttpResponse:
    patient = get_patient_for_clinical(request.user, public_id, capability="clinical.write")
    with timezone.override(patient.site.zone):
        form = SpecimenForm(
            request.POST or None, initial={"collected_at": timezone.localtime().replace(second=0, microsecond=0)}
        )
        if request.method == "POST" and form.is_valid():
            try:
                specimen = services.specimen_record(patient=patient, by=request.user, **form.cleaned_data)
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, f"Specimen recorded ({specimen.get_validity_display().lower()}).")
                return redirect("assessments:specimen_detail", public_id=specimen.public_id)
        _viewed(request, patient, object_type="assessments.Specimen")
        return render(request, "assessments/specimen_form.html", _chart(request, patient, form=form))


@login_required
def specimen_detail(request: HttpRequest, public_id) -> HttpResponse:
    """A specimen, its results, and (for clinicians) forms to add a result and to review it."""
    writing = request.method == "POST"
    specimen = get_specimen_for_user(request.user, public_id, write=writing)
    patient = specimen.patient
    which = request.POST.get("form") if writing else None
    result_form = AnalyteResultForm(request.POST if which == "result" else None, prefix="result")
    review_form = SpecimenReviewForm(request.POST if which == "review" else None, prefix="review")
    with timezone.override(patient.site.zone):
        if which == "result" and result_form.is_valid():
            try:
                services.analyte_result_add(specimen=specimen, by=request.user, **result_form.cleaned_data)
            except ValidationError as exc:
                add_service_errors(result_form, exc)
            else:
                messages.success(request, "Result added.")
                return redirect("assessments:specimen_detail", public_id=specimen.public_id)
        elif which == "review" and review_form.is_valid():
            try:
                services.specimen_review(specimen=specimen, by=request.user, **review_form.cleaned_data)
            except ValidationError as exc:
                add_service_errors(review_form, exc)
            else:
                messages.success(request, "Review recorded.")
                return redirect("assessments:specimen_detail", public_id=specimen.public_id)
        _viewed(request, patient, obj=specimen)
        return render(
            request,
            "assessments/specimen_detail.html",
            _chart(
                request,
                patient,
                specimen=specimen,
                results=list(specimen.results.select_related("recorded_by")),
                result_form=result_form,
                review_form=review_form,
                may_write=has_capability(request.user, patient.site_id, "clinical.write"),
            ),
        )


# --- Medications ----------------------------------------------------------------------------------


def _prescribers(patient: Patient):
    return User.objects.filter(
        memberships__site_id=patient.site_id, memberships__is_active=True, is_active=True
    ).distinct()


@login_required
def medication_list(request: HttpRequest, public_id) -> HttpResponse:
    patient = get_patient_for_clinical(request.user, public_id)
    today = site_today(patient.site)
    medications = list(medications_visible_to(request.user).filter(patient=patient).select_related("prescriber"))
    for medication in medications:
        medication.is_active = medication.active_on(today)
    _viewed(request, patient, object_type="assessments.Medication")
    return render(
        request,
        "assessments/medication_list.html",
        _chart(
            request,
            patient,
            medications=medications,
            may_write=has_capability(request.user, patient.site_id, "clinical.write"),
        ),
    )


@login_required
def medication_create(request: HttpRequest, public_id) -> HttpResponse:
    patient = get_patient_for_clinical(request.user, public_id, capability="clinical.write")
    form = MedicationForm(
        request.POST or None, prescribers=_prescribers(patient), initial={"start_date": site_today(patient.site)}
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.medication_add(patient=patient, by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, "Medication added.")
            return redirect("assessments:medication_list", public_id=patient.public_id)
    _viewed(request, patient, object_type="assessments.Medication")
    return render(request, "assessments/medication_form.html", _chart(request, patient, form=form, medication=None))


@login_required
def medication_edit(request: HttpRequest, public_id) -> HttpResponse:
    medication = get_medication_for_user(request.user, public_id, write=True)
    patient = medication.patient
    # Bind to a copy: the service re-reads the row and saves only what changed.
    form = MedicationForm(
        request.POST or None,
        instance=type(medication).objects.get(pk=medication.pk),
        prescribers=_prescribers(patient),
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.medication_update(medication=medication, by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, "Medication updated.")
            return redirect("assessments:medication_list", public_id=patient.public_id)
    _viewed(request, patient, obj=medication)
    return render(
        request, "assessments/medication_form.html", _chart(request, patient, form=form, medication=medication)
    )
