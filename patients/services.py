"""Every write to patients, referrals, episodes, consents, support contacts and disclosures.

Each service validates, saves and writes its audit event (with before/after) in one
transaction, and raises ``django.core.exceptions.ValidationError`` with field keys for
anything it refuses, so a view can show the message on the field and nothing is saved.
"""

from __future__ import annotations

import difflib
import secrets
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.postgres.search import TrigramSimilarity
from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import QuerySet, Value
from django.db.models.functions import Concat, Greatest
from django.utils import timezone

from audit.models import Action
from audit.services import record
from users.models import Membership, Role, Site, User
from users.permissions import forget_roles, has_capability, site_ids_for

from .models import (
    EMERGENCY_REASON_MIN_LENGTH,
    FUNDRAISING_STATEMENT,
    NO_CONSENT_BASES,
    REDISCLOSURE_STATEMENT,
    REFUSAL_STATEMENT,
    REVOCATION_STATEMENT,
    TPO_PURPOSE_TEXT,
    TPO_PURPOSES,
    TPO_RECIPIENTS,
    TPO_REDISCLOSURE_STATEMENT,
    TRANSITIONS,
    Consent,
    ConsentKind,
    DischargeType,
    Disclosure,
    DisclosureChannel,
    EmergencyAccess,
    Episode,
    ExpiryEvent,
    InfoCategory,
    LegalBasis,
    LocEdition,
    Part2NoticeTemplate,
    Patient,
    Purpose,
    Referral,
    ReferralEvent,
    ReviewOutcome,
    Stage,
    SupportContact,
    expiry_event_from_text,
    is_tpo_use,
    site_today,
)
from .signals import disclosure_without_consent, emergency_access_granted, emergency_access_reviewed

# --- helpers ----------------------------------------------------------------------------------

PATIENT_FIELDS = [
    "legal_first_name",
    "legal_last_name",
    "preferred_name",
    "pronouns",
    "date_of_birth",
    "sex_at_birth",
    "gender_identity",
    "phone",
    "email",
    "address",
    "language",
    "emergency_contact_name",
    "emergency_contact_relationship",
    "emergency_contact_phone",
    "payer_name",
    "payer_member_id",
    "primary_counselor",
    "preferred_channel",
    "sms_opt_in",
    "sms_opt_in_on",
    "sms_opt_in_source",
    "sms_number",
    "email_opt_in",
    "email_opt_in_on",
    "voicemail_allowed",
    "household_message_allowed",
    "safe_hours_start",
    "safe_hours_end",
    "confidential_contact",
    "confidential_email",
    "confidential_phone",
]
SUPPORT_CONTACT_FIELDS = [
    "name",
    "relationship",
    "phone",
    "email",
    "may_contact",
    "joins_family_sessions",
    "consent",
    "notes",
]

# Crockford base32 without I, L, O, U: easy to read aloud and to type.
_MRN_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_TRIGRAM_THRESHOLD = 0.3
_DIFFLIB_THRESHOLD = 0.6


def _snapshot(obj, fields: list[str]) -> dict[str, Any]:
    """Field values for an audit before/after (foreign keys as ids)."""
    return {name: getattr(obj, obj._meta.get_field(name).attname) for name in fields}


def _unknown_fields(fields: dict, allowed: list[str]) -> None:
    extra = set(fields) - set(allowed)
    if extra:
        raise TypeError(f"Unexpected fields: {', '.join(sorted(extra))}")


def _tidy(fields: dict) -> dict:
    """Strip surrounding spaces from text input before field validation sees it."""
    return {k: v.strip() if isinstance(v, str) else v for k, v in fields.items()}


def new_mrn() -> str:
    """A fresh MRN: "P" + 8 random base32 characters (about 10^12 values), checked unused."""
    for _ in range(20):
        mrn = "P" + "".join(secrets.choice(_MRN_ALPHABET) for _ in range(8))
        if not Patient.objects.filter(mrn=mrn).exists():
            return mrn
    raise RuntimeError("Could not find an unused MRN.")


def normalize_mrn(text: str) -> str:
    return "".join(ch for ch in (text or "").upper() if ch.isalnum())


# --- patients -------------------------------------------------------------------------------------


class PossibleDuplicate(ValidationError):
    """Registration found people with the same birth date and a similar name."""

    def __init__(self, candidates: list[Patient]):
        super().__init__(
            "This may be someone already registered: the same birth date and a similar name. "
            "Open the existing record, or confirm that this is a different person.",
            code="possible_duplicate",
        )
        self.candidates = candidates


def patient_find_duplicates(
    *,
    first_name: str,
    last_name: str,
    date_of_birth: date,
    within: QuerySet[Patient],
    exclude_pk: int | None = None,
    use_trigram: bool | None = None,
) -> list[Patient]:
    """Patients in ``within`` born the same day whose name is similar to the one given.

    On PostgreSQL the name is compared with pg_trgm similarity (in either name order); on
    SQLite, or with ``use_trigram=False``, with difflib's ratio over the same-birth-date rows.
    """
    if use_trigram is None:
        use_trigram = connection.vendor == "postgresql"
    wanted = f"{first_name} {last_name}".strip().lower()
    candidates = within.filter(date_of_birth=date_of_birth).select_related("site")
    if exclude_pk is not None:
        candidates = candidates.exclude(pk=exclude_pk)
    if use_trigram:
        full = Concat("legal_first_name", Value(" "), "legal_last_name")
        reversed_ = Concat("legal_last_name", Value(" "), "legal_first_name")
        preferred = Concat("preferred_name", Value(" "), "legal_last_name")
        return list(
            candidates.annotate(
                name_similarity=Greatest(
                    TrigramSimilarity(full, wanted),
                    TrigramSimilarity(reversed_, wanted),
                    TrigramSimilarity(preferred, wanted),
                )
            )
            .filter(name_similarity__gte=_TRIGRAM_THRESHOLD)
            .order_by("-name_similarity")[:10]
        )
    scored = []
    for patient in candidates[:200]:
        names = [
            f"{patient.legal_first_name} {patient.legal_last_name}",
            f"{patient.legal_last_name} {patient.legal_first_name}",
            f"{patient.preferred_name} {patient.legal_last_name}",
        ]
        score = max(difflib.SequenceMatcher(None, wanted, n.lower()).ratio() for n in names)
        if score >= _DIFFLIB_THRESHOLD:
            patient.name_similarity = score
            scored.append(patient)
    scored.sort(key=lambda p: -p.name_similarity)
    return scored[:10]


