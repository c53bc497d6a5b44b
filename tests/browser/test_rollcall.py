"""In a real browser: a facilitator takes roll for a group (one-tap statuses, a partial row
updated in place by htmx, one save), then writes and signs the group note. Screenshots and
axe checks on the roll-call page and the signed note."""

from __future__ import annotations

from datetime import time, timedelta

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from patients.models import site_today
from sessions.models import Attendance, GroupNote, NoteStatus
from sessions.tests.factories import enroll, make_session, make_track
from users.models import Role
from users.tests.factories import PASSWORD, MembershipFactory, SiteFactory, UserFactory

from .conftest import assert_no_serious_violations, shot, sign_in

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def scene():
    site = SiteFactory(name="Riverside Test", sender_name="Oak Street Health")
    facilitator = UserFactory(mfa=True, full_name="Carla Counselor", credentials="LADC")
    MembershipFactory(user=facilitator, site=site, role=Role.CLINICIAN)
    track = make_track(site, name="Morning IOP")
    yesterday = site_today(site) - timedelta(days=1)
    session = make_session(
        site,
        track=track,
        day=yesterday,
        at=time(9),
        minutes=180,
        facilitators=[facilitator],
        topic="Coping with cravings",
    )
    for first, last in [("Avery", "Alpha"), ("Blake", "Bravo"), ("Casey", "Charlie")]:
        enroll(site, track, start=yesterday - timedelta(days=14), first=first, last=last, counselor=facilitator)
    return site, facilitator, session


def test_take_roll_and_sign_the_group_note(page, app_url, scene):
    site, facilitator, session = scene
    sign_in(page, app_url, facilitator.email, PASSWORD, facilitator.totp_secret)

    page.goto(f"{app_url}{reverse('scheduling:session_detail', args=[session.public_id])}")
    with page.expect_navigation():
        page.get_by_role("link", name="Roll-call and notes").click()
    assert "Roll-call: Coping with cravings" in page.locator("h1").inner_text()

    page.locator("#roll-row-0").get_by_text("Present", exact=True).click()
    # Late arrival: htmx re-renders the row in place; the minutes become required.
    with page.expect_response(lambda r: "/rollcall/row/1/" in r.url):
        page.locator("#roll-row-1").get_by_text("Late arrival", exact=True).click()
    expect(page.locator("#roll-row-1")).to_contain_text("partial: required")
    page.locator("#id_r1-minutes").fill("150")
    with page.expect_response(lambda r: "/rollcall/row/2/" in r.url):
        page.locator("#roll-row-2").get_by_text("No-show", exact=True).click()
    expect(page.locator("#id_r2-minutes")).to_have_value("0")
    # Keyboard: the status radios are reachable and change with the arrow keys.
    # (each change re-renders the row, so wait for it before the next key).
    # An earlier click may still be swapping a row in: focus only once htmx is quiet, or the
    # focused input is replaced under the keyboard and the key press goes nowhere.
    page.wait_for_load_state("networkidle")
    page.locator("#roll-row-0 input[value=present]").focus()
    with page.expect_response(lambda r: "/rollcall/row/0/" in r.url):
        page.keyboard.press("ArrowRight")
    expect(page.locator("#roll-row-0 input[value=late]")).to_be_checked()
    expect(page.locator("#roll-row-0")).to_contain_text("partial: required")
    # Back to present by pointer (the keyboard path is shown above): a click finds the row's
    # current input even if htmx has just swapped it in.
    with page.expect_response(lambda r: "/rollcall/row/0/" in r.url):
        page.locator("#roll-row-0").get_by_text("Present", exact=True).click()
    expect(page.locator("#roll-row-0")).to_contain_text("of 180")
    expect(page.locator("#id_r0-minutes")).to_have_value("180")
    page.set_viewport_size({"width": 1024, "height": 768})  # a tablet in landscape
    assert_no_serious_violations(page)
    shot(page, "sessions-rollcall-before-save")

    with page.expect_navigation():
        page.get_by_role("button", name="Save roll for everyone").click()
    assert "Roll saved" in page.locator(".messages").inner_text()
    assert sorted(Attendance.objects.values_list("status", "minutes_attended")) == [
        ("late", 150),
        ("no_show", 0),
        ("present", 180),
    ]
    shot(page, "sessions-rollcall-saved")

    with page.expect_navigation():
        page.get_by_role("button", name="Write the group note").click()
    assert "Group note" in page.locator("h1").inner_text()
    page.get_by_label("Curriculum module").fill("Relapse prevention 3")
    page.get_by_label("Interventions used").fill("CBT thought records; motivational interviewing")
    parts = [
        ("Shared a trigger at work.", "Receptive to feedback.", "Used urge surfing twice.", "None observed."),
        ("Arrived late; joined the check-in.", "Calmer after grounding.", "Went to two meetings.", "Denies SI."),
    ]
    for i, (p, r, g, k) in enumerate(parts):
        page.locator("textarea[name$='-participation']").nth(i).fill(p)
        page.locator("textarea[name$='-response']").nth(i).fill(r)
        page.locator("textarea[name$='-progress']").nth(i).fill(g)
        page.locator("textarea[name$='-risk_observations']").nth(i).fill(k)
    assert page.locator("section.entry").count() == 2  # the no-show has no part
    assert_no_serious_violations(page)
    shot(page, "sessions-group-note-editor")
    with page.expect_navigation():
        page.get_by_role("button", name="Save and sign").click()
    assert "signed and locked" in page.locator(".messages").inner_text()
    assert "Signed by Carla Counselor, LADC" in page.locator(".note-signature").inner_text()
    note = GroupNote.objects.get()
    assert note.status == NoteStatus.SIGNED and note.hash_verifies()
    assert_no_serious_violations(page)
    shot(page, "sessions-group-note-signed")
