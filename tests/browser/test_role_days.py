"""A day in the life of each role, in a real browser (issue 11, item 1).

Each journey signs in with the role's TOTP, walks the pages that role uses in a day, takes a
screenshot per step and runs axe-core on every page visited. Setup that is not what the role
does (other people's earlier work) is built with the apps' services and factories. The pages
also fail on any Content-Security-Policy violation (see conftest's ``page`` fixture).
"""

from __future__ import annotations

from datetime import date, time, timedelta

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from assessments import services as assessment_services
from assessments.instruments import INSTRUMENTS
from assessments.models import AssessmentResponse, Placement, PlacementStatus
from patients import services as patient_services
from patients.models import Episode, Referral, Stage, site_today
from plans.tests.helpers import signed_treatment_plan
from scheduling.models import Enrollment
from sessions import services as session_services
from sessions.models import Attendance, GroupNote, NoteStatus, ProgressNote
from sessions.tests.factories import enroll, make_session, make_track, roll
from users.models import Role
from users.tests.factories import PASSWORD, MembershipFactory, SiteFactory, UserFactory

from .conftest import assert_no_serious_violations, shot, sign_in

pytestmark = pytest.mark.django_db(transaction=True)

IOP_PROFILE = {"d1_rating": 1, "d2_rating": 1, "d3_rating": 2, "d4_rating": 2, "d5_rating": 2, "d6_rating": 1}
PHQ9 = [1, 1, 1, 1, 0, 1, 0, 0, 1]  # item 9 positive → a safety alert
AUDIT_ANSWERS = [1, 1, 1, 0, 0, 0, 0, 0, 0, 0]


def _staff(site, role, name, email, **extra):
    user = UserFactory(mfa=True, full_name=name, email=email, **extra)
    MembershipFactory(user=user, site=site, role=role)
    return user


def _go(page, locator) -> None:
    with page.expect_navigation():
        locator.click()


def _visit(page, url: str, name: str) -> None:
    """Open a page, check it answered, run axe on it and keep a screenshot."""
    response = page.goto(url)
    assert response is not None and response.status == 200, (url, response and response.status)
    assert_no_serious_violations(page)
    shot(page, name)


def _check(page, name: str) -> None:
    assert_no_serious_violations(page)
    shot(page, name)


def _messages(page):
    return page.locator(".messages")


# --- Intake coordinator -------------------------------------------------------------------------------