@transaction.atomic
def patient_register(*, site: Site, by: User, allow_duplicate: bool = False, **fields) -> Patient:
    """Register a patient at ``site`` with a new MRN.

    Raises ``PossibleDuplicate`` (a ValidationError carrying ``candidates``) when someone
    visible to ``by`` has the same birth date and a similar name, unless ``allow_duplicate``.
    """
    _unknown_fields(fields, PATIENT_FIELDS)
    patient = Patient(site=site, created_by=by, **_tidy(fields))
    patient.mrn = new_mrn()
    patient.full_clean()
    if not allow_duplicate:
        within = Patient.objects.active().filter(site_id__in=site_ids_for(by, "patient.view") | {site.pk})
        candidates = patient_find_duplicates(
            first_name=patient.legal_first_name,
            last_name=patient.legal_last_name,
            date_of_birth=patient.date_of_birth,
            within=within,
        )
        if candidates:
            raise PossibleDuplicate(candidates)
    patient.save()
    record(
        Action.CREATE,
        actor=by,
        site=site,
        patient=patient,
        obj=patient,
        changes={"before": {}, "after": {"mrn": patient.mrn, **_snapshot(patient, PATIENT_FIELDS)}},
    )
    return patient


def _check_sms_opt_in_follows_number(patient: Patient, before: dict[str, Any], *, given: set[str]) -> None:
    """A text opt-in covers the exact number agreed to (TCPA prior express consent, DOMAIN.md §13).

    When the number for texts changes while the opt-in stays on, the update must record the
    patient's agreement for the new number: a new opt-in date (not the old one, not in the
    future) and how they agreed, given with it. Otherwise it is refused and nothing is saved;
    staff record the new agreement, or untick the opt-in."""
    if not (patient.sms_opt_in and before["sms_opt_in"] and before["sms_number"]):
        return
    if patient.sms_number == before["sms_number"]:
        return
    old_on = before["sms_opt_in_on"]
    errors: dict[str, str] = {}
    if patient.sms_opt_in_on == old_on:
        errors["sms_opt_in_on"] = (
            f"The patient's agreement to texts recorded on {old_on:%Y-%m-%d} was for the previous number only "
            "(a text opt-in covers the exact number agreed to). Record the date the patient agreed to texts at "
            "the new number, and how, or untick “Agrees to text messages”."
        )
    elif patient.sms_opt_in_on and patient.sms_opt_in_on > site_today(patient.site):
        errors["sms_opt_in_on"] = "The date the patient agreed to texts at the new number cannot be in the future."
    if "sms_opt_in_source" not in given:
        errors["sms_opt_in_source"] = "Record how the patient agreed to texts at the new number."
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def patient_update(*, patient: Patient, by: User, **fields) -> Patient:
    """Change demographics or contact preferences; records only the fields that changed."""
    _unknown_fields(fields, PATIENT_FIELDS)
    patient = Patient.objects.select_for_update().select_related("site").get(pk=patient.pk)
    before = _snapshot(patient, PATIENT_FIELDS)
    for name, value in _tidy(fields).items():
        setattr(patient, name, value)
    patient.full_clean()
    _check_sms_opt_in_follows_number(patient, before, given=set(fields))
    after = _snapshot(patient, PATIENT_FIELDS)
    changed = [name for name in PATIENT_FIELDS if before[name] != after[name]]
    if not changed:
        return patient
    patient.save(update_fields=[*changed, "updated_at"])
    record(
        Action.UPDATE,
        actor=by,
        site=patient.site,
        patient=patient,
        obj=patient,
        changes={"before": {n: before[n] for n in changed}, "after": {n: after[n] for n in changed}},
    )
    return patient


@transaction.atomic
def patient_archive(*, patient: Patient, by: User, reason: str) -> Patient:
    """Soft-delete a patient registered in error (a duplicate, a test). The row stays."""
    patient = Patient.objects.select_for_update().select_related("site").get(pk=patient.pk)
    if patient.deleted_at is not None:
        raise ValidationError("This record is already archived.")
    if not (reason or "").strip():
        raise ValidationError({"reason": "Say why the record is archived."})
    if patient.episodes.open().exists():
        raise ValidationError({"reason": "Discharge the open episode before archiving the record."})
    patient.deleted_at = timezone.now()
    patient.deleted_by = by
    patient.deletion_reason = reason.strip()
    patient.save(update_fields=["deleted_at", "deleted_by", "deletion_reason", "updated_at"])
    record(
        Action.DELETE,
        actor=by,
        site=patient.site,
        patient=patient,
        obj=patient,
        reason=patient.deletion_reason,
        changes={"before": {"deleted_at": None}, "after": {"deleted_at": patient.deleted_at}},
    )
    return patient


# --- episodes of care ---------------------------------------------------------------------------

EPISODE_FIELDS = [
    "admission_date",
    "level_of_care",
    "level_of_care_edition",
    "primary_counselor",
    "discharge_date",
    "discharge_type",
    "discharge_summary",
]
_SECOND_OPEN = "This patient already has an open episode of care. Discharge it before admitting again."


