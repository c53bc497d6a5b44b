"""Due work for staff: in-app tasks for unsigned notes and overdue plans and re-assessments, and
the digest's counts of it.

This reads sessions, plans and assessments, so it lives on the top floor (ARCHITECTURE.md §3);
``notifications`` delivers what it produces without knowing those apps. The hourly
``due_work_sweep`` raises ``REVIEW_DUE`` alerts (low severity, for the patient's counselor or
the note's author) for notes unsigned ``NOTE_UNSIGNED_ALERT_HOURS`` after the session ended,
for treatment plans and re-assessments that are overdue, and for utilization reviews due within
``UR_REVIEW_ALERT_DAYS`` (the payer stops paying days once a concurrent review is missed, so
the counselor and supervisors are told before, not after); each is raised once per record and
due date (``alert_raise`` returns the existing one), so a rerun changes nothing. No-show and
absence follow-ups are raised by ``sessions`` itself.

The daily digest (``notifications.staff``) shows the counts registered below with
``digest_counter``; ``ReportsConfig.ready`` imports this module so every process has them.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from assessments.selectors import assessments_due
from billing.selectors import REVIEW_DUE_OBJECT, reviews_due
from notifications.models import TITLES, Alert, AlertKind, Severity
from notifications.services import alert_raise
from notifications.staff import digest_counter
from patients.models import site_today
from plans.selectors import plans_due
from sessions.models import GroupNote, NoteStatus, ProgressNote
from users.models import Site

TITLES.setdefault("NOTE_UNSIGNED", "A progress note is still unsigned")
TITLES.setdefault("PLAN_OVERDUE", "A treatment or relapse-prevention plan is overdue")
TITLES.setdefault("REASSESSMENT_OVERDUE", "A re-assessment is overdue")
TITLES.setdefault("UR_REVIEW_DUE", "A utilization review with the payer is due")


def _raise(**kwargs) -> Alert:
    return alert_raise(kind=AlertKind.REVIEW_DUE, severity=Severity.LOW, **kwargs)


def _counselor_of(episode):
    return episode.primary_counselor or episode.patient.primary_counselor


def _unsigned_notes(now: datetime) -> int:
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


def _overdue_plans(site: Site, today) -> int:
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


def _ur_reviews_due(site: Site, today) -> int:
    raised = 0
    for due in reviews_due([site.pk], today, horizon_days=settings.UR_REVIEW_ALERT_DAYS):
        with transaction.atomic():
            _raise(
                site=site,
                patient=due.patient,
                title_code="UR_REVIEW_DUE",
                object_type=REVIEW_DUE_OBJECT,
                object_id=f"{due.patient.public_id}:ur{due.authorization.pk}:{due.due_on}",
            )
        raised += 1
    return raised


def due_work_sweep(*, now: datetime | None = None) -> dict[str, int]:
    """Raise the due-work alerts; each is raised once per record and due date (safe to rerun)."""
    now = now or timezone.now()
    totals = {"notes": _unsigned_notes(now), "plans": 0, "assessments": 0, "ur_reviews": 0}
    for site in Site.objects.filter(is_active=True):
        today = site_today(site)
        totals["plans"] += _overdue_plans(site, today)
        totals["assessments"] += _overdue_assessments(site, today)
        totals["ur_reviews"] += _ur_reviews_due(site, today)
    return totals


# --- The digest's counts ----------------------------------------------------------------------


@digest_counter("plans_due")
def _plans_due(user, site: Site, today) -> int:
    return len(plans_due([site.pk], today, counselor=user))


@digest_counter("assessments_due")
def _assessments_due(user, site: Site, today) -> int:
    return len(assessments_due([site.pk], today, counselor=user))


@digest_counter("unsigned_notes")
def _unsigned_notes_of(user, site: Site, today) -> int:
    drafts = Q(status=NoteStatus.DRAFT, author=user, site=site)
    return ProgressNote.objects.filter(drafts).count() + GroupNote.objects.filter(drafts).count()
