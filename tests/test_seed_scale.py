"""``manage.py seed_scale`` at a tiny scale: valid rows, the database's rules hold, bench accounts."""

from __future__ import annotations

import json
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db.models import Count

from assessments.models import AssessmentResponse
from patients.models import Episode, Patient, site_today
from scheduling.models import Booking, Enrollment, TherapySession, Track
from sessions.models import ATTENDED_VALUES, Attendance, GroupNote, ProgressNote
from users.models import Site

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]


@pytest.fixture(autouse=True)
def _needs_postgres(settings):
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("seed_scale writes with PostgreSQL COPY")


def test_refuses_with_debug_off(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG"):
        call_command("seed_scale", "--scale", "0.001", stdout=StringIO())


def test_tiny_scale_builds_valid_rows(settings, tmp_path):
    settings.DEBUG = False
    out = StringIO()
    accounts = tmp_path / "bench.json"
    call_command(
        "seed_scale", "--scale", "0.001", "--weeks", "6", "--bench-accounts", "3",
        "--accounts", str(accounts), "--force", stdout=out,
    )  # fmt: skip
    text = out.getvalue()
    assert "seed_scale done" in text and "clinical_sessions_attendance" in text

    assert Site.objects.count() == 1
    assert Patient.objects.count() == 100
    open_episodes = Episode.objects.filter(discharge_date__isnull=True)
    assert open_episodes.count() == 8  # at least one track of seats per site
    # One open episode per patient (the partial unique index would have refused otherwise).
    assert not open_episodes.values("patient").annotate(n=Count("id")).filter(n__gt=1).exists()
    assert Enrollment.objects.count() == Episode.objects.count()
    assert TherapySession.objects.exists() and not Booking.objects.exists()
    # Attendance only inside an episode's dates, minutes only when attended.
    assert Attendance.objects.count() > 0
    for a in Attendance.objects.select_related("episode", "session")[:200]:
        day = a.session.occurrence_date
        assert a.episode.admission_date <= day
        assert a.episode.discharge_date is None or day <= a.episode.discharge_date
        assert a.patient_id == a.episode.patient_id
        assert (a.status in ATTENDED_VALUES) or a.minutes_attended == 0
    # Signed notes verify their content hash; drafts exist for the load test to sign.
    for note in list(GroupNote.objects.signed()[:20]) + list(ProgressNote.objects.signed()[:20]):
        assert note.hash_verifies(), note.pk
    assert ProgressNote.objects.drafts().exists()
    assert AssessmentResponse.objects.filter(status="closed").count() == AssessmentResponse.objects.count() > 0

    bench = json.loads(accounts.read_text())
    assert bench["password"] and bench["intake"] and bench["clinician"] and bench["supervisor"]
    clinician = bench["clinician"][0]
    assert clinician["totp_secret"] and clinician["draft_notes"] and clinician["sessions"]
    assert max(s["roster"] for s in clinician["sessions"]) >= 8
    # The bench sessions are today's and tomorrow's (site's zone): no roll yet; today's are open
    # for roll-call (a weekday seed has some), and none of them has a draft note to sign.
    site = Site.objects.get()
    today = site_today(site)
    for entry in clinician["sessions"]:
        session = TherapySession.objects.get(public_id=entry["public_id"])
        local_day = session.starts_at.astimezone(site.zone).date()
        assert today <= local_day <= today + timedelta(days=1)
        assert entry["roll_open"] == (local_day == today)
        assert not Attendance.objects.filter(session=session).exists()
        assert not ProgressNote.objects.filter(session=session).exists()
    if today.weekday() < 5:
        assert any(entry["roll_open"] for entry in clinician["sessions"])


def test_every_day_of_the_week_has_groups_and_a_roll_to_take(settings, tmp_path):
    """A site with several tracks runs one Friday to Sunday: sessions fall on their track's
    meeting days only, every day of the week has groups, and the first bench clinician has a
    roll to take today whatever day the seed runs (the load test's roll-call save needs one)."""
    settings.DEBUG = False
    accounts = tmp_path / "bench.json"
    call_command(
        "seed_scale", "--scale", "0.004", "--weeks", "2", "--bench-accounts", "3",
        "--accounts", str(accounts), "--force", stdout=StringIO(),
    )  # fmt: skip
    site = Site.objects.get()
    tracks = list(Track.objects.filter(site=site))
    assert len(tracks) >= 2
    assert sorted(t.meeting_days for t in tracks if t.name.startswith("Weekend")) == [[4, 5, 6]]
    weekdays = set()
    for session in TherapySession.objects.select_related("track"):
        day = session.starts_at.astimezone(site.zone).weekday()
        assert day in session.track.meeting_days
        weekdays.add(day)
    assert weekdays == set(range(7))

    clinician = json.loads(accounts.read_text())["clinician"][0]
    today_sessions = [s for s in clinician["sessions"] if s["roll_open"]]
    assert today_sessions
    session = TherapySession.objects.get(public_id=max(today_sessions, key=lambda s: s["roster"])["public_id"])
    assert session.starts_at.astimezone(site.zone).date() == site_today(site)