@transaction.atomic
def episode_admit(
    *,
    patient: Patient,
    admission_date: date,
    by: User,
    level_of_care: str = "2.1",
    level_of_care_edition: str = LocEdition.THIRD,
    primary_counselor: User | None = None,
) -> Episode:
    """Open an episode. At most one is open per patient (also a database constraint)."""
    patient = Patient.objects.select_for_update().select_related("site").get(pk=patient.pk)
    if patient.episodes.open().exists():
        raise ValidationError({NON_FIELD_ERRORS: _SECOND_OPEN})
    today = site_today(patient.site)
    if admission_date is None:
        raise ValidationError({"admission_date": "Give the admission date."})
    if admission_date > today:
        raise ValidationError({"admission_date": "The admission date cannot be in the future."})
    if admission_date < patient.date_of_birth:
        raise ValidationError({"admission_date": "The admission date is before the patient's birth date."})
    last = patient.episodes.exclude(discharge_date__isnull=True).order_by("-discharge_date").first()
    if last and admission_date < last.discharge_date:
        raise ValidationError(
            {"admission_date": f"The previous episode ended on {last.discharge_date:%Y-%m-%d}; admit on or after it."}
        )
    counselor = primary_counselor or patient.primary_counselor
    if (
        counselor is not None
        and not Membership.objects.active()
        .filter(user=counselor, site=patient.site, role__in=[Role.CLINICIAN, Role.SUPERVISOR])
        .exists()
    ):
        raise ValidationError(
            {"primary_counselor": "The primary counselor must be a counselor or clinical supervisor at this site."}
        )
    episode = Episode(
        patient=patient,
        site=patient.site,
        admission_date=admission_date,
        level_of_care=level_of_care,
        level_of_care_edition=level_of_care_edition,
        primary_counselor=counselor,
        admitted_by=by,
    )
    episode.full_clean(validate_constraints=False)
    try:
        with transaction.atomic():
            episode.save()
    except IntegrityError:
        # Two admissions raced past the check above; the partial unique index decided.
        raise ValidationError({NON_FIELD_ERRORS: _SECOND_OPEN}) from None
    record(
        Action.CREATE,
        actor=by,
        site=patient.site,
        patient=patient,
        obj=episode,
        changes={"before": {}, "after": _snapshot(episode, EPISODE_FIELDS)},
    )
    return episode


@transaction.atomic
def episode_discharge(
    *,
    episode: Episode,
    discharge_date: date,
    discharge_type: str,
    by: User,
    summary: str = "",
    aftercare_checked: bool = False,
) -> Episode:
    """Close an episode. The date is not before admission nor after today in the site's zone.

    A clinician's decision (DOMAIN.md §6, "the system proposes; a clinician signs"): ``by``
    must hold ``episode.discharge`` at the episode's site (a counselor or clinical supervisor),
    the same capability the pages and the API check; anyone else, or no one, is refused.

    An administrative discharge also needs an aftercare referral, re-admission information and
    a letter to the patient (or why contact is not allowed). Those live in the plans floor, so
    only ``plans.services.discharge_sign`` records and checks them and then passes
    ``aftercare_checked=True``; called any other way, an administrative discharge is refused."""
    episode = Episode.objects.select_for_update().select_related("site", "patient").get(pk=episode.pk)
    if not has_capability(by, episode.site_id, "episode.discharge"):
        raise PermissionDenied("Only a counselor or clinical supervisor at this site may discharge a patient.")
    if discharge_type == DischargeType.ADMINISTRATIVE and not aftercare_checked:
        raise ValidationError(
            {
                "discharge_type": "An administrative discharge needs an aftercare referral, re-admission "
                "information and a letter to the patient (or why contact is not allowed): sign it on the "
                "discharge page, which records them."
            }
        )
    if not episode.is_open:
        raise ValidationError(f"This episode was already discharged on {episode.discharge_date:%Y-%m-%d}.")
    if discharge_date is None:
        raise ValidationError({"discharge_date": "Give the discharge date."})
    if discharge_date > site_today(episode.site):
        raise ValidationError({"discharge_date": "The discharge date cannot be in the future."})
    before = _snapshot(episode, EPISODE_FIELDS)
    episode.discharge_date = discharge_date
    episode.discharge_type = discharge_type or ""
    episode.discharge_summary = (summary or "").strip()
    episode.discharged_by = by
    episode.full_clean(validate_constraints=False)
    episode.save(update_fields=["discharge_date", "discharge_type", "discharge_summary", "discharged_by", "updated_at"])
    after = _snapshot(episode, EPISODE_FIELDS)
    changed = [n for n in EPISODE_FIELDS if before[n] != after[n]]
    record(
        Action.UPDATE,
        actor=by,
        site=episode.site,
        patient=episode.patient,
        obj=episode,
        changes={"before": {n: before[n] for n in changed}, "after": {n: after[n] for n in changed}},
    )
    return episode


# --- intake pipeline ---------------------------------------------------------------------------------


@transaction.atomic
def referral_create(
    *, patient: Patient, source: str, received_on: date, reason: str, by: User, source_detail: str = ""
) -> Referral:
    """Open a referral at the "referral received" stage."""
    if received_on and received_on > site_today(patient.site):
        raise ValidationError({"received_on": "The date received cannot be in the future."})
    referral = Referral(
        patient=patient,
        site=patient.site,
        source=source,
        source_detail=(source_detail or "").strip(),
        received_on=received_on,
        reason=(reason or "").strip(),
        created_by=by,
    )
    referral.full_clean()
    referral.save()
    ReferralEvent.objects.create(referral=referral, from_stage="", to_stage=Stage.RECEIVED, by=by)
    record(
        Action.CREATE,
        actor=by,
        site=patient.site,
        patient=patient,
        obj=referral,
        changes={
            "before": {},
            "after": _snapshot(referral, ["source", "source_detail", "received_on", "reason", "stage"]),
        },
    )
    return referral


