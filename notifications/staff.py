"""Staff notices: a PHI-free email for urgent (safety) alerts, due-work alerts, the daily digest.

A safety flag is raised in the application first (the ``Alert``, DOMAIN.md §4.1 item 9: never
only by email or SMS); ``alert_notify_urgent`` then tells each recipient by email that *an*
urgent alert is waiting, with a sign-in link and nothing clinical. Staff have no phone number on
their account yet, so there is no SMS copy.

No-show and absence follow-ups are raised by ``sessions`` as alerts already. The hourly
``staff_alerts_sweep`` adds in-app tasks (``REVIEW_DUE`` alerts, low severity, for the patient's
counselor or the note's author) for notes unsigned ``NOTE_UNSIGNED_ALERT_HOURS`` after the
session ended, and for treatment plans and re-assessments that are overdue. Those apps sit above
this one, so they are read through their selectors only when installed (``apps.is_installed``)
and imported inside the functions.

The digest (one email per counselor and supervisor per site and local day, at
``STAFF_DIGEST_HOUR`` site time) carries counts and a link; the counts are computed at send time.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.apps import apps
from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from users.models import Membership, Role, Site

from .models import TITLES, Alert, AlertKind, Channel, OutboundMessage, Severity
from .outbox import Skip, context_builder, enqueue

logger = logging.getLogger(__name__)

TITLES.setdefault("NOTE_UNSIGNED", "A progress note is still unsigned")
TITLES.setdefault("PLAN_OVERDUE", "A treatment or relapse-prevention plan is overdue")
TITLES.setdefault("REASSESSMENT_OVERDUE", "A re-assessment is overdue")


def alert_notify_urgent(*, alert: Alert, recipients) -> list[OutboundMessage]:
    """One PHI-free email per recipient with an address, sent as soon as the alert commits."""
    return staff_email_notice(alert=alert, recipients=recipients, template_key="staff_urgent_alert", kind="urgent")


def staff_email_notice(*, alert: Alert, recipients, template_key: str, kind: str = "notice") -> list[OutboundMessage]:
    """One PHI-free email per recipient with an address, telling them an alert waits in the
    application (``template_key`` says what kind); sent as soon as the alert commits."""
    messages = []
    for user in recipients:
        if not user.is_active or not user.email:
            continue
        message, _ = enqueue(
            site=alert.site,
            channel=Channel.EMAIL,
            template_key=template_key,
            cause=f"alert:{alert.public_id}",
            kind=kind,
            staff=user,
            context={"alert": alert.pk},
            dispatch_now=True,
        )
        messages.append(message)
    return messages


# --- Due work as in-app tasks -------------------------------------------------------------------


def _raise(**kwargs) -> Alert:
    from .services import alert_raise

    return alert_raise(kind=AlertKind.REVIEW_DUE, severity=Severity.LOW, **kwargs)


def _unsigned_notes(now: datetime) -> int:
    if not apps.is_installed("sessions"):
        return 0
    from sessions.models import GroupNote, NoteStatus, ProgressNote

    cutoff = now - timedelta(hours=settings.NOTE_UNSIGNED_ALERT_HOURS)
    raised = 0
    progress = ProgressNote.objects.filter(status=NoteStatus.DRAFT, session__ends_at__lt=cutoff).select_related(
        "site", "patient", "author"
    )
    for note in progress:
        with transaction.atomic():
            _raise(site=note.site, patient=note.patient, title_code="NOTE_UNSIGNED", obj=note, recipients=[note.author])
        raised += 1
    for note in GroupNote.objects.filter(status=NoteStatus.DRAFT, ends_at__lt=cutoff).select_related("site", "author"):
        with transaction.atomic():
            _raise(site=note.site, title_code="NOTE_UNSIGNED", obj=note, recipients=[note.author])
        raised += 1
    return raised


def _counselor_of(episode):
    return episode.primary_counselor or episode.patient.primary_counselor


def _overdue_plans(site: Site, today) -> int:
    if not apps.is_installed("plans"):
        return 0
    from plans.selectors import plans_due

    raised = 0
    for due in plans_due([site.pk], today):
        if not due.overdue:
            continue
        counselor = _counselor_of(due.episode)
        with transaction.atomic():
            _raise(
                site=site,
                patient=due.episode.patient,
                title_code="PLAN_OVERDUE",
                object_type="plans.PlanDue",
                # "treatment_plan" → "tp": the id (≤ 64 characters) must keep the due date.
                object_id=f"{due.episode.public_id}:{''.join(w[0] for w in due.kind.split('_')[:2])}:{due.due_on}",
                recipients=[counselor] if counselor and counselor.is_active else None,
            )
        raised += 1
    return raised


def _overdue_assessments(site: Site, today) -> int:
    if not apps.is_installed("assessments"):
        return 0
    from assessments.selectors import assessments_due

    raised = 0
    for item in assessments_due([site.pk], today):
        if item.due_on >= today:
            continue
        counselor = _counselor_of(item.episode)
        with transaction.atomic():
            _raise(
                site=site,
                patient=item.patient,
                title_code="REASSESSMENT_OVERDUE",
                object_type="assessments.Due",
                object_id=f"{item.patient.public_id}:{item.slug[:12]}:{item.due_on}",
                recipients=[counselor] if counselor and counselor.is_active else None,
            )
        raised += 1
    return raised


def staff_alerts_sweep(*, now: datetime | None = None) -> dict[str, int]:
    """Raise the due-work alerts; each is raised once per record and due date (safe to rerun)."""
    from patients.models import site_today

    now = now or timezone.now()
    totals = {"notes": _unsigned_notes(now), "plans": 0, "assessments": 0}
    for site in Site.objects.filter(is_active=True):
        today = site_today(site)
        totals["plans"] += _overdue_plans(site, today)
        totals["assessments"] += _overdue_assessments(site, today)
    return totals


# --- Daily digest -------------------------------------------------------------------------------


def digest_plan(*, now: datetime | None = None, force: bool = False) -> int:
    """Enqueue today's digest for every counselor and supervisor at each site whose local hour is
    ``STAFF_DIGEST_HOUR`` (run hourly by beat; ``force`` ignores the hour). Idempotent per
    person, site and local date."""
    now = now or timezone.now()
    planned = 0
    for site in Site.objects.filter(is_active=True):
        local = now.astimezone(site.zone)
        if not force and local.hour != settings.STAFF_DIGEST_HOUR:
            continue
        members = Membership.objects.active().filter(
            site=site, role__in=[Role.CLINICIAN, Role.SUPERVISOR], user__is_active=True
        )
        for membership in members.select_related("user"):
            with transaction.atomic():
                _, created = enqueue(
                    site=site,
                    channel=Channel.EMAIL,
                    template_key="staff_daily_digest",
                    cause=f"digest:{site.public_id}:{local.date().isoformat()}",
                    kind="daily",
                    staff=membership.user,
                    context={"site": site.pk, "date": local.date().isoformat()},
                )
            planned += int(created)
    return planned


def digest_counts(user, site: Site, today) -> dict[str, int]:
    counts = {
        "open_alerts": Alert.objects.open().for_recipient(user).filter(site=site).count(),
        "plans_due": 0,
        "assessments_due": 0,
        "unsigned_notes": 0,
    }
    if apps.is_installed("plans"):
        from plans.selectors import plans_due

        counts["plans_due"] = len(plans_due([site.pk], today, counselor=user))
    if apps.is_installed("assessments"):
        from assessments.selectors import assessments_due

        counts["assessments_due"] = len(assessments_due([site.pk], today, counselor=user))
    if apps.is_installed("sessions"):
        from sessions.models import GroupNote, NoteStatus, ProgressNote

        drafts = Q(status=NoteStatus.DRAFT, author=user, site=site)
        counts["unsigned_notes"] = (
            ProgressNote.objects.filter(drafts).count() + GroupNote.objects.filter(drafts).count()
        )
    return counts


@context_builder("staff_daily_digest")
def _digest_context(message: OutboundMessage) -> dict:
    from patients.models import site_today

    site = message.site
    today = site_today(site)
    if message.context.get("date") != today.isoformat():
        raise Skip("cancelled", "DIGEST_STALE")
    counts = digest_counts(message.staff, site, today)
    if not any(counts.values()):
        raise Skip("cancelled", "NOTHING_TO_REPORT")
    return counts
