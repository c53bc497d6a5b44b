"""Raising and acknowledging clinician alerts. Every write is audited with before/after.

Alerts are delivered in the application (home page, navigation badge, alert list). A safety
alert also sends each recipient a PHI-free email through the outbox ("You have a new urgent
alert… Sign in to review", ``notifications.staff``); it is never delivered only by email or SMS
(DOMAIN.md §4.1).
"""

from __future__ import annotations

from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from audit.models import Action
from audit.services import record
from patients.models import Patient
from users.models import Membership, Role, Site, User
from users.permissions import has_capability

from .models import TITLES, Alert, AlertAction, AlertKind, Severity


def _snapshot(alert: Alert) -> dict:
    return {
        "kind": alert.kind,
        "severity": alert.severity,
        "title_code": alert.title_code,
        "object_type": alert.object_type,
        "object_id": alert.object_id,
        "acknowledged_by": alert.acknowledged_by.email if alert.acknowledged_by_id else None,
        "acknowledged_at": alert.acknowledged_at,
        "action_taken": alert.action_taken,
        "action_note": alert.action_note,
    }


def responsible_clinicians(*, site: Site, patient: Patient | None = None) -> list[User]:
    """Who a patient's clinical alert goes to: the patient's primary counselor (and the open
    episode's, when different) plus every active clinical supervisor at the site.

    Guarantee: never empty while the site has any active counselor or supervisor: when the
    patient has no counselor and the site no supervisor, every counselor at the site is told.
    """
    counselor_ids: set[int] = set()
    if patient is not None:
        if patient.primary_counselor_id:
            counselor_ids.add(patient.primary_counselor_id)
        counselor_ids.update(
            patient.episodes.open().exclude(primary_counselor=None).values_list("primary_counselor_id", flat=True)
        )
    members = Membership.objects.active().filter(site=site, role__in=[Role.CLINICIAN, Role.SUPERVISOR])
    # Counselors count only while they still work at the site.
    ids = set(members.filter(user_id__in=counselor_ids).values_list("user_id", flat=True))
    ids |= set(members.filter(role=Role.SUPERVISOR).values_list("user_id", flat=True))
    if not ids:
        ids = set(members.values_list("user_id", flat=True))
    return list(User.objects.filter(pk__in=ids, is_active=True))


@transaction.atomic
def alert_raise(
    *,
    site: Site,
    kind: str,
    title_code: str,
    severity: str = Severity.NORMAL,
    patient: Patient | None = None,
    obj=None,
    object_type: str = "",
    object_id: str = "",
    recipients: Iterable[User] | None = None,
    by: User | None = None,
) -> Alert:
    """Raise an alert, or return the one already raised for the same record and title.

    ``obj`` fills ``object_type``/``object_id`` from a model instance (its public id).
    ``recipients`` defaults to ``responsible_clinicians(site=site, patient=patient)``.
    Guarantees: at most one alert per (record, title); the alert is audited (CREATE).
    """
    if kind not in AlertKind.values:
        raise ValidationError({"kind": f"Unknown alert kind {kind!r}."})
    if severity not in Severity.values:
        raise ValidationError({"severity": f"Unknown severity {severity!r}."})
    if obj is not None:
        object_type = object_type or obj._meta.label
        object_id = object_id or str(getattr(obj, "public_id", None) or obj.pk)
    object_id = str(object_id or "")
    if object_id:
        existing = Alert.objects.about(object_type, object_id).filter(title_code=title_code).first()
        if existing is not None:
            return existing
    alert = Alert(
        site=site,
        patient=patient,
        kind=kind,
        severity=severity,
        title_code=title_code,
        object_type=object_type,
        object_id=object_id,
        raised_by=by,
    )
    alert.full_clean(exclude=["recipients"])
    try:
        with transaction.atomic():
            alert.save()
    except IntegrityError:
        # Raised concurrently by another request for the same record: keep that one.
        return Alert.objects.about(object_type, object_id).get(title_code=title_code)
    people = list(recipients) if recipients is not None else responsible_clinicians(site=site, patient=patient)
    alert.recipients.set(people)
    record(
        Action.CREATE,
        actor=by,
        site=site,
        patient=patient,
        obj=alert,
        changes={
            "before": {},
            "after": {**_snapshot(alert), "recipients": sorted(str(u.public_id) for u in people)},
        },
    )
    if alert.kind == AlertKind.SAFETY:
        # In the application first (above), then a PHI-free email that one is waiting.
        from .staff import alert_notify_urgent

        alert_notify_urgent(alert=alert, recipients=people)
    return alert


def site_reviewers(site: Site) -> list[User]:
    """The active clinical supervisors and program directors of a site (who review break-glass
    access and no-consent disclosures); when the site has none, its counselors, so the alert
    always reaches someone clinical there."""
    members = Membership.objects.active().filter(site=site, user__is_active=True)
    ids = set(members.filter(role__in=[Role.SUPERVISOR, Role.DIRECTOR]).values_list("user_id", flat=True))
    if not ids:
        ids = set(members.filter(role=Role.CLINICIAN).values_list("user_id", flat=True))
    return list(User.objects.filter(pk__in=ids).order_by("pk"))