@transaction.atomic
def referral_advance(
    *,
    referral: Referral,
    to_stage: str,
    by: User,
    note: str = "",
    admission_date: date | None = None,
    level_of_care: str = "2.1",
    level_of_care_edition: str = LocEdition.THIRD,
    primary_counselor: User | None = None,
) -> Referral:
    """Move a referral along the allowed-transitions table, recording who and when.

    Moving to "admitted" opens the episode of care (``episode_admit``) with the admission
    details given; it needs a placement decision earlier in the referral's history.
    """
    referral = Referral.objects.select_for_update().select_related("patient", "site").get(pk=referral.pk)
    if to_stage not in Stage.values:
        raise ValidationError({"to_stage": f"{to_stage!r} is not an intake stage."})
    current = Stage(referral.stage)
    target = Stage(to_stage)
    if target not in TRANSITIONS[current]:
        allowed = ", ".join(Stage(s).label.lower() for s in referral.allowed_stages) or "none (the referral is closed)"
        raise ValidationError(
            {"to_stage": f"A referral at “{current.label}” cannot move to “{target.label}”. Allowed next: {allowed}."}
        )
    before = _snapshot(referral, ["stage", "waitlisted_at", "episode"])
    now = timezone.now()
    if target == Stage.ADMITTED:
        if not referral.events.filter(to_stage=Stage.PLACEMENT_DECIDED).exists():
            raise ValidationError({"to_stage": "Record the placement decision before admitting."})
        referral.episode = episode_admit(
            patient=referral.patient,
            admission_date=admission_date,
            by=by,
            level_of_care=level_of_care,
            level_of_care_edition=level_of_care_edition,
            primary_counselor=primary_counselor,
        )
    referral.stage = target
    referral.stage_changed_at = now
    referral.waitlisted_at = now if target == Stage.WAITLISTED else None
    referral.save(update_fields=["stage", "stage_changed_at", "waitlisted_at", "episode", "updated_at"])
    ReferralEvent.objects.create(
        referral=referral, from_stage=current, to_stage=target, at=now, by=by, note=(note or "").strip()
    )
    record(
        Action.UPDATE,
        actor=by,
        site=referral.site,
        patient=referral.patient,
        obj=referral,
        reason=(note or "").strip(),
        changes={"before": before, "after": _snapshot(referral, ["stage", "waitlisted_at", "episode"])},
    )
    return referral


# --- consents ---------------------------------------------------------------------------------------

CONSENT_FIELDS = [
    "kind",
    "disclosing_party",
    "categories",
    "recipients",
    "purposes",
    "purpose_detail",
    "expires_on",
    "expiry_event",
    "expiry_event_detail",
    "revocation_acknowledged",
    "redisclosure_acknowledged",
    "refusal_acknowledged",
    "signed_by",
    "representative_relationship",
    "signer_name",
    "signed_at",
    "fundraising_opt_out",
]


@transaction.atomic
def consent_record(
    *,
    patient: Patient,
    by: User,
    kind: str,
    disclosing_party: str,
    categories: list[str],
    recipients: str = "",
    purposes: list[str] | None = None,
    purpose_detail: str = "",
    expires_on: date | None = None,
    expiry_event: str = "",
    expiry_event_detail: str = "",
    revocation_acknowledged: bool = False,
    redisclosure_acknowledged: bool = False,
    refusal_acknowledged: bool = False,
    signed_by: str = "patient",
    representative_relationship: str = "",
    signer_name: str = "",
    signed_at: datetime | None = None,
    fundraising_opt_out: bool | None = None,
) -> Consent:
    """Record a signed Part 2 consent; refuses one missing any required element.

    A TPO consent gets the general recipient description and the TPO purposes when none are
    given. The standard statements the signer acknowledged are stored with the consent; a
    consent for any TPO purpose also says that covered-entity recipients may redisclose as HIPAA
    permits except in proceedings against the patient, and, where the program fundraises
    (``PROGRAM_FUNDRAISES``), tells of the right to opt out of fundraising and records the
    patient's answer (``fundraising_opt_out``: True when they opt out; not opting out is False).

    ``expiry_event`` is a choice (``ExpiryEvent``); earlier free text is still accepted: "end of
    treatment" and "none" become those choices, other words another event described by them.
    """
    purposes = list(purposes or [])
    if kind == ConsentKind.TPO:
        recipients = recipients.strip() or TPO_RECIPIENTS
        purposes = purposes or sorted(TPO_PURPOSES)
        purpose_detail = purpose_detail.strip() or TPO_PURPOSE_TEXT
    expiry_event, described = expiry_event_from_text(expiry_event)
    expiry_event_detail = " ".join((expiry_event_detail or "").split()) or described
    if expiry_event_detail and not expiry_event:
        expiry_event = ExpiryEvent.OTHER
    tpo_use = is_tpo_use(kind, purposes)
    redisclosure = REDISCLOSURE_STATEMENT
    if tpo_use:
        redisclosure = f"{REDISCLOSURE_STATEMENT} {TPO_REDISCLOSURE_STATEMENT}"
    fundraising = FUNDRAISING_STATEMENT if tpo_use and settings.PROGRAM_FUNDRAISES else ""
    consent = Consent(
        patient=patient,
        kind=kind,
        disclosing_party=disclosing_party,
        categories=list(categories or []),
        recipients=recipients,
        purposes=purposes,
        purpose_detail=(purpose_detail or "").strip(),
        expires_on=expires_on,
        expiry_event=expiry_event,
        expiry_event_detail=expiry_event_detail,
        revocation_acknowledged=revocation_acknowledged,
        revocation_statement=REVOCATION_STATEMENT,
        redisclosure_acknowledged=redisclosure_acknowledged,
        redisclosure_statement=redisclosure,
        refusal_acknowledged=refusal_acknowledged,
        refusal_statement=REFUSAL_STATEMENT,
        signed_by=signed_by,
        representative_relationship=(representative_relationship or "").strip(),
        signer_name=signer_name,
        signed_at=signed_at or timezone.now(),
        recorded_by=by,
        fundraising_statement=fundraising,
        fundraising_opt_out=bool(fundraising_opt_out) if fundraising else None,
    )
    if consent.signed_at > timezone.now():
        raise ValidationError({"signer_name": "The signing date cannot be in the future."})
    consent.full_clean(validate_constraints=False)
    consent.save()
    record(
        Action.CREATE,
        actor=by,
        site=patient.site,
        patient=patient,
        obj=consent,
        changes={"before": {}, "after": _snapshot(consent, CONSENT_FIELDS)},
    )
    return consent