def test_intake_day_referral_to_enrollment(page, app_url):
    site = SiteFactory(name="Riverside Day Test", sender_name="Oak Street Health")
    coordinator = _staff(site, Role.INTAKE, "Ivy Intake", "ivy.day@example.test")
    counselor = _staff(site, Role.CLINICIAN, "Cora Counselor", "cora.day@example.test", credentials="LADC")
    track = make_track(site, name="Evening IOP")
    today = site_today(site)
    patient = patient_services.patient_register(
        site=site,
        by=coordinator,
        allow_duplicate=True,
        legal_first_name="Robin",
        legal_last_name="Dayfictional",
        date_of_birth=date(1986, 2, 3),
        primary_counselor=counselor,
    )
    referral = patient_services.referral_create(
        patient=patient,
        source="hospital",
        received_on=today - timedelta(days=2),
        reason="AUD after detox",
        by=coordinator,
    )

    sign_in(page, app_url, coordinator.email, PASSWORD, coordinator.totp_secret)
    _check(page, "day-intake-01-home")
    _visit(page, f"{app_url}/intake/", "day-intake-02-board")
    _visit(page, f"{app_url}/intake/referrals/{referral.public_id}/", "day-intake-03-referral")

    # Screening: two referral moves through the page's form.
    for stage, note in [
        (Stage.SCREENING_SCHEDULED, "Screening call booked."),
        (Stage.SCREENED, "Phone screen done; meets criteria."),
    ]:
        move = page.locator("section", has=page.get_by_role("heading", name="Move this referral"))
        move.get_by_role("radio", name=Stage(stage).label, exact=True).check()
        move.get_by_label("Note").fill(note)
        _go(page, page.get_by_role("button", name="Move", exact=True))
        expect(_messages(page)).to_contain_text(f"Moved to “{Stage(stage).label}”.")
    _check(page, "day-intake-04-screened")

    # PHQ-9 administered through the form (item 9 positive → the alert path).
    _visit(page, f"{app_url}/assessments/patient/{patient.public_id}/administer/PHQ-9/", "day-intake-05-phq9-form")
    for item, value in zip(INSTRUMENTS["PHQ-9"].items, PHQ9, strict=False):
        group = page.get_by_role("group", name=f"{item.number}. {item.label}")
        label = next(c.label for c in item.choices if c.value == value)
        group.get_by_label(f"{value}: {label}", exact=True).check()
    _go(page, page.get_by_role("button", name="Score and save"))
    phq9 = AssessmentResponse.objects.get(patient=patient, instrument="PHQ-9")
    assert phq9.total == sum(PHQ9) and phq9.flags, phq9.flags
    _check(page, "day-intake-06-phq9-scored")

    # AUDIT recorded (its skip logic is covered by the assessments app's own tests), then the
    # patient's assessments page shows both.
    audit = assessment_services.assessment_record(
        patient=patient, instrument_code="AUDIT", answers=AUDIT_ANSWERS, by=coordinator
    )
    _visit(page, f"{app_url}/assessments/response/{audit.public_id}/", "day-intake-07-audit-result")
    _visit(page, f"{app_url}/assessments/patient/{patient.public_id}/", "day-intake-08-assessments")
    expect(page.locator("main")).to_contain_text("AUDIT")
    expect(page.locator("main")).to_contain_text("PHQ-9")

    # Placement: the counselor (clinical.write) signs an initial IOP placement; intake reads it.
    placement = assessment_services.placement_create(
        patient=patient, by=counselor, placement_type="initial", actual_level="2.1", **IOP_PROFILE
    )
    placement = assessment_services.placement_sign(placement=placement, by=counselor)
    assert placement.status == PlacementStatus.SIGNED
    page.goto(f"{app_url}/intake/referrals/{referral.public_id}/")
    for stage in (Stage.ASSESSED, Stage.PLACEMENT_DECIDED):
        move = page.locator("section", has=page.get_by_role("heading", name="Move this referral"))
        move.get_by_role("radio", name=Stage(stage).label, exact=True).check()
        _go(page, page.get_by_role("button", name="Move", exact=True))
    _check(page, "day-intake-09-placement-decided")

    # Admission through the referral page's form.
    admit = page.locator("section", has=page.get_by_role("heading", name="Admit", exact=True))
    admit.get_by_label("Note").fill("Starts the evening track.")
    _go(page, admit.get_by_role("button", name="Admit"))
    expect(_messages(page)).to_contain_text("Moved to “Admitted”.")
    _check(page, "day-intake-10-admitted")
    episode = Episode.objects.get(patient=patient, discharge_date__isnull=True)
    assert Referral.objects.get(pk=referral.pk).episode_id == episode.pk

    # Enrollment in a track.
    _visit(page, f"{app_url}{reverse('scheduling:track_detail', args=[track.public_id])}", "day-intake-11-track")
    _go(page, page.get_by_role("link", name="Enroll a patient"))
    page.locator("#id_episode").select_option(str(episode.pk))
    _check(page, "day-intake-12-enroll-form")
    _go(page, page.get_by_role("button", name="Enroll"))
    expect(_messages(page)).to_contain_text("Enrolled in Evening IOP")
    _check(page, "day-intake-13-enrolled")
    assert Enrollment.objects.filter(episode=episode, track=track).exists()


# --- Clinician ------------------------------------------------------------------------------------------


