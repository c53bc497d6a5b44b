"""Writes for assessments, placements, toxicology and medications. Each is one transaction
that validates, saves and records its audit event (before/after) together.

Every service raises ``django.core.exceptions.ValidationError`` for bad input, keyed by the
form field it concerns (``item_9``, ``D3``, ``override_note`` …), and saves nothing then.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from audit.models import Action
from audit.services import record
from notifications.models import AlertKind, Severity
from notifications.services import alert_raise
from patients.models import Episode, LocEdition, Patient, site_today
from plans.models import TriggerReason
from plans.services import plan_review_request
from users.models import Site, User
from users.permissions import has_capability

from . import placement as rules
from .instruments import IMMINENT_DANGER, SAFETY_ALERT, SUICIDE_RISK, instrument, score
from .models import (
    NOTE_FIELDS,
    RATING_FIELDS,
    RULER_INSTRUMENT,
    SCREENING_INSTRUMENTS,
    Agent,
    AnalyteResult,
    AssessmentResponse,
    InstrumentSetting,
    Medication,
    MedicationClass,
    Placement,
    PlacementStatus,
    PlacementType,
    ResponseContext,
    ResponseStatus,
    RulerType,
    Specimen,
    expectation_for,
)
from .selectors import instrument_offered

# Clock skew allowed between a form's "administered at" and the server.
FUTURE_TOLERANCE = timedelta(minutes=5)
RESPONSE_OBJECT_TYPE = "assessments.AssessmentResponse"


def _open_episode(patient: Patient) -> Episode | None:
    return patient.episodes.open().first()


def _check_episode(patient: Patient, episode: Episode | None) -> Episode | None:
    if episode is None:
        return _open_episode(patient)
    if episode.patient_id != patient.pk:
        raise ValidationError({"episode": "That episode belongs to another patient."})
    return episode


def can_administer(user: User, site_id: int, code: str) -> bool:
    """Clinicians and supervisors administer every instrument; intake coordinators the
    screening instruments only (``assessment.administer``)."""
    if has_capability(user, site_id, "clinical.write"):
        return True
    return code in SCREENING_INSTRUMENTS and has_capability(user, site_id, "assessment.administer")


def not_offered_message(code: str, site: Site) -> str:
    return (
        f"{code} is not offered at {site.name}: a site admin turned it off in the instrument settings. "
        "Responses already recorded stay visible."
    )


# --- Instrument settings ----------------------------------------------------------------------


@transaction.atomic
def instrument_setting_save(
    *, site: Site, instrument_code: str, enabled: bool, reassessment_interval_days: int | None, by: User
) -> InstrumentSetting:
    """Set whether ``instrument_code`` is offered at ``site`` and its re-administration interval
    (None: the built-in cadence). Creates the site's row the first time; audited with before and
    after. Raises ValidationError naming the field (interval 1–365 days; C-SSRS always offered)."""
    code = instrument(instrument_code).code
    setting = InstrumentSetting.objects.select_for_update().filter(site=site, instrument=code).first()
    creating = setting is None
    if creating:
        setting = InstrumentSetting(site=site, instrument=code)
    wanted = {"enabled": enabled, "reassessment_interval_days": reassessment_interval_days}
    before = {name: getattr(setting, name) for name in wanted}
    changed = [name for name, value in wanted.items() if before[name] != value]
    if not creating and not changed:
        return setting
    for name, value in wanted.items():
        setattr(setting, name, value)
    setting.full_clean()
    if creating:
        setting.save()
    else:
        setting.save(update_fields=[*changed, "updated_at"])
    record(
        Action.CREATE if creating else Action.UPDATE,
        actor=by,
        site=site,
        obj=setting,
        changes={
            "instrument": code,
            "before": None if creating else {n: before[n] for n in changed},
            "after": wanted if creating else {n: wanted[n] for n in changed},
        },
    )
    return setting


# --- Assessment responses ---------------------------------------------------------------------


def _response_snapshot(response: AssessmentResponse) -> dict[str, Any]:
    return {
        "instrument": response.instrument,
        "context": response.context,
        "episode": str(response.episode.public_id) if response.episode_id else None,
        "answers": response.answers,
        "total": response.total,
        "subscales": response.subscales,
        "band": response.band,
        "band_set": response.band_set,
        "flags": response.flags,
        "ruler_type": response.ruler_type,
        "imminent_danger": response.imminent_danger,
        "administered_at": response.administered_at,
        "status": response.status,
    }


@transaction.atomic
def assessment_record(
    *,
    patient: Patient,
    instrument_code: str,
    answers: list,
    by: User,
    context: str = ResponseContext.AD_HOC,
    administered_at: datetime | None = None,
    episode: Episode | None = None,
    ruler_type: str = "",
) -> AssessmentResponse:
    """Score ``answers`` with ``instruments.score`` and store exactly what it returned.

    The cut-offs are the instrument's default band set unless the ``ASSESSMENT_BAND_SETS``
    setting (instrument code -> registered band-set id, e.g. ``{"CIWA-Ar":
    "CIWA-Ar:SULLIVAN-1989"}``) names another (DOMAIN.md 4.3 and 4.6: configurable cut-offs);
    the id used is stored with the score. AUDIT-C always takes its set from the patient's sex.
    ``ruler_type`` (importance, confidence or readiness) is required for the readiness ruler
    and must be blank for every other instrument (DOMAIN.md 4.10).

    Guarantees: nothing is saved when ``score`` (or any other check) raises ValidationError,
    whose item keys (``item_9``) the form shows per item. The episode defaults to the
    patient's open one (null only when none is open). A safety flag (PHQ-9 item 9 > 0, or a
    C-SSRS at moderate or high risk) raises exactly one safety alert for the patient's
    counselor and the site's supervisors, and the response stays open until it is closed after
    that alert is acknowledged; other responses are recorded closed. A C-SSRS at high risk
    sets ``imminent_danger``, which placement decision support reads.
    """
    definition = instrument(instrument_code)
    code = definition.code
    if not can_administer(by, patient.site_id, code):
        raise PermissionDenied
    if not instrument_offered(patient.site_id, code):
        raise ValidationError({"instrument": not_offered_message(code, patient.site)})
    if context not in ResponseContext.values:
        raise ValidationError({"context": "Choose the context: intake, weekly, discharge or ad hoc."})
    now = timezone.now()
    administered_at = administered_at or now
    if administered_at > now + FUTURE_TOLERANCE:
        raise ValidationError({"administered_at": "The time given is in the future."})
    ruler_type = _check_ruler_type(code, ruler_type)
    sex = patient.sex_at_birth if patient.sex_at_birth in ("male", "female") else None
    result = score(code, list(answers), configured_band_set(code), sex=sex)
    episode = _check_episode(patient, episode)
    data = result.to_dict()
    flags = list(data["flags"])
    safety = SUICIDE_RISK in flags or SAFETY_ALERT in flags
    response = AssessmentResponse(
        patient=patient,
        episode=episode,
        site_id=patient.site_id,
        instrument=code,
        context=context,
        answers=list(answers),
        total=data["total"],
        subscales=data["subscales"],
        band=data["band"],
        band_label=data["band_label"],
        flags=flags,
        band_set=data["band_set"],
        item_scores=data["item_scores"],
        action=data["action"][:200],
        ruler_type=ruler_type,
        imminent_danger=IMMINENT_DANGER in flags,
        administered_by=by,
        administered_at=administered_at,
        status=ResponseStatus.OPEN if safety else ResponseStatus.CLOSED,
        closed_by=None if safety else by,
        closed_at=None if safety else now,
    )
    response.full_clean()
    response.save()
    record(
        Action.CREATE,
        actor=by,
        site=patient.site_id,
        patient=patient,
        obj=response,
        changes={"before": {}, "after": _response_snapshot(response)},
    )
    if SUICIDE_RISK in flags:
        alert_raise(
            site=patient.site,
            kind=AlertKind.SAFETY,
            severity=Severity.CRITICAL,
            title_code="PHQ9_ITEM9",
            patient=patient,
            obj=response,
            by=by,
        )
    if SAFETY_ALERT in flags:
        high = response.imminent_danger
        alert_raise(
            site=patient.site,
            kind=AlertKind.SAFETY,
            severity=Severity.CRITICAL if high else Severity.HIGH,
            title_code="CSSRS_HIGH" if high else "CSSRS_MODERATE",
            patient=patient,
            obj=response,
            by=by,
        )
    return response


def configured_band_set(code: str) -> str | None:
    """The band-set id the ``ASSESSMENT_BAND_SETS`` setting chooses for ``code`` (None: the
    instrument's default). ``score`` refuses an id that does not belong to the instrument."""
    if code == "AUDIT-C":
        return None  # chosen by the patient's sex (men >= 4, women >= 3)
    return (getattr(settings, "ASSESSMENT_BAND_SETS", None) or {}).get(code)


def _check_ruler_type(code: str, ruler_type: str | None) -> str:
    if code == RULER_INSTRUMENT:
        if ruler_type not in RulerType.values:
            raise ValidationError(
                {"ruler_type": "Choose the type of ruler: importance, confidence or readiness (stored with the value)."}
            )
        return ruler_type
    if ruler_type:
        raise ValidationError({"ruler_type": f"A ruler type applies to the readiness ruler only, not to {code}."})
    return ""


def open_safety_alerts(response: AssessmentResponse):
    from notifications.models import Alert

    return Alert.objects.open().about(RESPONSE_OBJECT_TYPE, response.public_id)


@transaction.atomic
def assessment_close(*, response: AssessmentResponse, by: User) -> AssessmentResponse:
    """Close an open response. Refused while a safety alert about it is unacknowledged."""
    response = AssessmentResponse.objects.select_for_update(of=("self",)).get(pk=response.pk)
    if not has_capability(by, response.site_id, "clinical.write"):
        raise PermissionDenied
    if response.is_closed:
        raise ValidationError("This response is already closed.")
    if open_safety_alerts(response).exists():
        raise ValidationError(
            "The safety alert for this response has not been acknowledged. Acknowledge it (with the "
            "action taken) before closing the response."
        )
    before = _response_snapshot(response)
    response.status = ResponseStatus.CLOSED
    response.closed_by = by
    response.closed_at = timezone.now()
    response.save(update_fields=["status", "closed_by", "closed_at", "updated_at"])
    record(
        Action.UPDATE,
        actor=by,
        site=response.site_id,
        patient=response.patient,
        obj=response,
        changes={"before": before, "after": _response_snapshot(response)},
    )
    return response


# --- Placement ----------------------------------------------------------------------------------


def placement_suggestions(patient: Patient) -> dict[str, Any]:
    """Decision support from the latest instrument results (the clinician confirms every rating).

    ``D1``: the higher of the suggestions from the latest CIWA-Ar (``suggest_d1_from_ciwa``) and
    the latest COWS (``suggest_d1_from_cows``, with "on stable MOUD" meaning an active
    buprenorphine or methadone on the medication list). ``imminent_danger``: True when the
    latest C-SSRS screen was at high risk. Each entry names its source response.
    """
    latest = {
        code: patient.assessment_responses.of(code).order_by("-administered_at", "-id").first()
        for code in ("CIWA-Ar", "COWS", "C-SSRS")
    }
    sources: list[dict[str, Any]] = []
    d1: int | None = None
    ciwa, cows, cssrs = latest["CIWA-Ar"], latest["COWS"], latest["C-SSRS"]
    if ciwa is not None and ciwa.total is not None:
        value = rules.suggest_d1_from_ciwa(int(ciwa.total))
        sources.append(_source("D1", value, ciwa, f"CIWA-Ar total {ciwa.total_display}"))
        d1 = value
    if cows is not None and cows.total is not None:
        today = site_today(patient.site)
        on_moud = (
            patient.medications.active_on(today)
            .filter(medication_class=MedicationClass.MOUD, agent__in=["buprenorphine", "methadone"])
            .exists()
        )
        value = rules.suggest_d1_from_cows(int(cows.total), on_stable_moud=on_moud)
        detail = f"COWS total {cows.total_display}" + (" on MOUD" if on_moud else "")
        sources.append(_source("D1", value, cows, detail))
        d1 = value if d1 is None else max(d1, value)
    danger = bool(cssrs and cssrs.imminent_danger)
    if cssrs is not None:
        sources.append(_source("imminent_danger", danger, cssrs, f"C-SSRS screen: {cssrs.band_label}"))
    return {"D1": d1, "imminent_danger": danger, "sources": sources}


def _source(target: str, value, response: AssessmentResponse, detail: str) -> dict[str, Any]:
    return {
        "target": target,
        "value": value,
        "instrument": response.instrument,
        "response": str(response.public_id),
        "administered_at": response.administered_at.isoformat(),
        "detail": detail,
    }


PLACEMENT_EDITABLE = [
    "placement_type",
    *RATING_FIELDS,
    *NOTE_FIELDS,
    "imminent_danger",
    "actual_level",
    "override_reason",
    "override_note",
    "recovery_residence",
    "housing_plan",
]


def _placement_snapshot(placement: Placement) -> dict[str, Any]:
    snap = {name: getattr(placement, name) for name in PLACEMENT_EDITABLE}
    snap.update(
        {
            "status": placement.status,
            "rule_set": placement.rule_set,
            "recommended_level": placement.recommended_level,
            "recommendation": placement.recommendation,
            "episode": str(placement.episode.public_id) if placement.episode_id else None,
            "signed_by": placement.signed_by.email if placement.signed_by_id else None,
            "signed_at": placement.signed_at,
            "cosign_required": placement.cosign_required,
            "cosigned_by": placement.cosigned_by.email if placement.cosigned_by_id else None,
            "cosigned_at": placement.cosigned_at,
        }
    )
    return snap


def _recompute(placement: Placement) -> None:
    """Refresh the stored recommendation of a draft (drafts only; signed rows never change).

    The rule set is looked up on the module at call time, so a configured table applies to
    new decisions while every signed placement keeps the recommendation it was decided with.
    """
    if not placement.fully_rated:
        placement.recommendation, placement.rule_set, placement.recommended_level = {}, "", ""
        return
    try:
        rec = rules.recommend(placement.ratings, placement.imminent_danger, rule_set=rules.IOP_RS_1)
    except ValidationError as exc:
        raise ValidationError({f"d{k[1]}_rating" if k.startswith("D") else k: v for k, v in exc.message_dict.items()})
    placement.recommendation = rec.to_dict()
    placement.rule_set = rec.rule_set
    placement.recommended_level = rec.treatment_level


def _apply(placement: Placement, fields: dict[str, Any]) -> None:
    unknown = set(fields) - set(PLACEMENT_EDITABLE)
    if unknown:
        raise TypeError(f"Unknown placement fields: {', '.join(sorted(unknown))}")
    for name, value in fields.items():
        if name in NOTE_FIELDS or name in ("override_note", "housing_plan"):
            value = (value or "").strip()
        elif name == "override_reason":
            value = rules.LEGACY_OVERRIDE_REASONS.get(value, value or "")
        elif name == "recovery_residence":
            value = bool(value)
        setattr(placement, name, value)


def _decision_errors(placement: Placement) -> dict[str, str]:
    """What the decided level still lacks against the stored recommendation (DOMAIN.md §3.1).

    Rule 6: an override (``is_override``: another level, or plain IOP while a withdrawal step is
    attached, rule 2) needs a reason code and a note. Rule 7: "2.1 services plus a recovery
    residence" is Level 2.1 with reason ``CLINICAL_JUDGMENT`` and a housing plan, only where
    D6 = 3 is the only reason for a higher level.
    """
    errors: dict[str, str] = {}
    if placement.is_override:
        if not placement.override_reason:
            if rules.holds_back_plain_iop(placement.recommendation, placement.actual_level):
                errors["override_reason"] = (
                    f"The recommendation attaches withdrawal management "
                    f"({placement.recommendation['withdrawal_step']}) and holds back plain IOP until "
                    "D1 <= 1: choose a reason to admit to Level 2.1 now."
                )
            else:
                errors["override_reason"] = (
                    f"The actual level ({placement.actual_level}) differs from the recommended level "
                    f"({placement.recommended_level}): choose a reason."
                )
        if not placement.override_note.strip():
            errors["override_note"] = "Explain the override in a few words."
    if placement.recovery_residence:
        if not rules.recovery_residence_allowed(placement.ratings, placement.imminent_danger):
            errors["recovery_residence"] = (
                "2.1 services plus a recovery residence is allowed only where D6 = 3 is the only reason "
                "for a level above 2.1."
            )
        if placement.actual_level != rules.PLAIN_IOP:
            errors["actual_level"] = "With a recovery residence the actual level is 2.1 (IOP services)."
        if placement.override_reason != "CLINICAL_JUDGMENT":
            errors["override_reason"] = "A recovery residence is an override with the reason Clinical judgment."
        if not placement.housing_plan:
            errors["housing_plan"] = "Link the housing plan for the recovery residence."
    return errors


@transaction.atomic
def placement_create(
    *, patient: Patient, by: User, placement_type: str, episode: Episode | None = None, **fields
) -> Placement:
    """Start a draft placement with decision-support suggestions attached.

    The episode defaults to the open one; an initial placement may have none (decided at
    intake, before admission), the other types need an open episode.
    """
    if not has_capability(by, patient.site_id, "clinical.write"):
        raise PermissionDenied
    episode = _check_episode(patient, episode)
    if episode is None and placement_type != PlacementType.INITIAL:
        raise ValidationError(
            {"placement_type": "Continued-stay, transfer and discharge placements need an open episode."}
        )
    placement = Placement(
        patient=patient,
        site_id=patient.site_id,
        episode=episode,
        placement_type=placement_type,
        created_by=by,
        suggestions=placement_suggestions(patient),
    )
    _apply(placement, fields)
    _recompute(placement)
    placement.full_clean()
    placement.save()
    record(
        Action.CREATE,
        actor=by,
        site=patient.site_id,
        patient=patient,
        obj=placement,
        changes={"before": {}, "after": _placement_snapshot(placement)},
    )
    return placement


def _locked_draft(placement: Placement) -> Placement:
    placement = (
        Placement.objects.select_for_update(of=("self",)).select_related("patient", "signed_by").get(pk=placement.pk)
    )
    if not placement.is_draft:
        raise ValidationError("This placement is signed and cannot be changed. Record a new placement instead.")
    return placement


@transaction.atomic
def placement_update(*, placement: Placement, by: User, **fields) -> Placement:
    """Change a draft; the recommendation is recomputed. Signed placements are refused."""
    if not has_capability(by, placement.site_id, "clinical.write"):
        raise PermissionDenied
    placement = _locked_draft(placement)
    before = _placement_snapshot(placement)
    _apply(placement, fields)
    if placement.placement_type != PlacementType.INITIAL and placement.episode_id is None:
        raise ValidationError(
            {"placement_type": "Continued-stay, transfer and discharge placements need an open episode."}
        )
    _recompute(placement)
    placement.full_clean()
    placement.save(update_fields=[*PLACEMENT_EDITABLE, "recommendation", "rule_set", "recommended_level", "updated_at"])
    after = _placement_snapshot(placement)
    record(
        Action.UPDATE,
        actor=by,
        site=placement.site_id,
        patient=placement.patient,
        obj=placement,
        changes={
            "before": {k: v for k, v in before.items() if after[k] != v},
            "after": {k: v for k, v in after.items() if before[k] != v},
        },
    )
    return placement


@transaction.atomic
def placement_decide(
    *,
    placement: Placement,
    by: User,
    actual_level: str,
    override_reason: str = "",
    override_note: str = "",
    recovery_residence: bool = False,
    housing_plan: str = "",
) -> Placement:
    """Record the level of care actually decided on a draft (DOMAIN.md §3.1 rules 6 and 7).

    The six ratings must be in (the decision is made against the stored recommendation). An
    actual level that differs from the recommended one is an override: it needs a reason code
    and a note, and under ``PLACEMENT_COSIGN`` it may make the signature await a supervisor.
    Plain Level 2.1 while the recommendation attaches a withdrawal step is an override too
    (rule 2). ``recovery_residence`` records "2.1 services plus a recovery residence" (rule 7:
    CLINICAL_JUDGMENT and a ``housing_plan``, only where D6 = 3 is the only reason for more).
    When the decision follows the recommendation, any earlier override reason and note are
    cleared. Signing remains a separate step (``placement_sign``).
    """
    if not has_capability(by, placement.site_id, "clinical.write"):
        raise PermissionDenied
    placement = _locked_draft(placement)
    errors: dict[str, str] = {}
    for n, value in placement.ratings.items():
        if value is None:
            errors[f"d{n}_rating"] = f"D{n}: rate this dimension (0-4) before deciding the level of care."
    if actual_level not in {code for code, _ in Placement._meta.get_field("actual_level").choices}:
        errors["actual_level"] = "Choose the level of care actually decided."
    if errors:
        raise ValidationError(errors)
    before = _placement_snapshot(placement)
    _recompute(placement)
    _apply(
        placement,
        {
            "actual_level": actual_level,
            "override_reason": override_reason,
            "override_note": override_note,
            "recovery_residence": recovery_residence,
            "housing_plan": housing_plan if recovery_residence else "",
        },
    )
    if not placement.is_override:
        placement.override_reason, placement.override_note = "", ""
    elif placement.override_reason not in {code for code, _ in rules.OVERRIDE_REASONS}:
        placement.override_reason = ""  # an unknown code is no reason: reported as missing below
    errors = _decision_errors(placement)
    if errors:
        raise ValidationError(errors)
    placement.full_clean()
    placement.save(
        update_fields=[
            "actual_level",
            "override_reason",
            "override_note",
            "recovery_residence",
            "housing_plan",
            "recommendation",
            "rule_set",
            "recommended_level",
            "updated_at",
        ]
    )
    after = _placement_snapshot(placement)
    record(
        Action.UPDATE,
        actor=by,
        site=placement.site_id,
        patient=placement.patient,
        obj=placement,
        reason="decision",
        changes={
            "before": {k: v for k, v in before.items() if after[k] != v},
            "after": {k: v for k, v in after.items() if before[k] != v},
        },
    )
    return placement


def cosign_policy() -> str:
    """``PLACEMENT_COSIGN``: "never", "overrides" (default) or "always".

    With "overrides", a placement whose actual level differs from the recommendation awaits a
    supervisor's co-sign; with "always", every placement does. A signer who holds
    ``placement.override`` (a clinical supervisor) never needs a co-sign.
    """
    policy = getattr(settings, "PLACEMENT_COSIGN", "overrides")
    if policy not in ("never", "overrides", "always"):
        raise ValueError(f"PLACEMENT_COSIGN must be never, overrides or always, not {policy!r}.")
    return policy


def cosign_needed(placement: Placement, by: User) -> bool:
    if has_capability(by, placement.site_id, "placement.override"):
        return False
    policy = cosign_policy()
    return policy == "always" or (policy == "overrides" and placement.is_override)


@transaction.atomic
def placement_sign(*, placement: Placement, by: User) -> Placement:
    """Sign a draft: the recommendation is computed one last time and frozen with it.

    Requires all six ratings and an actual level; an actual level that differs from the
    recommended one needs an override reason and a note. Afterwards the placement is signed, or
    awaits a supervisor's co-sign (``cosign_needed``). Either way it is immutable.
    """
    if not has_capability(by, placement.site_id, "clinical.write"):
        raise PermissionDenied
    placement = _locked_draft(placement)
    before = _placement_snapshot(placement)
    errors: dict[str, str] = {}
    for n, value in placement.ratings.items():
        if value is None:
            errors[f"d{n}_rating"] = f"D{n}: rate this dimension (0-4) before signing."
    if not placement.actual_level:
        errors["actual_level"] = "Choose the level of care actually decided."
    if errors:
        raise ValidationError(errors)
    _recompute(placement)
    errors = _decision_errors(placement)
    if errors:
        raise ValidationError(errors)
    placement.signed_by = by
    placement.signed_at = timezone.now()
    placement.cosign_required = cosign_needed(placement, by)
    placement.status = PlacementStatus.AWAITING_COSIGN if placement.cosign_required else PlacementStatus.SIGNED
    placement.full_clean()
    placement.save(
        update_fields=[
            "recommendation",
            "rule_set",
            "recommended_level",
            "signed_by",
            "signed_at",
            "cosign_required",
            "status",
            "updated_at",
        ]
    )
    record(
        Action.SIGN,
        actor=by,
        site=placement.site_id,
        patient=placement.patient,
        obj=placement,
        changes={"before": before, "after": _placement_snapshot(placement)},
    )
    if placement.status == PlacementStatus.SIGNED:
        _review_plans_on_level_change(placement, by)
    return placement


def _review_plans_on_level_change(placement: Placement, by: User) -> None:
    """DOMAIN.md §7 "Review whenever the level of care changes": a continued-stay or transfer
    placement that takes effect (signed, or co-signed) at another level than the episode's
    current one — its last placement in effect, else its level at admission (3rd-edition codes,
    the placement's own) — makes both plans' review due now."""
    episode = placement.episode
    if episode is None or episode.discharge_date is not None or not placement.actual_level:
        return
    if placement.placement_type not in (PlacementType.CONTINUED_STAY, PlacementType.TRANSFER):
        return
    current = (
        Placement.objects.filter(episode=episode, status=PlacementStatus.SIGNED)
        .exclude(pk=placement.pk)
        .order_by("-signed_at", "-pk")
        .values_list("actual_level", flat=True)
        .first()
    )
    if current is None and episode.level_of_care_edition == LocEdition.THIRD:
        current = episode.level_of_care
    if current and current != placement.actual_level:
        plan_review_request(
            episode=episode,
            reason=TriggerReason.LEVEL_OF_CARE_CHANGE,
            by=by,
            note=f"Placement: level of care {current} → {placement.actual_level}.",
        )


@transaction.atomic
def placement_cosign(*, placement: Placement, by: User) -> Placement:
    """A supervisor (``placement.override`` or ``note.cosign``) co-signs a placement awaiting it.
    The signer cannot co-sign their own placement."""
    if not (
        has_capability(by, placement.site_id, "placement.override")
        or has_capability(by, placement.site_id, "note.cosign")
    ):
        raise PermissionDenied
    placement = (
        Placement.objects.select_for_update(of=("self",)).select_related("patient", "signed_by").get(pk=placement.pk)
    )
    if placement.status != PlacementStatus.AWAITING_COSIGN:
        raise ValidationError("This placement is not awaiting a co-sign.")
    if placement.signed_by_id == by.pk:
        raise ValidationError("You signed this placement; another supervisor co-signs it.")
    before = _placement_snapshot(placement)
    placement.cosigned_by = by
    placement.cosigned_at = timezone.now()
    placement.status = PlacementStatus.SIGNED
    placement.save(update_fields=["status", "cosigned_by", "cosigned_at", "updated_at"])
    record(
        Action.SIGN,
        actor=by,
        site=placement.site_id,
        patient=placement.patient,
        obj=placement,
        reason="co-sign",
        changes={"before": before, "after": _placement_snapshot(placement)},
    )
    _review_plans_on_level_change(placement, by)
    return placement


# --- Medications --------------------------------------------------------------------------------

MEDICATION_FIELDS = [
    "name",
    "medication_class",
    "agent",
    "formulation",
    "dose",
    "start_date",
    "stop_date",
    "prescriber",
    "prescriber_name",
    "otp_name",
    "dispensed_or_prescribed",
    "notes",
]


def _medication_snapshot(medication: Medication) -> dict[str, Any]:
    snap = {name: getattr(medication, name) for name in MEDICATION_FIELDS}
    snap["prescriber"] = medication.prescriber.email if medication.prescriber_id else None
    return snap


def _check_prescriber(patient: Patient, prescriber: User | None) -> None:
    if prescriber is not None and not prescriber.memberships.filter(site_id=patient.site_id, is_active=True).exists():
        raise ValidationError({"prescriber": "The prescriber on staff must be a member of this site."})


@transaction.atomic
def medication_add(*, patient: Patient, by: User, **fields) -> Medication:
    """Add a medication to the patient's list. ``Medication.clean`` refuses, per field, what
    DOMAIN.md §9 rules out: an agent outside its class, no prescriber (or both kinds), methadone
    MOUD other than via an OTP, naloxone without "dispensed or prescribed"."""
    if not has_capability(by, patient.site_id, "clinical.write"):
        raise PermissionDenied
    unknown = set(fields) - set(MEDICATION_FIELDS)
    if unknown:
        raise TypeError(f"Unknown medication fields: {', '.join(sorted(unknown))}")
    if fields.get("medication_class") == MedicationClass.NALOXONE and "agent" not in fields:
        fields["agent"] = Agent.NALOXONE  # the only agent of the class
    _check_prescriber(patient, fields.get("prescriber"))
    medication = Medication(patient=patient, site_id=patient.site_id, created_by=by, **fields)
    medication.full_clean()
    medication.save()
    record(
        Action.CREATE,
        actor=by,
        site=patient.site_id,
        patient=patient,
        obj=medication,
        changes={"before": {}, "after": _medication_snapshot(medication)},
    )
    return medication


@transaction.atomic
def medication_update(*, medication: Medication, by: User, **fields) -> Medication:
    """Change a medication (a dose, the stop date). Records only what changed."""
    if not has_capability(by, medication.site_id, "clinical.write"):
        raise PermissionDenied
    unknown = set(fields) - set(MEDICATION_FIELDS)
    if unknown:
        raise TypeError(f"Unknown medication fields: {', '.join(sorted(unknown))}")
    medication = (
        Medication.objects.select_for_update(of=("self",)).select_related("patient", "prescriber").get(pk=medication.pk)
    )
    _check_prescriber(medication.patient, fields.get("prescriber"))
    before = _medication_snapshot(medication)
    for name, value in fields.items():
        setattr(medication, name, value)
    medication.full_clean()
    after = _medication_snapshot(medication)
    changed = [name for name in MEDICATION_FIELDS if before[name] != after[name]]
    if not changed:
        return medication
    medication.save(update_fields=[*changed, "updated_at"])
    record(
        Action.UPDATE,
        actor=by,
        site=medication.site_id,
        patient=medication.patient,
        obj=medication,
        changes={"before": {k: before[k] for k in changed}, "after": {k: after[k] for k in changed}},
    )
    return medication


# --- Toxicology ---------------------------------------------------------------------------------

SPECIMEN_FIELDS = [
    "specimen_type",
    "collected_at",
    "observed",
    "forensic",
    "chain_of_custody_id",
    "creatinine",
    "specific_gravity",
    "ph",
    "nitrite",
    "foreign_substance",
]
RESULT_FIELDS = ["analyte", "analyte_other", "method", "loinc_code", "result", "concentration", "cutoff", "unit"]


def _specimen_snapshot(specimen: Specimen) -> dict[str, Any]:
    snap = {name: getattr(specimen, name) for name in SPECIMEN_FIELDS}
    snap.update(
        {
            "validity": specimen.validity,
            "collected_by": specimen.collected_by.email if specimen.collected_by_id else None,
            "reviewed_by": specimen.reviewed_by.email if specimen.reviewed_by_id else None,
            "reviewed_at": specimen.reviewed_at,
            "discussed_with_patient": specimen.discussed_with_patient,
            "clinical_response": specimen.clinical_response,
        }
    )
    return snap


@transaction.atomic
def specimen_record(
    *, patient: Patient, by: User, collected_by: User | None = None, episode: Episode | None = None, **fields
) -> Specimen:
    """Record a collected specimen; its validity is computed from the validity-test values."""
    if not has_capability(by, patient.site_id, "clinical.write"):
        raise PermissionDenied
    unknown = set(fields) - set(SPECIMEN_FIELDS)
    if unknown:
        raise TypeError(f"Unknown specimen fields: {', '.join(sorted(unknown))}")
    collected_at = fields.get("collected_at")
    if collected_at and collected_at > timezone.now() + FUTURE_TOLERANCE:
        raise ValidationError({"collected_at": "The collection time is in the future."})
    specimen = Specimen(
        patient=patient,
        site_id=patient.site_id,
        episode=_check_episode(patient, episode),
        collected_by=collected_by or by,
        **fields,
    )
    specimen.validity = specimen.compute_validity()
    specimen.full_clean()
    specimen.save()
    record(
        Action.CREATE,
        actor=by,
        site=patient.site_id,
        patient=patient,
        obj=specimen,
        changes={"before": {}, "after": _specimen_snapshot(specimen)},
    )
    return specimen


def active_agents(patient: Patient, day) -> set[str]:
    """Agents of every medication on the patient's list active on ``day``, whatever its class
    (buprenorphine for pain explains buprenorphine as MOUD does). "Other" (an unlisted drug)
    explains nothing and is left out."""
    return set(patient.medications.active_on(day).exclude(agent=Agent.OTHER).values_list("agent", flat=True))


@transaction.atomic
def analyte_result_add(*, specimen: Specimen, by: User, **fields) -> AnalyteResult:
    """Add one analyte's result, with its cut-off (required for a negative or positive). Whether
    it is expected is judged against the whole medication list active on the collection day
    (site time), and the basis is stored with it.
    A positive result never changes the patient's episode: results inform care, they do not
    discharge anyone."""
    if not has_capability(by, specimen.site_id, "clinical.write"):
        raise PermissionDenied
    unknown = set(fields) - set(RESULT_FIELDS)
    if unknown:
        raise TypeError(f"Unknown result fields: {', '.join(sorted(unknown))}")
    specimen = Specimen.objects.select_related("patient", "site").get(pk=specimen.pk)
    day = timezone.localtime(specimen.collected_at, specimen.site.zone).date()
    agents = active_agents(specimen.patient, day)
    result = AnalyteResult(specimen=specimen, recorded_by=by, **fields)
    result.expectation = expectation_for(analyte=result.analyte, result=result.result, agents=agents)
    result.expectation_basis = sorted(agents)
    result.full_clean()
    result.save()
    record(
        Action.CREATE,
        actor=by,
        site=specimen.site_id,
        patient=specimen.patient,
        obj=result,
        changes={
            "before": {},
            "after": {
                **{name: getattr(result, name) for name in RESULT_FIELDS},
                "specimen": str(specimen.public_id),
                "expectation": result.expectation,
                "expectation_basis": result.expectation_basis,
            },
        },
    )
    return result


@transaction.atomic
def specimen_review(
    *, specimen: Specimen, by: User, discussed_with_patient: bool | None, clinical_response: str
) -> Specimen:
    """Record the clinician's review: discussed with the patient (yes/no) and the response."""
    if not has_capability(by, specimen.site_id, "clinical.write"):
        raise PermissionDenied
    specimen = (
        Specimen.objects.select_for_update(of=("self",)).select_related("patient", "collected_by").get(pk=specimen.pk)
    )
    if specimen.is_reviewed:
        raise ValidationError("This specimen was already reviewed.")
    errors: dict[str, str] = {}
    if discussed_with_patient is None:
        errors["discussed_with_patient"] = "Say whether the result was discussed with the patient."
    response = (clinical_response or "").strip()
    if not response:
        errors["clinical_response"] = "Describe the clinical response (for example, plan adjusted, MOUD reviewed)."
    if errors:
        raise ValidationError(errors)
    before = _specimen_snapshot(specimen)
    specimen.reviewed_by = by
    specimen.reviewed_at = timezone.now()
    specimen.discussed_with_patient = discussed_with_patient
    specimen.clinical_response = response
    specimen.save(
        update_fields=["reviewed_by", "reviewed_at", "discussed_with_patient", "clinical_response", "updated_at"]
    )
    record(
        Action.UPDATE,
        actor=by,
        site=specimen.site_id,
        patient=specimen.patient,
        obj=specimen,
        changes={"before": before, "after": _specimen_snapshot(specimen)},
    )
    return specimen