@transaction.atomic
def consent_revoke(*, consent: Consent, revoked_on: date, method: str, by: User) -> Consent:
    """Record a written revocation. It takes effect at once: no disclosure or contact under
    this consent is allowed from now on."""
    consent = Consent.objects.select_for_update().select_related("patient__site").get(pk=consent.pk)
    if consent.revoked_on is not None:
        raise ValidationError(f"This consent was already revoked on {consent.revoked_on:%Y-%m-%d}.")
    if revoked_on is None:
        raise ValidationError({"revoked_on": "Give the date of the written revocation."})
    if revoked_on > site_today(consent.patient.site):
        raise ValidationError({"revoked_on": "The revocation date cannot be in the future."})
    if consent.signed_at and revoked_on < timezone.localtime(consent.signed_at, consent.patient.site.zone).date():
        raise ValidationError({"revoked_on": "The revocation date is before the consent was signed."})
    if method not in {m for m, _ in Consent._meta.get_field("revocation_method").choices}:
        raise ValidationError({"method": "Say how the patient revoked in writing."})
    consent.revoked_on = revoked_on
    consent.revocation_method = method
    consent.revoked_by = by
    consent.save(update_fields=["revoked_on", "revocation_method", "revoked_by", "updated_at"])
    record(
        Action.UPDATE,
        actor=by,
        site=consent.patient.site,
        patient=consent.patient,
        obj=consent,
        changes={
            "before": {"revoked_on": None, "revocation_method": ""},
            "after": {"revoked_on": revoked_on, "revocation_method": method},
        },
    )
    return consent


# --- support network ---------------------------------------------------------------------------------


def support_contact_contact_problem(contact: SupportContact) -> str | None:
    """Why staff may not contact this person now, or None when they may."""
    if contact.removed_at is not None:
        return "This person was removed from the support network."
    if not contact.may_contact:
        return "The patient has not agreed to staff contacting this person."
    consent = contact.consent
    if consent is None:
        return "No consent is linked: contacting them would disclose that the patient is in treatment."
    if consent.patient_id != contact.patient_id:
        return "The linked consent belongs to another patient."
    if consent.kind == ConsentKind.COUNSELLING_NOTES:
        return "A counselling-notes consent does not cover contacting support people."
    consent.patient = contact.patient  # the same person: its site and episodes, without asking again
    if consent.revoked_on is not None:
        return f"The linked consent was revoked on {consent.revoked_on:%Y-%m-%d}."
    expired = consent.expiry_problem(site_today(contact.patient.site))
    if expired:
        return f"The linked consent {expired}."
    defects = consent.facial_defects()
    if defects:
        return "The linked consent does not meet the required elements of 42 CFR §2.31: " + " ".join(defects)
    if not consent.covers_recipient(contact.name):
        return f"The linked consent does not name {contact.name} as a recipient."
    return None


def support_contact_contact_allowed(contact: SupportContact) -> bool:
    """True only when the patient agreed and an active consent names this person."""
    return support_contact_contact_problem(contact) is None


def _check_may_contact(contact: SupportContact) -> None:
    if contact.may_contact:
        problem = support_contact_contact_problem(contact)
        if problem:
            raise ValidationError({"may_contact": f"Contact cannot be allowed: {problem}"})


@transaction.atomic
def support_contact_create(*, patient: Patient, by: User, **fields) -> SupportContact:
    """Add a person to the support network; ``may_contact`` needs a covering consent."""
    _unknown_fields(fields, SUPPORT_CONTACT_FIELDS)
    contact = SupportContact(patient=patient, **_tidy(fields))
    contact.full_clean()
    _check_may_contact(contact)
    contact.save()
    record(
        Action.CREATE,
        actor=by,
        site=patient.site,
        patient=patient,
        obj=contact,
        changes={"before": {}, "after": _snapshot(contact, SUPPORT_CONTACT_FIELDS)},
    )
    return contact


@transaction.atomic
def support_contact_update(*, contact: SupportContact, by: User, **fields) -> SupportContact:
    _unknown_fields(fields, SUPPORT_CONTACT_FIELDS)
    contact = SupportContact.objects.select_for_update().select_related("patient__site").get(pk=contact.pk)
    before = _snapshot(contact, SUPPORT_CONTACT_FIELDS)
    for name, value in _tidy(fields).items():
        setattr(contact, name, value)
    contact.full_clean()
    _check_may_contact(contact)
    after = _snapshot(contact, SUPPORT_CONTACT_FIELDS)
    changed = [n for n in SUPPORT_CONTACT_FIELDS if before[n] != after[n]]
    if not changed:
        return contact
    contact.save(update_fields=[*[SupportContact._meta.get_field(n).name for n in changed], "updated_at"])
    record(
        Action.UPDATE,
        actor=by,
        site=contact.patient.site,
        patient=contact.patient,
        obj=contact,
        changes={"before": {n: before[n] for n in changed}, "after": {n: after[n] for n in changed}},
    )
    return contact


@transaction.atomic
def support_contact_remove(*, contact: SupportContact, by: User) -> SupportContact:
    contact = SupportContact.objects.select_for_update().select_related("patient__site").get(pk=contact.pk)
    if contact.removed_at is not None:
        return contact
    contact.removed_at = timezone.now()
    contact.save(update_fields=["removed_at", "updated_at"])
    record(
        Action.DELETE,
        actor=by,
        site=contact.patient.site,
        patient=contact.patient,
        obj=contact,
        changes={"before": {"removed_at": None}, "after": {"removed_at": contact.removed_at}},
    )
    return contact


# --- disclosures ----------------------------------------------------------------------------------------