def test_clinician_day_rollcall_group_note_and_plan_review(page, app_url):
    site = SiteFactory(name="Riverside Clinician Day", sender_name="Oak Street Health")
    clinician = _staff(site, Role.CLINICIAN, "Carla Counselor", "carla.day@example.test", credentials="LADC")
    supervisor = _staff(site, Role.SUPERVISOR, "Sam Supervisor", "sam.day@example.test", credentials="LCSW")
    track = make_track(site, name="Morning IOP")
    today = site_today(site)
    make_session(
        site, track=track, day=today, at=time(18), minutes=180, facilitators=[clinician], topic="Evening group"
    )
    # Roll is taken for yesterday's group; tonight's is on "my day".
    session = make_session(
        site,
        track=track,
        day=today - timedelta(days=1),
        at=time(9),
        minutes=180,
        facilitators=[clinician],
        topic="Coping with cravings",
    )
    [
        enroll(site, track, start=today - timedelta(days=20), first=f, last=last, counselor=clinician)
        for f, last in [("Avery", "Alpha"), ("Blake", "Bravo"), ("Casey", "Charlie")]
    ]
    # The plan under review belongs to a caseload patient in another track.
    planned = enroll(
        site, make_track(site, name="Afternoon IOP"), start=today - timedelta(days=40), first="Drew", last="Delta"
    )
    Episode.objects.filter(pk=planned.pk).update(primary_counselor=clinician)
    signed_treatment_plan(planned, clinician, supervisor)

    sign_in(page, app_url, clinician.email, PASSWORD, clinician.totp_secret)
    _visit(page, f"{app_url}{reverse('scheduling:my_day')}", "day-clinician-01-my-day")
    expect(page.locator("main")).to_contain_text("Evening group")

    # No screenshot before the htmx rows change: Playwright's screenshot leaves style="" on the
    # inputs, which htmx then copies while settling a row — a CSP report caused by the test itself.
    page.goto(f"{app_url}{reverse('sessions:rollcall', args=[session.public_id])}")
    for i in (0, 1):
        with page.expect_response(lambda r, i=i: f"/rollcall/row/{i}/" in r.url):
            page.locator(f"#roll-row-{i}").get_by_text("Late arrival", exact=True).click()
        with page.expect_response(lambda r, i=i: f"/rollcall/row/{i}/" in r.url):
            page.locator(f"#roll-row-{i}").get_by_text("Present", exact=True).click()
    with page.expect_response(lambda r: "/rollcall/row/2/" in r.url):
        page.locator("#roll-row-2").get_by_text("No-show", exact=True).click()
    _check(page, "day-clinician-03-rollcall-marked")
    _go(page, page.get_by_role("button", name="Save roll for everyone"))
    expect(_messages(page)).to_contain_text("Roll saved")
    assert Attendance.objects.filter(session=session).count() == 3

    _go(page, page.get_by_role("button", name="Write the group note"))
    page.get_by_label("Interventions used").fill("CBT thought records")
    for i in range(page.locator("section.entry").count()):
        page.locator("textarea[name$='-participation']").nth(i).fill("Engaged; shared a trigger.")
        page.locator("textarea[name$='-response']").nth(i).fill("Receptive to feedback.")
        page.locator("textarea[name$='-progress']").nth(i).fill("Practised urge surfing.")
        page.locator("textarea[name$='-risk_observations']").nth(i).fill("None observed.")
    _check(page, "day-clinician-04-group-note")
    _go(page, page.get_by_role("button", name="Save and sign"))
    expect(_messages(page)).to_contain_text("signed and locked")
    note = GroupNote.objects.get(session=session)
    assert note.status == NoteStatus.SIGNED and note.hash_verifies()
    _check(page, "day-clinician-05-group-note-signed")

    # Plan review: the caseload patient's plans and the current treatment plan.
    patient = planned.patient
    _visit(page, f"{app_url}{reverse('plans:due')}", "day-clinician-06-plans-due")
    _visit(page, f"{app_url}{reverse('plans:overview', args=[patient.public_id])}", "day-clinician-07-plans")
    _go(page, page.get_by_role("link", name="Version 1", exact=True).first)
    expect(page.locator("main")).to_contain_text("Attend 3 groups a week")
    _check(page, "day-clinician-08-treatment-plan")
    # The review: a new draft version carrying the signed plan's parts forward.
    page.goto(f"{app_url}{reverse('plans:overview', args=[patient.public_id])}")
    _go(page, page.get_by_role("button", name="Start a review (new version)"))
    expect(page.locator("main h2").first).to_contain_text("version 2")
    _check(page, "day-clinician-09-plan-review-draft")
    _visit(page, f"{app_url}/patients/{patient.public_id}/", "day-clinician-10-chart")


# --- Supervisor -----------------------------------------------------------------------------------------


