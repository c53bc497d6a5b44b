"""Reminder planning: roster, offsets in the site's zone, consent, safe hours, cancel and move;
and the send-time check the outbox calls back (scheduling registers it, notifications sends)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from itertools import count
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from notifications.models import MessageStatus, OutboundMessage
from notifications.outbox import BUILDERS, outbox_dispatch_due
from patients import services as patient_services
from patients.models import Patient, site_today
from scheduling import reminders
from scheduling import services as scheduling_services
from scheduling.models import RosterAddition, TherapySession
from users.models import Role

NY = ZoneInfo("America/New_York")
pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _offsets(settings):
    settings.REMINDER_OFFSETS = ["-1d@18:00", "-2h"]


_names = count(1)


@pytest.fixture
def counselor(make_staff):
    return make_staff(Role.CLINICIAN, full_name="Casey Counselor")


@pytest.fixture
def make_patient(site, counselor):
    """``make_patient()`` → a fake patient admitted five days ago, with ``counselor``."""

    def make():
        patient = patient_services.patient_register(
            site=site,
            by=counselor,
            allow_duplicate=True,
            legal_first_name="Sam",
            legal_last_name=f"Placeholder{next(_names)}",
            date_of_birth=date(1985, 3, 2),
            primary_counselor=counselor,
        )
        patient_services.episode_admit(
            patient=patient, admission_date=site_today(site) - timedelta(days=5), by=counselor
        )
        return patient

    return make


def _at(y, m, d, hh, mm=0):
    return datetime(y, m, d, hh, mm, tzinfo=NY)


def _rows(session=None):
    qs = OutboundMessage.objects.filter(template_key="session_reminder")
    if session is not None:
        qs = qs.filter(cause__startswith=reminders.session_prefix(session))
    return qs.order_by("due_at")


def test_it_plans_one_reminder_per_offset_in_the_sites_zone(sms_patient, make_session):
    session = make_session(_at(2030, 3, 12, 10), patients=[sms_patient])
    counts = reminders.reminders_plan_for_session(session, now=_at(2030, 3, 10, 9))
    assert counts["planned"] == 2
    rows = list(_rows(session))
    assert [r.due_at for r in rows] == [_at(2030, 3, 11, 18), _at(2030, 3, 12, 8)]
    assert {r.channel for r in rows} == {"sms"}
    assert {r.status for r in rows} == {"pending"}
    assert rows[0].context == {"session": session.pk, "starts_at": "2030-03-12T14:00:00+00:00"}


def test_the_day_before_at_1800_is_local_wall_time_across_a_dst_change(sms_patient, make_session):
    # DST starts in New York on 2030-03-10: 18:00 on the 9th is EST (23:00 UTC).
    session = make_session(_at(2030, 3, 10, 10), patients=[sms_patient])
    reminders.reminders_plan_for_session(session, now=_at(2030, 3, 8, 9))
    first = _rows(session).first()
    assert first.due_at == datetime(2030, 3, 9, 23, 0, tzinfo=UTC)


def test_planning_twice_never_duplicates(sms_patient, make_session):
    session = make_session(_at(2030, 3, 12, 10), patients=[sms_patient])
    now = _at(2030, 3, 10, 9)
    reminders.reminders_plan_for_session(session, now=now)
    again = reminders.reminders_plan_for_session(session, now=now)
    assert again["planned"] == 0
    assert _rows(session).count() == 2


def test_only_the_preferred_channel_with_consent_is_used(make_patient, make_session):
    email_only = make_patient()
    Patient.objects.filter(pk=email_only.pk).update(
        preferred_channel="email", email="sam@example.test", email_opt_in=True, email_opt_in_on="2026-01-05"
    )
    no_consent = make_patient()
    Patient.objects.filter(pk=no_consent.pk).update(preferred_channel="sms", sms_opt_in=False)
    phone = make_patient()  # preferred channel: phone (not automated)
    patients = [Patient.objects.get(pk=p.pk) for p in (email_only, no_consent, phone)]
    session = make_session(_at(2030, 3, 12, 10), patients=patients)
    reminders.reminders_plan_for_session(session, now=_at(2030, 3, 10, 9))
    assert set(_rows(session).values_list("patient_id", "channel")) == {(email_only.pk, "email")}


def test_a_reminder_inside_safe_hours_is_deferred_not_dropped(sms_patient, make_session):
    Patient.objects.filter(pk=sms_patient.pk).update(safe_hours_start=time(7, 0), safe_hours_end=time(12, 0))
    patient = Patient.objects.get(pk=sms_patient.pk)
    session = make_session(_at(2030, 3, 12, 10), patients=[patient])
    reminders.reminders_plan_for_session(session, now=_at(2030, 3, 10, 9))
    # 18:00 the day before is outside 07:00–12:00 → next opening 07:00 on the day; -2h (08:00) is inside.
    assert [r.due_at for r in _rows(session)] == [_at(2030, 3, 12, 7), _at(2030, 3, 12, 8)]


def test_re_planning_after_safe_hours_change_moves_the_pending_reminder(sms_patient, make_session):
    session = make_session(_at(2030, 3, 12, 10), patients=[sms_patient])
    reminders.reminders_plan_for_session(session, now=_at(2030, 3, 10, 9))
    before = {r.kind: (r.pk, r.due_at) for r in _rows(session)}
    Patient.objects.filter(pk=sms_patient.pk).update(safe_hours_start=time(7, 0), safe_hours_end=time(12, 0))
    session.refresh_from_db()
    counts = reminders.reminders_plan_for_session(session, now=_at(2030, 3, 10, 9))
    after = {r.kind: (r.pk, r.due_at) for r in _rows(session)}
    assert counts == {"planned": 0, "cancelled": 0}
    assert {k: pk for k, (pk, _) in after.items()} == {k: pk for k, (pk, _) in before.items()}  # same rows
    assert after["reminder-1d@18:00"][1] == _at(2030, 3, 12, 7)  # moved from 18:00 the day before


def test_safe_hours_that_open_after_the_session_send_at_the_last_safe_moment_before(sms_patient, make_session):
    Patient.objects.filter(pk=sms_patient.pk).update(safe_hours_start=time(12, 0), safe_hours_end=time(14, 0))
    patient = Patient.objects.get(pk=sms_patient.pk)
    session = make_session(_at(2030, 3, 12, 10), patients=[patient])
    reminders.reminders_plan_for_session(session, now=_at(2030, 3, 10, 9))
    # -1d@18:00 → the window closed at 14:00 that day: 13:59. -2h (08:00) → 13:59 the day before too,
    # which is the same moment: both rows exist (different kinds), both before the session.
    dues = [r.due_at for r in _rows(session)]
    assert dues == [_at(2030, 3, 11, 13, 59), _at(2030, 3, 11, 13, 59)]


def test_a_cancelled_session_cancels_its_pending_reminders(sms_patient, make_session, counselor):
    session = make_session(timezone.now() + timedelta(hours=30), patients=[sms_patient])
    reminders.reminders_plan_for_session(session)
    assert _rows(session).filter(status="pending").exists()
    scheduling_services.session_cancel(session=session, by=counselor)  # cancels them in its transaction
    assert set(_rows(session).values_list("status", "last_error")) == {("cancelled", "SESSION_CANCELLED")}


def test_moving_a_session_through_the_service_replaces_its_reminders(sms_patient, make_session, counselor):
    start = timezone.now().replace(microsecond=0) + timedelta(hours=30)
    session = make_session(start, patients=[sms_patient])
    reminders.reminders_plan_for_session(session)
    old = set(_rows(session).values_list("pk", flat=True))
    scheduling_services.session_move(
        session=session, by=counselor, starts_at=start + timedelta(hours=3), ends_at=start + timedelta(hours=4)
    )
    assert set(_rows(session).filter(pk__in=old).values_list("last_error", flat=True)) == {"SESSION_MOVED"}
    assert _rows(session).exclude(pk__in=old).filter(status="pending").exists()


def test_the_send_time_check_is_scheduling_s_registered_with_the_outbox():
    # notifications never imports scheduling: it calls back what scheduling registered.
    assert BUILDERS[reminders.TEMPLATE_KEY] is reminders._reminder_context


def test_a_patient_taken_off_the_roster_is_not_reminded(sms_patient, make_session, sms_outbox):
    session = make_session(timezone.now() + timedelta(hours=1, minutes=55), patients=[sms_patient])
    reminders.reminders_plan_for_session(session)
    RosterAddition.objects.filter(session=session).delete()  # not re-planned before the send
    outbox_dispatch_due()
    assert set(_rows(session).values_list("status", "last_error")) == {("cancelled", "NOT_EXPECTED")}
    assert sms_outbox.lines() == []


def test_the_sweep_cancels_reminders_of_a_session_cancelled_elsewhere(sms_patient, make_session):
    session = make_session(timezone.now() + timedelta(hours=30), patients=[sms_patient])
    reminders.reminders_plan()
    assert _rows(session).filter(status="pending").count() == 2
    TherapySession.objects.filter(pk=session.pk).update(status="cancelled", cancel_reason="staff")
    totals = reminders.reminders_plan()
    assert totals["cancelled"] == 2
    assert set(_rows(session).values_list("status", "last_error")) == {("cancelled", "SESSION_CANCELLED")}


def test_a_moved_session_replaces_its_reminders(sms_patient, make_session):
    start = timezone.now().replace(microsecond=0) + timedelta(hours=30)
    session = make_session(start, patients=[sms_patient])
    reminders.reminders_plan_for_session(session)
    old = set(_rows(session).values_list("pk", flat=True))
    TherapySession.objects.filter(pk=session.pk).update(
        starts_at=start + timedelta(hours=3), ends_at=start + timedelta(hours=4)
    )
    session.refresh_from_db()
    reminders.reminders_plan_for_session(session)
    assert set(_rows(session).filter(pk__in=old).values_list("status", flat=True)) == {"cancelled"}
    new = _rows(session).exclude(pk__in=old)
    assert new.count() >= 1 and set(new.values_list("status", flat=True)) == {"pending"}
    # Moved back: the first reminders are re-opened, not duplicated.
    TherapySession.objects.filter(pk=session.pk).update(starts_at=start, ends_at=start + timedelta(hours=1))
    session.refresh_from_db()
    reminders.reminders_plan_for_session(session)
    assert set(_rows(session).filter(pk__in=old).values_list("status", flat=True)) == {"pending"}


def test_a_reminder_for_a_session_moved_without_replanning_is_cancelled_at_send_time(
    sms_patient, make_session, sms_outbox
):
    start = timezone.now() + timedelta(hours=2, minutes=5)
    session = make_session(start, patients=[sms_patient])
    reminders.reminders_plan_for_session(session)
    TherapySession.objects.filter(pk=session.pk).update(
        starts_at=start + timedelta(days=2), ends_at=start + timedelta(days=2, hours=1)
    )
    OutboundMessage.objects.update(due_at=timezone.now())
    outbox_dispatch_due()
    assert set(_rows(session).values_list("status", "last_error")) == {("cancelled", "SESSION_MOVED")}
    assert sms_outbox.lines() == []


def test_a_due_reminder_is_sent_with_first_name_and_neutral_sender_only(sms_patient, make_session, sms_outbox, site):
    session = make_session(timezone.now() + timedelta(hours=1, minutes=55), patients=[sms_patient])
    reminders.reminders_plan_for_session(session)
    assert outbox_dispatch_due()["published"] == 1  # -2h is due now; -1d@18:00 has passed
    (line,) = sms_outbox.lines()
    assert line["to"] == "+12125550143"
    assert line["body"].startswith(f"{site.sender_name}: Hi Sam,")
    assert sms_patient.legal_last_name not in line["body"]
    message = _rows(session).get(status=MessageStatus.SENT)
    assert message.provider_message_id == line["id"]
    assert message.template_version == 0


@pytest.mark.parametrize(
    "task_name",
    [
        "scheduling.tasks.reminders_plan_task",
        # The name the planning task had in notifications, kept for one release so a sweep
        # queued in Redis before an upgrade still runs.
        "notifications.tasks.reminders_plan_task",
    ],
)
def test_beat_plans_reminders_under_the_new_task_name_and_the_old_one(task_name, sms_patient, make_session):
    from django.conf import settings

    from iop.celery import app

    app.loader.import_default_modules()
    entry = settings.CELERY_BEAT_SCHEDULE["scheduling-reminders-plan"]
    assert entry["task"] == "scheduling.tasks.reminders_plan_task"
    assert "notifications-reminders-plan" not in settings.CELERY_BEAT_SCHEDULE
    session = make_session(timezone.now() + timedelta(hours=30), patients=[sms_patient])
    app.tasks[task_name].apply()
    assert _rows(session).filter(status="pending").count() == 2
