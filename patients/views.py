"""Patient, intake, consent, disclosure and support-network pages.

Every view starts with one fetch-and-check (404 for a patient the user cannot see, 403 when
they may see but not change). Every response that shows a patient's information records one
audit event; writes are audited by the services, with before/after.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from audit.models import Action
from audit.services import record
from users.forms import add_service_errors
from users.permissions import has_capability, site_ids_for
from users.reauth import reauthenticate_redirect, recently_authenticated

from . import services
from .forms import (
    AdmitForm,
    AdvanceForm,
    ArchiveForm,
    ConsentForm,
    DischargeForm,
    DisclosureForm,
    EmergencyAccessForm,
    EmergencyReviewForm,
    NoConsentDisclosureForm,
    PatientForm,
    ReferralForm,
    RevokeForm,
    SearchForm,
    SupportContactForm,
)
from .models import (
    PIPELINE,
    TERMINAL,
    ConsentKind,
    EmergencyAccess,
    Patient,
    Referral,
    Stage,
    SupportContact,
    accounting_period_start,
    site_today,
)
from .permissions import (
    emergency_grants,
    get_emergency_access_for_review,
    get_own_emergency_access,
    get_patient_for_user,
    get_referral_for_user,
    patients_visible_to,
)
from .selectors import chart_header, emergency_events, emergency_pages_seen, page_label
from .services import PATIENT_FIELDS, SUPPORT_CONTACT_FIELDS

PAGE_SIZE = 25
CAPABILITIES = [
    "patient.change",
    "intake.manage",
    "episode.admit",
    "episode.discharge",
    "consent.manage",
    "disclosure.make",
    "disclosure.no_consent",
    "patient.archive",
]


def _viewed(request: HttpRequest, patient: Patient, *, obj=None, object_type: str = "", action=Action.VIEW) -> None:
    """The one audit event for a response that shows this patient's information."""
    record(action, request=request, site=patient.site_id, patient=patient, obj=obj, object_type=object_type)


def _may(user, patient: Patient) -> dict[str, bool]:
    """What the user may do to this patient (at the patient's site, not the current one)."""
    return {c.replace(".", "_"): has_capability(user, patient.site_id, c) for c in CAPABILITIES}


def _current_site(request: HttpRequest, capability: str):
    site = request.clinic.site
    if site is None or not has_capability(request.user, site, capability):
        raise PermissionDenied
    return site


def _chart_context(request: HttpRequest, patient: Patient, *, header=None, **extra) -> dict:
    return {"patient": patient, "chart": header or chart_header(patient), "may": _may(request.user, patient), **extra}


# --- search, registration, chart ---------------------------------------------------------------------------


@login_required
def search(request: HttpRequest) -> HttpResponse:
    """Find patients by name, MRN or birth date. Criteria travel in a POST body, never in the
    URL (query strings end up in logs and browser history)."""
    if not site_ids_for(request.user, "patient.view"):
        raise PermissionDenied
    form = SearchForm(request.POST or None)
    page = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        patients = patients_visible_to(request.user).select_related("site", "primary_counselor")
        criteria = []
        words = (data["q"] or "").split()
        if words:
            criteria.append("name_or_mrn")
            mrn = services.normalize_mrn(data["q"])
            name_match = Q()
            for word in words:
                name_match &= (
                    Q(legal_first_name__icontains=word)
                    | Q(legal_last_name__icontains=word)
                    | Q(preferred_name__icontains=word)
                )
            patients = patients.filter(name_match | Q(mrn=mrn))
        if data["date_of_birth"]:
            criteria.append("date_of_birth")
            patients = patients.filter(date_of_birth=data["date_of_birth"])
        page = Paginator(patients.order_by("legal_last_name", "legal_first_name", "id"), PAGE_SIZE).get_page(
            data.get("page") or 1
        )
        record(
            Action.SEARCH,
            request=request,
            object_type="patients.Patient",
            # Which kinds of criteria and what was shown, not the names searched for.
            changes={
                "criteria": criteria,
                "results": page.paginator.count,
                "shown": [str(p.public_id) for p in page.object_list],
            },
        )
    can_register = request.clinic.site is not None and has_capability(
        request.user, request.clinic.site, "patient.register"
    )
    return render(request, "patients/search.html", {"form": form, "page": page, "can_register": can_register})