def test_supervisor_day_cosign_override_and_audit(page, app_url):
    site = SiteFactory(name="Riverside Supervisor Day", sender_name="Oak Street Health")
    supervisor = _staff(site, Role.SUPERVISOR, "Sol Supervisor", "sol.day@example.test", credentials="LCSW")
    clinician = _staff(site, Role.CLINICIAN, "Colin Counselor", "colin.day@example.test", credentials="CADC-II")
    session_services.cosign_requirement_set(user=clinician, site=site, required=True, by=supervisor, reason="New hire")
    track = make_track(site, name="Day IOP")
    yesterday = site_today(site) - timedelta(days=1)
    session = make_session(site, track=track, day=yesterday, at=time(9), minutes=180, facilitators=[clinician])
    episode = enroll(site, track, start=yesterday - timedelta(days=10), first="Dana", last="Delta", counselor=clinician)
    roll(session, clinician, {episode: "present"})
    note = session_services.progress_note_create(session=session, patient=episode.patient, by=clinician)
    note = session_services.progress_note_update(
        note=note,
        by=clinician,
        version=note.version,
        format="soap",
        sections={
            "subjective": "Cravings down.",
            "objective": "Alert.",
            "assessment": "Improving.",
            "plan": "Continue.",
        },
    )
    note = session_services.note_sign(note=note, by=clinician)
    assert note.requires_cosign
    draft = assessment_services.placement_create(
        patient=episode.patient, by=supervisor, placement_type="continued_stay", **IOP_PROFILE
    )

    sign_in(page, app_url, supervisor.email, PASSWORD, supervisor.totp_secret)
    _visit(page, f"{app_url}{reverse('sessions:cosign_queue')}", "day-supervisor-01-cosign-queue")
    _go(page, page.locator("main table").get_by_role("link", name="Dana Delta"))
    _check(page, "day-supervisor-02-note")
    _go(page, page.get_by_role("button", name="Co-sign this note"))
    expect(_messages(page)).to_contain_text("Co-signed.")
    assert ProgressNote.objects.awaiting_cosign().count() == 0
    _check(page, "day-supervisor-03-cosigned")

    # A placement override: the recommendation says IOP; the supervisor places at level 1 with a reason.
    _visit(
        page, f"{app_url}{reverse('assessments:placement_edit', args=[draft.public_id])}", "day-supervisor-04-placement"
    )
    page.locator("#id_actual_level").select_option("1")
    page.locator("#id_override_reason").select_option("PAYER_DECISION")
    page.locator("#id_override_note").fill("Payer approved outpatient only.")
    _go(page, page.get_by_role("button", name="Save and sign"))
    placement = Placement.objects.get(pk=draft.pk)
    assert placement.status == PlacementStatus.SIGNED and placement.is_override, placement.status
    assert placement.override_reason == "PAYER_DECISION"
    expect(page.locator("main")).to_contain_text("Payer approved outpatient only.")
    _check(page, "day-supervisor-05-override-signed")
    _visit(page, f"{app_url}{reverse('assessments:placement_review')}", "day-supervisor-06-placement-review")

    # No dashboard in ``reports`` yet (only the discharge summary): the audit trail instead.
    _visit(page, f"{app_url}/audit/", "day-supervisor-07-audit")
    expect(page.locator("main")).to_contain_text("Sol Supervisor")


# --- Site admin -----------------------------------------------------------------------------------------


def test_site_admin_day_in_django_admin(page, app_url):
    from scheduling.models import Room

    site = SiteFactory(name="Riverside Admin Day", sender_name="Oak Street Health")
    # As invited: staff, and no Django permission rows; the role is what opens the admin.
    admin_user = _staff(site, Role.SITE_ADMIN, "Ari Admin", "ari.day@example.test", is_staff=True)
    assert not admin_user.user_permissions.exists()
    Room.objects.create(site=site, name="Group Room A", capacity=14)
    patient = enroll(site, make_track(site), first="Evan", last="Echo").patient

    sign_in(page, app_url, admin_user.email, PASSWORD, admin_user.totp_secret)
    _visit(page, f"{app_url}/admin/", "day-admin-01-index")
    for name, url in [
        ("users", reverse("admin:users_user_changelist")),
        ("sites", reverse("admin:users_site_changelist")),
        ("rooms", reverse("admin:scheduling_room_changelist")),
    ]:
        _visit(page, f"{app_url}{url}", f"day-admin-02-{name}")
    expect(page.locator("#result_list")).to_contain_text("Group Room A")
    # Add a room through the admin's own form (its widgets must keep to the CSP too).
    _visit(page, f"{app_url}{reverse('admin:scheduling_room_add')}", "day-admin-03-room-add")
    page.locator("#id_site").select_option(str(site.pk))
    page.locator("#id_name").fill("Family Room B")
    page.locator("#id_capacity").fill("6")
    _go(page, page.locator("input[name=_save]"))
    expect(page.locator("#result_list")).to_contain_text("Family Room B")
    assert Room.objects.filter(site=site, name="Family Room B", capacity=6).exists()
    # Clinical records are not even listed for a site admin (no patient.view).
    expect(page.locator("#content-main")).not_to_contain_text("Patients")
    response = page.goto(f"{app_url}{reverse('admin:patients_patient_change', args=[patient.pk])}")

    # The admin offers no add, change or delete on clinical models to anyone (ReadOnlyAdmin);
    # a site admin cannot even open them: the change page is refused.
    assert response.status == 403, response.status
