"""In a real browser: a supervisor creates an adult IOP track through the form (Mon/Wed/Thu,
three blocks reaching the 9 h minimum), generates its sessions further ahead, enrolls a patient
with an open episode, and finds the sessions on the week calendar (by track) and the patient on
a session's roster. A track below its level's minimum is refused with the message on the form.
Screenshots at each step; axe checks on the track form, the calendar and the session page."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.urls import reverse

from patients import services as patient_services
from patients.models import site_today
from scheduling import services
from scheduling.models import StaffAvailability, TherapySession, Track, week_start
from users.models import Role
from users.tests.factories import PASSWORD, MembershipFactory, SiteFactory, UserFactory

from .conftest import assert_no_serious_violations, shot, sign_in

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def scene():
    site = SiteFactory(name="Riverside Test", sender_name="Oak Street Health", time_zone="America/New_York")
    supervisor = UserFactory(mfa=True, full_name="Sam Supervisor", credentials="LCSW")
    MembershipFactory(user=supervisor, site=site, role=Role.SUPERVISOR)
    room = services.room_create(site=site, name="Group room", capacity=12, by=supervisor)
    patient = patient_services.patient_register(
        site=site,
        by=supervisor,
        legal_first_name="Avery",
        legal_last_name="Example",
        date_of_birth=date(1988, 4, 12),
    )
    episode = patient_services.episode_admit(
        patient=patient, admission_date=site_today(site) - timedelta(days=3), by=supervisor
    )
    return site, supervisor, room, patient, episode


def _fill_track(page, *, name: str, start: date) -> None:
    page.locator("#id_name").fill(name)
    page.locator("#id_level_of_care").select_option("2.1")
    page.locator("#id_age_group").select_option("adult")
    days = page.locator("#id_meeting_days")
    for day in ("Monday", "Wednesday", "Thursday"):
        days.get_by_label(day).check()
    page.locator("#id_capacity").fill("10")
    page.locator("#id_start_date").fill(start.isoformat())
    page.locator("#id_topics").fill("Relapse prevention\nCoping and stress management\nLife skills\nFamily education")


def _fill_block(page, index: int, *, start: str, end: str, kind: str, room=None, facilitator=None, weekday="") -> None:
    prefix = f"#id_blocks-{index}-"
    page.locator(f"{prefix}weekday").select_option(weekday)
    page.locator(f"{prefix}start_time").fill(start)
    page.locator(f"{prefix}end_time").fill(end)
    page.locator(f"{prefix}kind").select_option(kind)
    if room is not None:
        page.locator(f"{prefix}room").select_option(str(room.pk))
    if facilitator is not None:
        page.locator(f"{prefix}facilitators").select_option([str(facilitator.pk)])


def test_create_a_track_enroll_a_patient_and_see_the_calendar(page, app_url, scene, settings):
    site, supervisor, room, patient, episode = scene
    settings.SCHEDULING_HORIZON_WEEKS = 1  # created with one week; generated further below
    today = site_today(site)
    sign_in(page, app_url, supervisor.email, PASSWORD, supervisor.totp_secret)

    # Tracks → New track: the real form with its block editor.
    page.goto(f"{app_url}{reverse('scheduling:track_list')}?site={site.public_id}")
    with page.expect_navigation():
        page.get_by_role("link", name="New track").click()
    _fill_track(page, name="Morning IOP", start=today)
    _fill_block(page, 0, start="09:00", end="10:30", kind="group", room=room, facilitator=supervisor)
    _fill_block(page, 1, start="10:45", end="12:00", kind="skills", room=room, facilitator=supervisor)
    # 2 h 45 min on each of three days is 8.25 h: a Thursday wellness block makes the 9 h.
    _fill_block(page, 2, start="12:15", end="13:00", kind="wellness", room=room, weekday="3")
    assert_no_serious_violations(page)
    shot(page, "scheduling-01-track-form")
    with page.expect_navigation():
        page.get_by_role("button", name="Save track").click()
    assert "created and its sessions generated" in page.locator(".messages").inner_text()
    track = Track.objects.get(name="Morning IOP")
    facts = page.locator("main dl.facts").inner_text()
    assert "9 h a week" in facts and "meets the minimum" in facts
    assert track.meeting_days == [0, 2, 3] and track.blocks.count() == 3
    first_week = TherapySession.objects.filter(track=track).count()
    assert first_week > 0
    shot(page, "scheduling-02-track-created")

    # Generate further ahead: the horizon is now three weeks; generating is idempotent.
    settings.SCHEDULING_HORIZON_WEEKS = 3
    with page.expect_navigation():
        page.get_by_role("button", name="Generate sessions now").click()
    generated = TherapySession.objects.filter(track=track).count() - first_week
    assert generated > 0
    assert f"{generated} new sessions generated" in page.locator(".messages").inner_text()
    shot(page, "scheduling-03-sessions-generated")

    # Enroll the patient, who has an open episode.
    with page.expect_navigation():
        page.get_by_role("link", name="Enroll a patient").click()
    page.locator("#id_episode").select_option(str(episode.pk))
    shot(page, "scheduling-04-enroll")
    with page.expect_navigation():
        page.get_by_role("button", name="Enroll").click()
    assert "Enrolled in Morning IOP" in page.locator(".messages").inner_text()
    enrolled = page.locator("section.panel", has_text="Enrolled patients").inner_text()
    assert "Avery Example" in enrolled
    shot(page, "scheduling-05-enrolled")

    # Next week's calendar, rows by track: Monday, Wednesday and Thursday have its sessions.
    monday = week_start(today) + timedelta(days=7)
    with page.expect_navigation():
        page.get_by_role("navigation", name="Scheduling").get_by_role("link", name="Week calendar").click()
    page.get_by_label("Week of").fill(monday.isoformat())
    page.get_by_label("Rows").select_option("track")
    with page.expect_navigation():
        page.get_by_role("button", name="Show").click()
    row = page.locator("table.sched-week tbody tr", has_text="Morning IOP")
    cells = row.locator("td")
    assert [cells.nth(i).locator("a.sched-chip").count() for i in range(7)] == [2, 0, 2, 3, 0, 0, 0]
    assert "1 on roster" in row.inner_text()
    assert "Wellness" in cells.nth(3).inner_text()
    assert_no_serious_violations(page)
    shot(page, "scheduling-06-calendar-by-track")

    # The Monday group session: the patient is on its roster.
    with page.expect_navigation():
        cells.nth(0).locator("a.sched-chip").first.click()
    assert "09:00" in page.locator("main dl.facts").inner_text()
    roster = page.locator("ul.sched-roster").inner_text()
    assert "Avery Example" in roster and patient.mrn in roster
    assert_no_serious_violations(page)
    shot(page, "scheduling-07-session-roster")


def test_an_iop_track_below_the_minimum_is_refused_on_the_form(page, app_url, scene):
    site, supervisor, room, _patient, _episode = scene
    sign_in(page, app_url, supervisor.email, PASSWORD, supervisor.totp_secret)
    page.goto(f"{app_url}{reverse('scheduling:track_create')}?site={site.public_id}")
    _fill_track(page, name="Short IOP", start=site_today(site))
    _fill_block(page, 0, start="09:00", end="10:30", kind="group", room=room, facilitator=supervisor)
    _fill_block(page, 1, start="10:45", end="12:00", kind="skills", room=room, facilitator=supervisor)
    with page.expect_navigation():
        page.get_by_role("button", name="Save track").click()
    errors = page.locator("#blocks-errors")
    assert errors.get_attribute("role") == "alert"
    assert (
        "These blocks give 8.25 h a week; an adult 2.1 Intensive outpatient (IOP) track needs at least 9 h."
        in errors.inner_text()
    )
    # Nothing saved, and what was typed is still there to correct.
    assert not Track.objects.exists() and not TherapySession.objects.exists()
    assert page.locator("#id_name").input_value() == "Short IOP"
    assert page.locator("#id_blocks-1-end_time").input_value() == "12:00"
    assert_no_serious_violations(page)
    shot(page, "scheduling-08-track-below-minimum")


def test_a_clinician_records_working_hours_and_time_off(page, app_url, scene):
    site = scene[0]
    clinician = UserFactory(mfa=True, full_name="Carla Counselor", credentials="LADC")
    MembershipFactory(user=clinician, site=site, role=Role.CLINICIAN)
    sign_in(page, app_url, clinician.email, PASSWORD, clinician.totp_secret)
    with page.expect_navigation():
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Availability").click()
    assert "My working hours and time off" in page.locator("h1").inner_text()

    # Bad input first: the end before the start, told on the field, nothing saved.
    page.locator("#id_hours-weekday").select_option("0")
    page.locator("#id_hours-start_time").fill("17:00")
    page.locator("#id_hours-end_time").fill("09:00")
    with page.expect_navigation():
        page.get_by_role("button", name="Add hours").click()
    assert "The end time must be after the start time." in page.locator("#id_hours-end_time_error").inner_text()
    assert not StaffAvailability.objects.exists()
    assert_no_serious_violations(page)
    shot(page, "scheduling-09-hours-error")

    page.locator("#id_hours-start_time").fill("08:30")
    page.locator("#id_hours-end_time").fill("16:30")
    with page.expect_navigation():
        page.get_by_role("button", name="Add hours").click()
    assert StaffAvailability.objects.get().user == clinician
    page.locator("#id_off-start_date").fill("2030-07-01")
    page.locator("#id_off-end_date").fill("2030-07-05")
    page.locator("#id_off-reason").fill("Vacation")
    with page.expect_navigation():
        page.get_by_role("button", name="Add time off").click()
    assert "Time off recorded" in page.locator(".messages").inner_text()
    tables = page.locator("main table")
    assert "08:30" in tables.nth(0).inner_text()
    assert "Fri 2030-07-05, end of day" in tables.nth(1).inner_text() and "Vacation" in tables.nth(1).inner_text()
    assert_no_serious_violations(page)
    shot(page, "scheduling-10-hours-and-time-off")