@login_required
def register(request: HttpRequest) -> HttpResponse:
    site = _current_site(request, "patient.register")
    form = PatientForm(request.POST or None, instance=Patient(site=site), site=site)
    candidates = []
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            patient = services.patient_register(
                site=site,
                by=request.user,
                allow_duplicate=data["confirm_different_person"],
                **{name: data[name] for name in PATIENT_FIELDS},
            )
        except services.PossibleDuplicate as exc:
            candidates = exc.candidates
            form.ask_to_confirm()
            form.add_error(None, exc)
            record(
                Action.SEARCH,
                request=request,
                site=site,
                object_type="patients.DuplicateCheck",
                changes={"shown": [str(p.public_id) for p in candidates]},
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Registered {patient.display_name}, MRN {patient.mrn}.")
            return redirect("patients:detail", public_id=patient.public_id)
    return render(request, "patients/register.html", {"form": form, "site": site, "candidates": candidates})


@login_required
def detail(request: HttpRequest, public_id) -> HttpResponse:
    patient = get_patient_for_user(request.user, public_id)
    today = site_today(patient.site)
    episodes = list(
        patient.episodes.with_length_of_stay(today).select_related("primary_counselor").order_by("-admission_date")
    )
    referrals = list(patient.referrals.order_by("-received_on", "-id"))
    consents = list(patient.consents.order_by("-signed_at"))
    for consent in consents:
        consent.patient = patient
        consent.current_status = consent.status_on(today, episodes=episodes)
    contacts = list(patient.support_contacts.active().select_related("consent"))
    for contact in contacts:
        contact.patient = patient
        contact.contact_problem = services.support_contact_contact_problem(contact)
    _viewed(request, patient, obj=patient)
    return render(
        request,
        "patients/detail.html",
        _chart_context(
            request,
            patient,
            header=chart_header(patient, episodes=episodes, consents=consents),
            episodes=episodes,
            referrals=referrals,
            consents=consents,
            contacts=contacts,
            disclosure_count=patient.disclosures.count(),
        ),
    )


@login_required
def edit(request: HttpRequest, public_id) -> HttpResponse:
    patient = get_patient_for_user(request.user, public_id, write=True)
    form = PatientForm(request.POST or None, instance=patient, site=patient.site)
    del form.fields["confirm_different_person"]
    if request.method == "POST" and form.is_valid():
        try:
            services.patient_update(
                patient=patient, by=request.user, **{name: form.cleaned_data[name] for name in PATIENT_FIELDS}
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, "Saved.")
            return redirect("patients:detail", public_id=patient.public_id)
    patient = Patient.objects.select_related("site").get(pk=patient.pk)  # the header shows saved values
    _viewed(request, patient, obj=patient)
    return render(request, "patients/edit.html", _chart_context(request, patient, form=form))


@login_required
def archive(request: HttpRequest, public_id) -> HttpResponse:
    patient = get_patient_for_user(request.user, public_id, write=True, capability="patient.archive")
    form = ArchiveForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.patient_archive(patient=patient, by=request.user, reason=form.cleaned_data["reason"])
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Record {patient.mrn} archived. It stays in the database and the audit trail.")
            return redirect("patients:search")
    _viewed(request, patient, obj=patient)
    return render(request, "patients/archive.html", _chart_context(request, patient, form=form))


# --- intake --------------------------------------------------------------------------------------------


@login_required
def intake_board(request: HttpRequest) -> HttpResponse:
    """Counts per stage, the open referrals with days since referral, and the waitlist in order."""
    site = _current_site(request, "intake.manage")
    today = site_today(site)
    referrals = Referral.objects.filter(site=site, patient__deleted_at__isnull=True)
    counts = dict(referrals.values_list("stage").annotate(n=Count("id")).order_by())
    columns = [{"stage": s, "label": Stage(s).label, "count": counts.get(s, 0)} for s in PIPELINE]
    closed = [{"stage": s, "label": Stage(s).label, "count": counts.get(s, 0)} for s in Stage.values if s in TERMINAL]
    active = list(
        referrals.exclude(stage__in=[*TERMINAL, Stage.WAITLISTED])
        .select_related("patient")
        .order_by("received_on", "id")[:300]
    )
    order = {s: i for i, s in enumerate(PIPELINE)}
    active.sort(key=lambda r: (order.get(r.stage, 99), r.received_on))
    waitlist = list(referrals.waitlist().select_related("patient")[:300])
    for referral in [*active, *waitlist]:
        referral.days = referral.days_since_referral(today)
    record(
        Action.VIEW,
        request=request,
        site=site,
        object_type="patients.IntakeBoard",
        changes={"shown": len(active) + len(waitlist)},
    )
    return render(
        request,
        "patients/intake_board.html",
        {"site": site, "columns": columns, "closed": closed, "active": active, "waitlist": waitlist, "today": today},
    )


@login_required
def referral_create(request: HttpRequest, public_id) -> HttpResponse:
    patient = get_patient_for_user(request.user, public_id, write=True, capability="intake.manage")
    form = ReferralForm(request.POST or None, initial={"received_on": site_today(patient.site)})
    if request.method == "POST" and form.is_valid():
        try:
            referral = services.referral_create(patient=patient, by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, "Referral recorded.")
            return redirect("intake:referral", public_id=referral.public_id)
    _viewed(request, patient, obj=patient)
    return render(request, "patients/referral_form.html", _chart_context(request, patient, form=form))


# The referral page shows the move form and the admission form together; both have a "note"
# field, so the admission form's element ids get their own prefix (labels must stay unique).
ADMIT_AUTO_ID = "admit_%s"


def _referral_page(request, referral, *, advance_form=None, admit_form=None, status=200) -> HttpResponse:
    patient = referral.patient
    may_manage = has_capability(request.user, referral.site_id, "intake.manage")
    stages = referral.allowed_stages
    if may_manage and advance_form is None:
        advance_form = AdvanceForm(stages=stages)
    if may_manage and admit_form is None and Stage.ADMITTED in stages:
        admit_form = AdmitForm(
            site=referral.site,
            initial={"admission_date": site_today(referral.site), "primary_counselor": patient.primary_counselor_id},
            auto_id=ADMIT_AUTO_ID,
        )
    events = referral.events.select_related("by")
    _viewed(request, patient, obj=referral)
    return render(
        request,
        "patients/referral_detail.html",
        _chart_context(
            request,
            patient,
            referral=referral,
            events=events,
            may_manage=may_manage,
            advance_form=advance_form if may_manage and advance_form.fields["to_stage"].choices else None,
            admit_form=admit_form if may_manage and Stage.ADMITTED in stages else None,
        ),
        status=status,
    )


@login_required
def referral_detail(request: HttpRequest, public_id) -> HttpResponse:
    referral = get_referral_for_user(request.user, public_id)
    return _referral_page(request, referral)


@login_required
@require_POST
def referral_advance(request: HttpRequest, public_id) -> HttpResponse:
    referral = get_referral_for_user(request.user, public_id, write=True)
    stages = referral.allowed_stages
    # The admission form only when admission is a move this referral may make; otherwise the
    # service says why not.
    admitting = request.POST.get("to_stage") == Stage.ADMITTED and Stage.ADMITTED in stages
    if admitting:
        form = AdmitForm(request.POST, site=referral.site, auto_id=ADMIT_AUTO_ID)
    else:
        form = AdvanceForm(request.POST, stages=stages, accept_any=True)
    if form.is_valid():
        data = form.cleaned_data
        extra = {}
        if admitting:
            extra = {k: data[k] for k in ("admission_date", "level_of_care", "level_of_care_edition")}
            extra["primary_counselor"] = data["primary_counselor"]
        try:
            referral = services.referral_advance(
                referral=referral,
                to_stage=Stage.ADMITTED if admitting else data["to_stage"],
                by=request.user,
                note=data["note"],
                **extra,
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Moved to “{referral.get_stage_display()}”.")
            return redirect("intake:referral", public_id=referral.public_id)
    if admitting:
        return _referral_page(request, referral, admit_form=form)
    form.fields["to_stage"].choices = AdvanceForm(stages=stages).fields["to_stage"].choices
    return _referral_page(request, referral, advance_form=form)


# --- episodes -----------------------------------------------------------------------------------------


@login_required
def episode_admit(request: HttpRequest, public_id) -> HttpResponse:
    """Admission without a referral (for example a re-admission from the waitlist of another program)."""
    patient = get_patient_for_user(request.user, public_id, write=True, capability="episode.admit")
    form = AdmitForm(
        request.POST or None,
        site=patient.site,
        initial={"admission_date": site_today(patient.site), "primary_counselor": patient.primary_counselor_id},
    )
    del form.fields["note"]
    if request.method == "POST" and form.is_valid():
        try:
            services.episode_admit(patient=patient, by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, "Admitted: a new episode of care is open.")
            return redirect("patients:detail", public_id=patient.public_id)
    _viewed(request, patient, obj=patient)
    return render(request, "patients/episode_admit.html", _chart_context(request, patient, form=form))


@login_required
def episode_discharge(request: HttpRequest, public_id, episode_id) -> HttpResponse:
    patient = get_patient_for_user(request.user, public_id, write=True, capability="episode.discharge")
    episode = get_object_or_404(patient.episodes.open(), public_id=episode_id)
    form = DischargeForm(request.POST or None, initial={"discharge_date": site_today(patient.site)})
    if request.method == "POST" and form.is_valid():
        try:
            services.episode_discharge(episode=episode, by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, "Discharged: the episode of care is closed.")
            return redirect("patients:detail", public_id=patient.public_id)
    _viewed(request, patient, obj=episode)
    return render(
        request, "patients/episode_discharge.html", _chart_context(request, patient, form=form, episode=episode)
    )


# --- consents -----------------------------------------------------------------------------------------


def _consents_of(patient: Patient):
    consents = list(patient.consents.select_related("recorded_by", "revoked_by").order_by("-signed_at", "-id"))
    today = site_today(patient.site)
    episodes = list(patient.episodes.only("discharge_date", "updated_at")) if consents else []
    for consent in consents:
        consent.patient = patient
        consent.current_status = consent.status_on(today, episodes=episodes)
    return consents


@login_required
def consent_list(request: HttpRequest, public_id) -> HttpResponse:
    patient = get_patient_for_user(request.user, public_id)
    _viewed(request, patient, object_type="patients.Consent")
    return render(
        request, "patients/consent_list.html", _chart_context(request, patient, consents=_consents_of(patient))
    )


@login_required
def consent_create(request: HttpRequest, public_id) -> HttpResponse:
    patient = get_patient_for_user(request.user, public_id, write=True, capability="consent.manage")
    form = ConsentForm(
        request.POST or None,
        initial={"disclosing_party": patient.site.name, "signer_name": ""},
    )
    if request.method == "POST" and form.is_valid():
        try:
            consent = services.consent_record(patient=patient, by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, "Consent recorded.")
            return redirect("patients:consent_detail", public_id=patient.public_id, consent_id=consent.public_id)
    _viewed(request, patient, obj=patient)
    return render(request, "patients/consent_form.html", _chart_context(request, patient, form=form))


def _consent_page(request, patient, consent, *, form=None) -> HttpResponse:
    consent.patient = patient
    today = site_today(patient.site)
    consent.current_status = consent.status_on(today)
    consent.expired_because = consent.expiry_problem(today)
    # What a disclosure would be refused for (DOMAIN.md §11 "Defective consents"), shown up front.
    consent.defects = consent.facial_defects() if consent.revoked_on is None else []
    may = _may(request.user, patient)
    if form is None and may["consent_manage"] and consent.revoked_on is None:
        form = RevokeForm(initial={"revoked_on": site_today(patient.site)})
    _viewed(request, patient, obj=consent)
    return render(
        request,
        "patients/consent_detail.html",
        _chart_context(request, patient, consent=consent, form=form, disclosures=consent.disclosures.count()),
    )


@login_required
def consent_detail(request: HttpRequest, public_id, consent_id) -> HttpResponse:
    patient = get_patient_for_user(request.user, public_id)
    consent = get_object_or_404(patient.consents.select_related("recorded_by", "revoked_by"), public_id=consent_id)
    return _consent_page(request, patient, consent)


@login_required
@require_POST
def consent_revoke(request: HttpRequest, public_id, consent_id) -> HttpResponse:
    patient = get_patient_for_user(request.user, public_id, write=True, capability="consent.manage")
    consent = get_object_or_404(patient.consents, public_id=consent_id)
    form = RevokeForm(request.POST)
    if form.is_valid():
        try:
            services.consent_revoke(consent=consent, by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, "Revocation recorded. Nothing more may be released under this consent.")
            return redirect("patients:consent_detail", public_id=patient.public_id, consent_id=consent.public_id)
    return _consent_page(request, patient, consent, form=form)


# --- disclosures --------------------------------------------------------------------------------------


@login_required
def disclosure_list(request: HttpRequest, public_id) -> HttpResponse:
    patient = get_patient_for_user(request.user, public_id)
    disclosures = patient.disclosures.select_related("consent", "disclosed_by", "notice")
    page = Paginator(disclosures, 50).get_page(request.GET.get("page"))
    _viewed(request, patient, object_type="patients.Disclosure")
    return render(request, "patients/disclosure_list.html", _chart_context(request, patient, page=page))


@login_required
def disclosure_create(request: HttpRequest, public_id) -> HttpResponse:
    patient = get_patient_for_user(request.user, public_id, write=True, capability="disclosure.make")
    form = DisclosureForm(
        # Each choice shows the consent's status; an end-of-treatment one reads the episodes (once).
        request.POST or None,
        consents=patient.consents.prefetch_related("patient__episodes").order_by("-signed_at"),
    )
    if request.method == "POST" and form.is_valid():
        try:
            disclosure = services.disclosure_make(patient=patient, by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, "Disclosure logged. Print the packet: it carries the Part 2 notice.")
            return redirect(
                "patients:disclosure_packet", public_id=patient.public_id, disclosure_id=disclosure.public_id
            )
    consents = _consents_of(patient)
    _viewed(request, patient, obj=patient)
    return render(
        request, "patients/disclosure_form.html", _chart_context(request, patient, form=form, consents=consents)
    )


@login_required
def disclosure_without_consent(request: HttpRequest, public_id) -> HttpResponse:
    """Log a release made without consent under a Part 2 exception (medical emergency §2.51,
    court order §2.61–2.67). Supervisors and directors only; the site's are alerted."""
    patient = get_patient_for_user(request.user, public_id, write=True, capability="disclosure.no_consent")
    zone = patient.site.zone
    with timezone.override(zone):
        form = NoConsentDisclosureForm(
            request.POST or None, initial={"legal_basis": "medical_emergency", "channel": "in_person"}
        )
        if request.method == "POST" and form.is_valid():
            try:
                disclosure = services.disclosure_make_without_consent(
                    patient=patient, by=request.user, **form.cleaned_data
                )
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(
                    request,
                    f"Disclosure logged under {disclosure.get_legal_basis_display()}. The site's supervisors and "
                    "directors have been alerted.",
                )
                return redirect("patients:disclosure_list", public_id=patient.public_id)
        _viewed(request, patient, obj=patient)
        return render(request, "patients/disclosure_no_consent_form.html", _chart_context(request, patient, form=form))


@login_required
def disclosure_packet(request: HttpRequest, public_id, disclosure_id) -> HttpResponse:
    """The printable packet: the Part 2 notice stamped on it and a copy of the consent's scope."""
    patient = get_patient_for_user(request.user, public_id, write=True, capability="disclosure.make")
    disclosure = get_object_or_404(
        patient.disclosures.select_related("consent", "notice", "disclosed_by"), public_id=disclosure_id
    )
    if not recently_authenticated(request):
        return reauthenticate_redirect(request, request.path, "print a disclosure packet", "Nothing was printed.")
    if disclosure.consent is not None:
        disclosure.consent.patient = patient
    _viewed(request, patient, obj=disclosure, action=Action.PRINT)
    return render(
        request,
        "patients/disclosure_packet.html",
        {"patient": patient, "disclosure": disclosure, "consent": disclosure.consent, "notice": disclosure.notice},
    )


@login_required
def disclosure_accounting(request: HttpRequest, public_id) -> HttpResponse:
    """Accounting of disclosures (42 CFR §2.25): everything released in the last 3 years."""
    patient = get_patient_for_user(request.user, public_id)
    now = timezone.now()
    # 29 February: the period starts on 28 February three years back (the inclusive reading).
    since = accounting_period_start(now, patient.site.zone)
    disclosures = list(
        patient.disclosures.for_accounting(now, zone=patient.site.zone)
        .select_related("consent", "disclosed_by")
        .order_by("disclosed_at")
    )
    _viewed(request, patient, object_type="patients.DisclosureAccounting")
    return render(
        request,
        "patients/disclosure_accounting.html",
        _chart_context(request, patient, disclosures=disclosures, since=since, now=now),
    )


# --- support network ----------------------------------------------------------------------------------


def _contact_consents(patient: Patient):
    return patient.consents.exclude(kind=ConsentKind.COUNSELLING_NOTES).order_by("-signed_at")


@login_required
def support_list(request: HttpRequest, public_id) -> HttpResponse:
    patient = get_patient_for_user(request.user, public_id)
    contacts = list(patient.support_contacts.active().select_related("consent"))
    for contact in contacts:
        contact.patient = patient
        contact.contact_problem = services.support_contact_contact_problem(contact)
    _viewed(request, patient, object_type="patients.SupportContact")
    return render(request, "patients/support_list.html", _chart_context(request, patient, contacts=contacts))


@login_required
def support_create(request: HttpRequest, public_id) -> HttpResponse:
    patient = get_patient_for_user(request.user, public_id, write=True)
    form = SupportContactForm(
        request.POST or None, instance=SupportContact(patient=patient), consents=_contact_consents(patient)
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.support_contact_create(
                patient=patient, by=request.user, **{n: form.cleaned_data[n] for n in SUPPORT_CONTACT_FIELDS}
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, "Added to the support network.")
            return redirect("patients:support_list", public_id=patient.public_id)
    _viewed(request, patient, obj=patient)
    return render(request, "patients/support_form.html", _chart_context(request, patient, form=form, contact=None))


@login_required
def support_edit(request: HttpRequest, public_id, contact_id) -> HttpResponse:
    patient = get_patient_for_user(request.user, public_id, write=True)
    contact = get_object_or_404(patient.support_contacts.active(), public_id=contact_id)
    form = SupportContactForm(request.POST or None, instance=contact, consents=_contact_consents(patient))
    if request.method == "POST" and form.is_valid():
        try:
            services.support_contact_update(
                contact=contact, by=request.user, **{n: form.cleaned_data[n] for n in SUPPORT_CONTACT_FIELDS}
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, "Saved.")
            return redirect("patients:support_list", public_id=patient.public_id)
    _viewed(request, patient, obj=contact)
    return render(request, "patients/support_form.html", _chart_context(request, patient, form=form, contact=contact))


@login_required
@require_POST
def support_remove(request: HttpRequest, public_id, contact_id) -> HttpResponse:
    patient = get_patient_for_user(request.user, public_id, write=True)
    contact = get_object_or_404(patient.support_contacts.active(), public_id=contact_id)
    services.support_contact_remove(contact=contact, by=request.user)
    messages.success(request, f"{contact.name} was removed from the support network.")
    return redirect("patients:support_list", public_id=patient.public_id)


# --- break-glass emergency access ---------------------------------------------------------------------


def _lookup_failures_key(user) -> str:
    return f"patients:emergency-lookup-failures:{user.pk}"


def _lookup_failed(user) -> int:
    """Count one failed look-up for this user; returns the count in the current window."""
    key = _lookup_failures_key(user)
    window = settings.BREAK_GLASS_LOOKUP_WINDOW_MINUTES * 60
    if cache.add(key, 1, window):
        return 1
    try:
        return cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, window)
        return 1


@login_required
def emergency_access(request: HttpRequest) -> HttpResponse:
    """Break the glass: the exact MRN and date of birth of a patient of another site, and the
    reason, give read-only access to that chart for BREAK_GLASS_MINUTES. Nothing is listed or
    suggested; a wrong pair gets the same answer as an unknown patient, and after
    BREAK_GLASS_LOOKUP_FAILURES misses in a window look-ups are refused. Every attempt is audited."""
    if not site_ids_for(request.user, "emergency.access"):
        raise PermissionDenied
    form = EmergencyAccessForm(request.POST or None)
    status = 200
    if request.method == "POST":
        blocked = (cache.get(_lookup_failures_key(request.user)) or 0) >= settings.BREAK_GLASS_LOOKUP_FAILURES
        if blocked:
            record(
                Action.SEARCH,
                request=request,
                object_type="patients.EmergencyAccessLookup",
                reason=(request.POST.get("reason") or "")[:2000],
                changes={"found": False, "refused": "too_many_failed_lookups"},
            )
            form = EmergencyAccessForm(request.POST)
            form.is_valid()
            form.add_error(
                None,
                "Too many look-ups did not match a patient. Try again in "
                f"{settings.BREAK_GLASS_LOOKUP_WINDOW_MINUTES} minutes, or call the patient's site.",
            )
            status = 429
        elif form.is_valid():
            try:
                access, created = services.emergency_access_open(by=request.user, **form.cleaned_data)
            except services.AlreadyVisible as exc:
                messages.info(request, "You already have access to this patient's record through your site.")
                return redirect("patients:detail", public_id=exc.patient.public_id)
            except services.EmergencyNotFound as exc:
                failures = _lookup_failed(request.user)
                # Whether it matched and how many misses: never the MRN or birth date tried.
                record(
                    Action.SEARCH,
                    request=request,
                    object_type="patients.EmergencyAccessLookup",
                    reason=form.cleaned_data["reason"].strip(),
                    changes={"found": False, "failures": failures},
                )
                add_service_errors(form, exc)
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                until = timezone.localtime(access.expires_at, access.site.zone)
                if created:
                    messages.warning(
                        request,
                        f"Emergency access granted until {until:%H:%M} ({access.site.name} time), read-only. "
                        "Every page you open is recorded with your reason; the supervisors and directors of "
                        "the patient's site have been alerted.",
                    )
                else:
                    messages.info(request, f"You already have emergency access to this record until {until:%H:%M}.")
                return redirect("patients:detail", public_id=access.patient.public_id)
    grants = emergency_grants(request.user)
    live = list(
        EmergencyAccess.objects.filter(public_id__in=[g.ref for g in grants.values()])
        .select_related("patient", "site")
        .order_by("expires_at")
    )
    for access in live:
        _viewed(request, access.patient, obj=access)
    return render(
        request,
        "patients/emergency_access.html",
        {
            "form": form,
            "live": live,
            "minutes": settings.BREAK_GLASS_MINUTES,
        },
        status=status,
    )


@login_required
@require_POST
def emergency_end(request: HttpRequest, access_id) -> HttpResponse:
    """The holder ends their emergency access now (404 for anyone else's grant)."""
    access = get_own_emergency_access(request.user, access_id)
    try:
        services.emergency_access_end(access=access, by=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, "Emergency access ended: the record is closed to you again.")
    return redirect("patients:emergency_access")


@login_required
def emergency_reviews(request: HttpRequest) -> HttpResponse:
    """For supervisors and directors: emergency accesses to the current site's patients, those
    still to review first, each with who, when, why and which pages were seen."""
    site = _current_site(request, "emergency.review")
    at_site = EmergencyAccess.objects.filter(site=site).select_related("user", "patient", "reviewed_by")
    pending = list(at_site.unreviewed().order_by("started_at", "id")[:200])
    page = Paginator(at_site.filter(reviewed_at__isnull=False).order_by("-reviewed_at", "-id"), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    shown = [*pending, *page.object_list]
    seen = emergency_pages_seen(shown)
    for access in shown:
        access.pages_seen = seen.get(str(access.public_id), [])
    if shown:
        record(
            Action.VIEW,
            request=request,
            site=site,
            object_type="patients.EmergencyAccess",
            changes={"shown_patients": sorted({str(a.patient.public_id) for a in shown})},
        )
    return render(
        request,
        "patients/emergency_reviews.html",
        {"site": site, "pending": pending, "page": page, "now": timezone.now()},
    )


@login_required
def emergency_review(request: HttpRequest, access_id) -> HttpResponse:
    """One emergency access: the reason, every page seen under it (from the audit trail), and the
    review (appropriate, or inappropriate with a note)."""
    access = get_emergency_access_for_review(request.user, access_id)
    form = EmergencyReviewForm(request.POST or None)
    if request.method == "POST":
        if form.is_valid():
            try:
                services.emergency_access_review(access=access, by=request.user, **form.cleaned_data)
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, "Review recorded.")
                return redirect("patients:emergency_review", access_id=access.public_id)
    events = list(emergency_events(access)[:500])
    for event in events:
        event.page = page_label(event.object_type)
    _viewed(request, access.patient, obj=access)
    return render(
        request,
        "patients/emergency_review.html",
        {
            "access": access,
            "patient": access.patient,
            "events": events,
            "form": form if access.reviewed_at is None and access.user_id != request.user.pk else None,
            "live": access.is_live(),
        },
    )