def disclosure_problem(
    consent: Consent,
    *,
    patient: Patient,
    recipient: str,
    purpose: str,
    categories: list[str],
    today: date,
    episodes: list[Episode] | None = None,
) -> tuple[str, str] | None:
    """The first reason ``consent`` does not allow this disclosure, as (field, message), or None.

    In the order of DOMAIN.md §11 "Defective consents": revoked, expired (on its date, or at the
    end of treatment once the patient was discharged), failing the required elements on its face
    (``Consent.facial_defects``); then whether it covers the purpose, recipient and information.
    ``episodes`` are the patient's episodes, when the caller has read them already."""
    if consent.patient_id != patient.pk:
        return "consent", "That consent belongs to another patient."
    consent.patient = patient
    if consent.revoked_on is not None:
        return "consent", f"The consent was revoked on {consent.revoked_on:%Y-%m-%d}: nothing may be released under it."
    expired = consent.expiry_problem(today, episodes=episodes)
    if expired:
        return "consent", f"The consent {expired}: nothing may be released under it; ask the patient for a new one."
    defects = consent.facial_defects()
    if defects:
        return "consent", (
            "The consent does not meet the required elements of 42 CFR §2.31 on its face, so nothing may be "
            "released under it: " + " ".join(defects) + " Record a new, complete consent."
        )
    if not consent.covers_purpose(purpose):
        return "purpose", f"The consent does not cover the purpose “{Purpose(purpose).label}”."
    if not consent.covers_recipient(recipient, purpose=purpose):
        return "recipient", f"The consent does not cover this recipient ({recipient}). It names: " + "; ".join(
            consent.recipient_lines
        )
    missing = [c for c in categories if not consent.covers_category(c)]
    if missing:
        labels = ", ".join(InfoCategory(c).label for c in missing)
        return "categories", f"The consent does not cover: {labels}."
    return None


@transaction.atomic
def disclosure_make(
    *,
    patient: Patient,
    recipient: str,
    purpose: str,
    categories: list[str],
    channel: str,
    by: User,
    consent: Consent | None = None,
    notes: str = "",
) -> Disclosure:
    """Release records under a consent and log it with the current Part 2 notice.

    Refuses, with the specific reason on the field, when there is no consent, or the consent
    is revoked or expired (on its date, or at the end of treatment once the patient was
    discharged), or fails the §2.31 required elements on its face, or does not cover the
    recipient, the purpose or every category.
    Without ``consent`` the patient's first consent that covers everything is used.
    """
    recipient = " ".join((recipient or "").split())
    categories = list(dict.fromkeys(categories or []))
    errors: dict[str, str] = {}
    if not recipient:
        errors["recipient"] = "Name the recipient."
    if purpose not in Purpose.values:
        errors["purpose"] = "Choose the purpose of the disclosure."
    if not categories:
        errors["categories"] = "Choose what information is released."
    elif any(c not in InfoCategory.values for c in categories):
        errors["categories"] = "Unknown information category."
    if channel not in DisclosureChannel.values:
        errors["channel"] = "Choose how the records are released."
    if errors:
        raise ValidationError(errors)

    patient = Patient.objects.select_related("site").get(pk=patient.pk)
    today = site_today(patient.site)
    episodes = list(patient.episodes.only("discharge_date", "updated_at"))
    check = {
        "patient": patient,
        "recipient": recipient,
        "purpose": purpose,
        "categories": categories,
        "today": today,
        "episodes": episodes,
    }
    if consent is not None:
        consent = Consent.objects.select_for_update().get(pk=consent.pk)
        problem = disclosure_problem(consent, **check)
        if problem:
            raise ValidationError({problem[0]: problem[1]})
    else:
        on_file = list(patient.consents.order_by("-signed_at"))
        if not on_file:
            raise ValidationError(
                {"consent": "There is no consent on file for this patient: record a signed consent first."}
            )
        problems = []
        for candidate in on_file:
            problem = disclosure_problem(candidate, **check)
            if problem is None:
                consent = candidate
                break
            problems.append(problem)
        if consent is None:
            if len(problems) == 1:
                raise ValidationError({problems[0][0]: problems[0][1]})
            raise ValidationError(
                {"consent": "No consent on file covers this disclosure. " + " ".join(sorted({p[1] for p in problems}))}
            )

    return _save_disclosure(
        Disclosure(
            patient=patient,
            consent=consent,
            recipient=recipient,
            purpose=purpose,
            categories=categories,
            channel=channel,
            notes=(notes or "").strip(),
        ),
        by=by,
        audited=("recipient", "purpose", "categories", "channel", "legal_basis"),
        also={"consent": str(consent.public_id)},
    )


def _save_disclosure(disclosure: Disclosure, *, by: User, audited: tuple[str, ...], also=None, reason="") -> Disclosure:
    """Log a release: the patient's site, who disclosed it, the current Part 2 notice (none set
    up: refused), validated and saved, then audited (DISCLOSE) with the ``audited`` fields,
    ``also`` and the notice's version."""
    patient = disclosure.patient
    notice = Part2NoticeTemplate.current(site_today(patient.site))
    if notice is None:
        raise ValidationError("No Part 2 notice is set up: a disclosure cannot leave without one.")
    disclosure.site = patient.site
    disclosure.notice = notice
    disclosure.disclosed_by = by
    disclosure.full_clean()
    disclosure.save()
    after = {name: getattr(disclosure, name) for name in audited}
    record(
        Action.DISCLOSE,
        actor=by,
        site=patient.site,
        patient=patient,
        obj=disclosure,
        reason=reason,
        changes={"before": {}, "after": {**after, **(also or {}), "notice_version": notice.version}},
    )
    return disclosure


# What each no-consent exception must record, as the rule says it (the messages name the rule).
NO_CONSENT_PURPOSE = {LegalBasis.MEDICAL_EMERGENCY: Purpose.TREATMENT, LegalBasis.COURT_ORDER: Purpose.LEGAL}