TITLES.setdefault("EMERGENCY_ACCESS", "Emergency (break-glass) access to a patient's record: review it")
TITLES.setdefault("NO_CONSENT_DISCLOSURE", "Records released without consent (Part 2 exception): review it")


def _alert_site_reviewers(
    *, kind: str, title_code: str, obj, site, patient, by, template_key: str, spare_actor: bool
) -> Alert:
    """A high-severity alert about ``obj`` to the site's reviewers (``site_reviewers``) and a
    PHI-free email to each. ``spare_actor`` leaves out the person who acted, unless nobody
    else is there to review."""
    from .staff import staff_email_notice

    people = site_reviewers(site)
    if spare_actor:
        people = [u for u in people if u.pk != by.pk] or people
    alert = alert_raise(
        site=site,
        kind=kind,
        severity=Severity.HIGH,
        title_code=title_code,
        patient=patient,
        obj=obj,
        recipients=people,
        by=by,
    )
    staff_email_notice(alert=alert, recipients=people, template_key=template_key)
    return alert


@transaction.atomic
def emergency_access_alert(*, access) -> Alert:
    """Tell the supervisors and directors of the patient's site that someone broke the glass:
    an in-app alert (high severity, linked to the review page) and a PHI-free email each
    ("someone used emergency access to a record at <site>; sign in to review")."""
    return _alert_site_reviewers(
        kind=AlertKind.EMERGENCY_ACCESS,
        title_code="EMERGENCY_ACCESS",
        obj=access,
        site=access.site,
        patient=access.patient,
        by=access.user,
        template_key="staff_emergency_access",
        spare_actor=False,
    )


@transaction.atomic
def no_consent_disclosure_alert(*, disclosure) -> Alert:
    """Tell the supervisors and directors of the patient's site (but not the person who made it,
    unless nobody else is there) that records left without consent: an in-app alert linked to
    the disclosure log and a PHI-free email each."""
    return _alert_site_reviewers(
        kind=AlertKind.NO_CONSENT_DISCLOSURE,
        title_code="NO_CONSENT_DISCLOSURE",
        obj=disclosure,
        site=disclosure.site,
        patient=disclosure.patient,
        by=disclosure.disclosed_by,
        template_key="staff_no_consent_disclosure",
        spare_actor=True,
    )


@transaction.atomic
def alerts_close_about(*, object_type: str, object_id: str, by: User, note: str) -> int:
    """Acknowledge the open alerts about a record that its own review has settled (an emergency
    access reviewed, a disclosure reviewed): action "reviewed", with ``note``. The caller has
    checked that ``by`` may review that record. Audited like any acknowledgement."""
    closed = 0
    for alert in Alert.objects.open().about(object_type, object_id).select_for_update(of=("self",)):
        _acknowledge(alert, by=by, action_taken=AlertAction.REVIEWED, action_note=note)
        closed += 1
    return closed


def _acknowledge(alert: Alert, *, by: User, action_taken: str, action_note: str) -> Alert:
    before = _snapshot(alert)
    alert.acknowledged_by = by
    alert.acknowledged_at = timezone.now()
    alert.action_taken = action_taken
    alert.action_note = action_note
    alert.save(update_fields=["acknowledged_by", "acknowledged_at", "action_taken", "action_note", "updated_at"])
    record(
        Action.UPDATE,
        actor=by,
        site=alert.site_id,
        patient=alert.patient,
        obj=alert,
        changes={"before": before, "after": _snapshot(alert)},
    )
    return alert


@transaction.atomic
def alert_acknowledge(*, alert: Alert, by: User, action_taken: str, action_note: str) -> Alert:
    """Acknowledge an open alert: who (``by``), when (now), what was done and a note.

    Raises ValidationError (keyed ``action_taken``/``action_note``) when the action or the note
    is missing, and when the alert was already acknowledged. ``by`` must hold
    ``clinical.write`` at the alert's site. Audited (UPDATE, before/after).
    """
    alert = Alert.objects.select_for_update(of=("self",)).select_related("acknowledged_by").get(pk=alert.pk)
    if not has_capability(by, alert.site_id, "clinical.write"):
        raise ValidationError("Only a counselor or clinical supervisor at this site can acknowledge an alert.")
    if not alert.is_open:
        raise ValidationError(
            f"This alert was already acknowledged by {alert.acknowledged_by} "
            f"on {timezone.localtime(alert.acknowledged_at):%Y-%m-%d %H:%M}."
        )
    errors: dict[str, str] = {}
    if action_taken not in AlertAction.values:
        errors["action_taken"] = "Choose the action you took."
    note = (action_note or "").strip()
    if not note:
        errors["action_note"] = "Describe what you did (an alert is never dismissed without a note)."
    if errors:
        raise ValidationError(errors)
    return _acknowledge(alert, by=by, action_taken=action_taken, action_note=note)
