"""Due work: in-app tasks for unsigned notes and overdue plans and re-assessments, raised once;
and the daily digest's counts of it (sent by notifications, counted here)."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from assessments.selectors import assessments_due
from notifications import outbox, staff
from notifications.models import Alert, AlertKind
from patients import services as patient_services
from patients.models import site_today
from reports import due_work
from scheduling.models import RosterAddition, TherapySession
from sessions.models import ProgressNote
from users.models import Role

pytestmark = pytest.mark.django_db


@pytest.fixture
def counselor(make_staff):
    return make_staff(Role.CLINICIAN, full_name="Casey Counselor")


@pytest.fixture
def patient(site, counselor):
    """A fake patient admitted five days ago and never assessed, with ``counselor``."""
    patient = patient_services.patient_register(
        site=site,
        by=counselor,
        allow_duplicate=True,
        legal_first_name="Sam",
        legal_last_name="Placeholder",
        date_of_birth=date(1985, 3, 2),
        primary_counselor=counselor,
    )
    patient_services.episode_admit(patient=patient, admission_date=site_today(site) - timedelta(days=5), by=counselor)
    return patient


@pytest.fixture
def draft_note(site, patient, counselor):
    """A progress note still unsigned 30 hours after its session."""
    starts_at = timezone.now() - timedelta(hours=30)
    session = TherapySession.objects.create(
        site=site, kind="individual", starts_at=starts_at, ends_at=starts_at + timedelta(hours=1)
    )
    RosterAddition.objects.create(session=session, episode=patient.episodes.get(), added_by=counselor)
    return ProgressNote.objects.create(
        site=site, author=counselor, session=session, patient=patient, episode=patient.episodes.get()
    )


def test_the_sweep_raises_a_task_for_a_note_unsigned_after_n_hours(draft_note, counselor, settings):
    settings.NOTE_UNSIGNED_ALERT_HOURS = 24
    due_work.due_work_sweep()
    due_work.due_work_sweep()
    alert = Alert.objects.get(title_code="NOTE_UNSIGNED")
    assert alert.object_id == str(draft_note.public_id)
    assert list(alert.recipients.all()) == [counselor]
    assert alert.kind == AlertKind.REVIEW_DUE
    assert alert.title == "A progress note is still unsigned"  # the title this app registered


def test_a_note_within_the_allowed_hours_raises_nothing(draft_note, settings):
    settings.NOTE_UNSIGNED_ALERT_HOURS = 48
    assert due_work.due_work_sweep()["notes"] == 0
    assert not Alert.objects.filter(title_code="NOTE_UNSIGNED").exists()


def test_the_sweep_raises_overdue_reassessment_tasks_once(patient, counselor):
    first = due_work.due_work_sweep()
    second = due_work.due_work_sweep()
    assert first["assessments"] >= 1  # admitted five days ago, never assessed: due on admission
    titles = list(Alert.objects.values_list("title_code", flat=True))
    assert titles.count("REASSESSMENT_OVERDUE") == first["assessments"]
    assert second["assessments"] == first["assessments"]  # idempotent: same alerts returned
    assert Alert.objects.filter(title_code="REASSESSMENT_OVERDUE").count() == first["assessments"]
    alert = Alert.objects.filter(title_code="REASSESSMENT_OVERDUE").first()
    assert list(alert.recipients.all()) == [counselor] and alert.patient == patient


def test_a_utilization_review_due_soon_raises_one_task_for_the_counselor_and_supervisors(
    patient, counselor, make_staff, site, settings
):
    from billing import services as billing_services
    from billing.tests.helpers import make_authorization, make_payer

    settings.UR_REVIEW_ALERT_DAYS = 2
    supervisor = make_staff(Role.SUPERVISOR)
    intake = make_staff(Role.INTAKE)
    today = site_today(site)
    auth = make_authorization(patient.episodes.get(), make_payer("Test Medicaid"), by=intake)
    review = billing_services.utilization_review_record(
        authorization=auth,
        by=intake,
        review_date=today - timedelta(days=4),
        kind="concurrent",
        outcome="approved",
        next_review_date=today + timedelta(days=3),
        reviewer="Dr. Payer Reviewer",
    )
    assert due_work.due_work_sweep()["ur_reviews"] == 0  # three days ahead: not yet
    settings.UR_REVIEW_ALERT_DAYS = 3
    assert due_work.due_work_sweep()["ur_reviews"] == 1
    assert due_work.due_work_sweep()["ur_reviews"] == 1  # the same task again, not a second one
    alert = Alert.objects.get(title_code="UR_REVIEW_DUE")
    assert alert.kind == AlertKind.REVIEW_DUE and alert.patient == patient
    assert alert.title == "A utilization review with the payer is due"
    assert set(alert.recipients.all()) == {counselor, supervisor}
    assert alert.target_url == reverse("billing:authorizations", args=[patient.public_id])
    assert str(review.next_review_date) in alert.object_id and len(alert.object_id) <= 64
    for secret in (patient.legal_first_name, patient.legal_last_name, patient.mrn, auth.reference_number):
        assert secret not in alert.title


def test_the_digest_carries_the_due_work_counts_and_no_names(patient, counselor, draft_note, site):
    staff.digest_plan(force=True)
    outbox.outbox_dispatch_due()
    (email,) = mail.outbox
    assert email.to == [counselor.email]
    assert "Your unsigned notes: 1" in email.body
    expected = len(assessments_due([site.pk], site_today(site), counselor=counselor))
    assert expected >= 1 and f"Re-assessments due: {expected}" in email.body
    assert re.search(r"Treatment plans due: \d+", email.body)
    for secret in (patient.legal_first_name, patient.legal_last_name, patient.mrn):
        assert secret not in email.body


@pytest.mark.parametrize(
    "task_name",
    [
        "reports.tasks.due_work_sweep_task",
        # The name the sweep had in notifications, kept for one release so a sweep queued in
        # Redis before an upgrade still runs.
        "notifications.tasks.staff_alerts_sweep_task",
    ],
)
def test_beat_runs_the_sweep_under_the_new_task_name_and_the_old_one(task_name, patient, settings):
    from iop.celery import app

    app.loader.import_default_modules()
    assert settings.CELERY_BEAT_SCHEDULE["reports-due-work-alerts"]["task"] == "reports.tasks.due_work_sweep_task"
    assert "notifications-staff-alerts" not in settings.CELERY_BEAT_SCHEDULE
    app.tasks[task_name].apply()
    assert Alert.objects.filter(title_code="REASSESSMENT_OVERDUE", patient=patient).exists()