@transaction.atomic
def disclosure_make_without_consent(
    *,
    patient: Patient,
    legal_basis: str,
    recipient: str,
    categories: list[str],
    channel: str,
    by: User,
    disclosed_at: datetime | None = None,
    recipient_facility: str = "",
    emergency_nature: str = "",
    consent_unobtainable: bool = False,
    court_order_reference: str = "",
    court_order_date: date | None = None,
    court_order_confirmed: bool = False,
    notes: str = "",
) -> Disclosure:
    """Log a release of Part 2 records made without the patient's consent, under an exception.

    - Medical emergency (§2.51): to medical personnel, to the extent needed for a bona fide
      emergency in which the patient's consent cannot be obtained. Records, as §2.51(c) requires
      immediately after the disclosure: the medical personnel's name (``recipient``) and facility,
      the name of the person disclosing (``by``), the date and time (``disclosed_at``, default
      now), and the nature of the emergency.
    - Court order (§2.61–2.67): the order's reference and date, and confirmation that it is an
      order under subpart E (a subpoena alone authorises nothing).

    Only a clinical supervisor or program director of the patient's site (``disclosure.no_consent``).
    SUD counselling notes never leave this way (their own consent only). Raises ValidationError
    keyed by field, naming the rule, for anything missing. Logged in the disclosure log (and so
    the accounting) with its legal basis and the current Part 2 notice; audited (DISCLOSE, with the
    emergency or the order as the reason); the site's supervisors and directors are alerted
    (``disclosure_without_consent``).
    """
    if not has_capability(by, patient.site_id, "disclosure.no_consent"):
        raise ValidationError(
            "Only a clinical supervisor or program director of the patient's site may release records without consent."
        )
    recipient = " ".join((recipient or "").split())
    recipient_facility = " ".join((recipient_facility or "").split())
    emergency_nature = (emergency_nature or "").strip()
    court_order_reference = " ".join((court_order_reference or "").split())
    categories = list(dict.fromkeys(categories or []))
    errors: dict[str, str] = {}
    if legal_basis not in NO_CONSENT_BASES:
        errors["legal_basis"] = "Choose the exception: medical emergency (§2.51) or court order (§2.61–2.67)."
    if not categories:
        errors["categories"] = "Choose what information is released (only what the emergency or the order needs)."
    elif any(c not in InfoCategory.values for c in categories):
        errors["categories"] = "Unknown information category."
    elif InfoCategory.COUNSELLING_NOTES in categories:
        errors["categories"] = "SUD counselling notes are released only under the patient's own consent for them."
    if channel not in DisclosureChannel.values:
        errors["channel"] = "Choose how the records are released."
    now = timezone.now()
    disclosed_at = disclosed_at or now
    if disclosed_at > now + timedelta(minutes=1):
        errors["disclosed_at"] = "The date and time of the disclosure cannot be in the future."
    if legal_basis == LegalBasis.MEDICAL_EMERGENCY:
        if not recipient:
            errors["recipient"] = "Name the medical personnel who received the records (§2.51(c))."
        if not recipient_facility:
            errors["recipient_facility"] = "Name the health care facility of the medical personnel (§2.51(c))."
        if not emergency_nature:
            errors["emergency_nature"] = "Describe the nature of the medical emergency (§2.51(c))."
        if not consent_unobtainable:
            errors["consent_unobtainable"] = (
                "Confirm that the patient's consent could not be obtained in time: otherwise ask for it (§2.51(a))."
            )
    elif legal_basis == LegalBasis.COURT_ORDER:
        if not recipient:
            errors["recipient"] = "Name the recipient the court order names."
        if not court_order_reference:
            errors["court_order_reference"] = "Give the court order's reference: court, case or docket number."
        if court_order_date is None:
            errors["court_order_date"] = "Give the date of the court order."
        elif court_order_date > site_today(patient.site):
            errors["court_order_date"] = "The date of the court order cannot be in the future."
        if not court_order_confirmed:
            errors["court_order_confirmed"] = (
                "Confirm this is a court order under 42 CFR part 2 subpart E: a subpoena alone does not "
                "authorise disclosure (§2.61)."
            )
    if errors:
        raise ValidationError(errors)

    patient = Patient.objects.select_related("site").get(pk=patient.pk)
    emergency = legal_basis == LegalBasis.MEDICAL_EMERGENCY
    disclosure = _save_disclosure(
        Disclosure(
            patient=patient,
            legal_basis=legal_basis,
            consent=None,
            recipient=recipient,
            recipient_facility=recipient_facility if emergency else "",
            emergency_nature=emergency_nature if emergency else "",
            court_order_reference="" if emergency else court_order_reference,
            court_order_date=None if emergency else court_order_date,
            purpose=NO_CONSENT_PURPOSE[legal_basis],
            categories=categories,
            channel=channel,
            notes=(notes or "").strip(),
            disclosed_at=disclosed_at,
        ),
        by=by,
        audited=(
            "legal_basis",
            "recipient",
            "recipient_facility",
            "emergency_nature",
            "court_order_reference",
            "court_order_date",
            "purpose",
            "categories",
            "channel",
            "disclosed_at",
        ),
        also={"disclosed_by": by.signature_name},
        reason=emergency_nature if emergency else f"Court order {court_order_reference}",
    )
    disclosure_without_consent.send(sender=Disclosure, disclosure=disclosure)
    return disclosure


# --- break-glass emergency access -------------------------------------------------------------------

# The one answer for a wrong MRN, a wrong date of birth, an unknown patient and a patient the
# user may not reach this way: a look-up tells nothing about who exists.
EMERGENCY_NOT_FOUND = "No patient matches this MRN and date of birth. Check both and try again."


class EmergencyNotFound(ValidationError):
    """No patient this user may reach by break-glass matches the MRN and date of birth."""

    def __init__(self):
        super().__init__(EMERGENCY_NOT_FOUND)


class AlreadyVisible(Exception):
    """The user already sees this patient through a membership at the patient's site."""

    def __init__(self, patient: Patient):
        super().__init__("already visible")
        self.patient = patient


def _emergency_snapshot(access: EmergencyAccess) -> dict:
    return {
        "user": str(access.user.public_id),
        "started_at": access.started_at,
        "expires_at": access.expires_at,
        "ended_at": access.ended_at,
        "review_outcome": access.review_outcome,
        "review_note": access.review_note,
        "reviewed_by": str(access.reviewed_by.public_id) if access.reviewed_by_id else None,
        "reviewed_at": access.reviewed_at,
    }


@transaction.atomic
def emergency_access_open(
    *, by: User, mrn: str, date_of_birth: date | None, reason: str, now: datetime | None = None
) -> tuple[EmergencyAccess, bool]:
    """Break the glass: read-only access to one patient of another site, for
    ``BREAK_GLASS_MINUTES``, found by the exact MRN *and* date of birth (no browsing).

    Returns ``(grant, created)``; a live grant of the same user to the same patient is returned
    as it is. Raises ValidationError keyed ``mrn``/``date_of_birth``/``reason`` for missing input
    or a reason shorter than ``EMERGENCY_REASON_MIN_LENGTH``, ``EmergencyNotFound`` (one message)
    for any pair that does not match a patient ``by`` may reach this way, and ``AlreadyVisible``
    when ``by`` sees the patient anyway. The grant is audited (BREAK_GLASS, with the reason) and
    the site's supervisors and directors are alerted (``emergency_access_granted``).
    """
    if not site_ids_for(by, "emergency.access"):
        raise ValidationError("Emergency access is for counselors, clinical supervisors and program directors.")
    mrn = normalize_mrn(mrn)
    reason = (reason or "").strip()
    errors: dict[str, str] = {}
    if not mrn:
        errors["mrn"] = "Enter the patient's MRN exactly."
    if date_of_birth is None:
        errors["date_of_birth"] = "Enter the patient's date of birth."
    if len(reason) < EMERGENCY_REASON_MIN_LENGTH:
        errors["reason"] = f"Say what the emergency is, in at least {EMERGENCY_REASON_MIN_LENGTH} characters."
    if errors:
        raise ValidationError(errors)
    patient = Patient.objects.active().select_related("site").filter(mrn=mrn, date_of_birth=date_of_birth).first()
    if patient is None:
        raise EmergencyNotFound
    if has_capability(by, patient.site_id, "patient.view"):
        raise AlreadyVisible(patient)
    if patient.site_id in site_ids_for(by):
        # A member of the patient's site without patient access (a site admin): break-glass is
        # not a way around the role they hold there.
        raise EmergencyNotFound
    now = now or timezone.now()
    live = EmergencyAccess.objects.live(now).filter(user=by, patient=patient).select_related("user").first()
    if live is not None:
        return live, False
    access = EmergencyAccess(
        user=by,
        patient=patient,
        site=patient.site,
        reason=reason,
        started_at=now,
        expires_at=now + timedelta(minutes=settings.BREAK_GLASS_MINUTES),
    )
    access.full_clean()
    access.save()
    record(
        Action.BREAK_GLASS,
        actor=by,
        site=patient.site,
        patient=patient,
        obj=access,
        reason=access.reason,
        changes={"before": {}, "after": _emergency_snapshot(access)},
    )
    emergency_access_granted.send(sender=EmergencyAccess, access=access)
    forget_roles(by)  # the next visibility check loads the new grant
    return access, True


@transaction.atomic
def emergency_access_end(*, access: EmergencyAccess, by: User) -> EmergencyAccess:
    """The holder ends their grant before it expires. Audited (UPDATE, before/after)."""
    access = EmergencyAccess.objects.select_for_update(of=("self",)).select_related("user").get(pk=access.pk)
    if access.user_id != by.pk:
        raise ValidationError("Only the person who opened emergency access can end it here.")
    if not access.is_live():
        raise ValidationError("This emergency access has already ended.")
    before = _emergency_snapshot(access)
    access.ended_at = timezone.now()
    access.save(update_fields=["ended_at"])
    record(
        Action.UPDATE,
        actor=by,
        site=access.site_id,
        patient=access.patient,
        obj=access,
        reason=access.reason,
        changes={"before": before, "after": _emergency_snapshot(access)},
    )
    forget_roles(by)
    return access


@transaction.atomic
def emergency_access_review(*, access: EmergencyAccess, by: User, outcome: str, note: str = "") -> EmergencyAccess:
    """A supervisor or director of the patient's site records whether an emergency access was
    appropriate. ``inappropriate`` needs a note and ends the grant at once if it is still live.

    Raises ValidationError (keyed ``outcome``/``note``) for a missing outcome or note, when the
    grant was already reviewed, and when ``by`` may not review it (or held it). Audited (UPDATE,
    before/after); the alert about the grant is closed (``emergency_access_reviewed``).
    """
    access = (
        EmergencyAccess.objects.select_for_update(of=("self",))
        .select_related("user", "reviewed_by", "patient")
        .get(pk=access.pk)
    )
    if not has_capability(by, access.site_id, "emergency.review"):
        raise ValidationError("Only a clinical supervisor or program director of the patient's site reviews this.")
    if access.user_id == by.pk:
        raise ValidationError("Someone else reviews your own emergency access.")
    if access.reviewed_at is not None:
        raise ValidationError(
            f"Already reviewed by {access.reviewed_by} on {timezone.localtime(access.reviewed_at):%Y-%m-%d %H:%M}."
        )
    note = (note or "").strip()
    errors: dict[str, str] = {}
    if outcome not in ReviewOutcome.values:
        errors["outcome"] = "Choose whether the access was appropriate."
    elif outcome == ReviewOutcome.INAPPROPRIATE and not note:
        errors["note"] = "Say why the access was inappropriate and what follows."
    if errors:
        raise ValidationError(errors)
    before = _emergency_snapshot(access)
    now = timezone.now()
    fields = ["reviewed_by", "reviewed_at", "review_outcome", "review_note"]
    access.reviewed_by = by
    access.reviewed_at = now
    access.review_outcome = outcome
    access.review_note = note
    if outcome == ReviewOutcome.INAPPROPRIATE and access.is_live(now):
        access.ended_at = now
        fields.append("ended_at")
    access.save(update_fields=fields)
    record(
        Action.UPDATE,
        actor=by,
        site=access.site_id,
        patient=access.patient,
        obj=access,
        changes={"before": before, "after": _emergency_snapshot(access)},
    )
    emergency_access_reviewed.send(sender=EmergencyAccess, access=access, by=by)
    return access
