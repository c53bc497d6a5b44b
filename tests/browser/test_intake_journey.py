"""In a real browser: an intake coordinator takes a new (fake) patient from registration through
the referral pipeline to admission, with a TPO consent on file; and bad registration input."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from playwright.sync_api import expect

from patients.models import ConsentKind, Episode, Patient, Referral, ReferralEvent, Stage, site_today
from users.models import Role
from users.tests.factories import PASSWORD, MembershipFactory, SiteFactory, UserFactory

from .conftest import assert_no_serious_violations, shot, sign_in

pytestmark = pytest.mark.django_db(transaction=True)

BORN = date(1988, 3, 4)


@pytest.fixture
def intake_site():
    """A site with an intake coordinator (enrolled in TOTP) and a counselor to assign."""
    site = SiteFactory(name="Riverside Intake Test")
    coordinator = UserFactory(mfa=True, full_name="Ivy Intake", email="ivy.intake@example.test")
    MembershipFactory(user=coordinator, site=site, role=Role.INTAKE)
    counselor = UserFactory(full_name="Cora Counselor", email="cora.counselor@example.test")
    MembershipFactory(user=counselor, site=site, role=Role.CLINICIAN)
    return site, coordinator, counselor


def _nav(page, name: str) -> None:
    with page.expect_navigation():
        page.get_by_role("navigation", name="Main").get_by_role("link", name=name, exact=True).click()


def _open_registration(page) -> None:
    _nav(page, "Patients")
    with page.expect_navigation():
        page.get_by_role("link", name="Register a patient").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Register a patient at Riverside Intake Test")


def _fill_person(page, first: str, last: str, born: str, phone: str) -> None:
    page.get_by_label("Legal first name").fill(first)
    page.get_by_label("Legal last name").fill(last)
    page.get_by_label("Date of birth").fill(born)
    page.locator("#id_phone").fill(phone)


def _submit(page, button: str) -> None:
    with page.expect_navigation():
        page.get_by_role("button", name=button, exact=True).click()


def _message(page):
    return page.locator(".messages")


def test_intake_coordinator_takes_a_referral_to_admission(page, app_url, intake_site):
    site, coordinator, counselor = intake_site
    today = site_today(site)
    sign_in(page, app_url, coordinator.email, PASSWORD, coordinator.totp_secret)
    assert page.url == f"{app_url}/"

    # 1. Register a new patient through the registration form.
    _open_registration(page)
    shot(page, "intake-register-form")
    assert_no_serious_violations(page)
    _fill_person(page, "Jordan", "Brightwater", BORN.isoformat(), "212-555-0143")
    page.get_by_label("Preferred name").fill("Jo")
    page.get_by_label("Pronouns").fill("they/them")
    page.locator("#id_email").fill("jo.brightwater@example.test")
    page.get_by_label("Primary counselor").select_option(label="Cora Counselor")
    _submit(page, "Register")
    jordan = Patient.objects.get(legal_first_name="Jordan")
    assert page.url == f"{app_url}/patients/{jordan.public_id}/"
    expect(_message(page)).to_contain_text(f"Registered Jo (Jordan) Brightwater, MRN {jordan.mrn}.")
    expect(page.locator(".chart-header")).to_contain_text("No open episode")
    assert jordan.phone == "+12125550143" and jordan.primary_counselor == counselor and jordan.site == site
    shot(page, "intake-registered")

    # 2. A second person with the same birth date and a similar name: warned, confirmed, saved.
    _open_registration(page)
    _fill_person(page, "Jordyn", "Brightwater", BORN.isoformat(), "(646) 555-0199")
    _submit(page, "Register")
    warning = page.locator(".duplicate-warning")
    expect(warning.get_by_role("heading", name="Possible duplicates")).to_be_visible()
    expect(warning.get_by_role("link", name="Jo (Jordan) Brightwater")).to_be_visible()
    expect(warning).to_contain_text(jordan.mrn)
    expect(page.get_by_role("alert")).to_contain_text("This may be someone already registered")
    assert Patient.objects.count() == 1
    shot(page, "intake-duplicate-warning")
    assert_no_serious_violations(page)
    # What was typed is kept; the coordinator only confirms.
    expect(page.get_by_label("Legal first name")).to_have_value("Jordyn")
    # The confirmation sits right under the warning, not at the end of the long form.
    expect(page.locator("form.patient-form .field").first.get_by_role("checkbox")).to_have_count(1)
    page.get_by_label(re.compile("this is a different person")).check()
    _submit(page, "Register")
    jordyn = Patient.objects.get(legal_first_name="Jordyn")
    assert page.url == f"{app_url}/patients/{jordyn.public_id}/"
    expect(_message(page)).to_contain_text(f"Registered Jordyn Brightwater, MRN {jordyn.mrn}.")
    assert Patient.objects.count() == 2 and jordyn.mrn != jordan.mrn

    # 3. Find Jordan again by birth date (both show up) and record a referral from the chart.
    _nav(page, "Patients")
    page.locator("main form.filters").get_by_label("Date of birth").fill(BORN.isoformat())
    _submit(page, "Search")
    results = page.locator("main table")
    expect(results.locator("caption")).to_have_text("2 patients found")
    with page.expect_navigation():
        results.get_by_role("link", name="Jo (Jordan) Brightwater").click()
    assert page.url == f"{app_url}/patients/{jordan.public_id}/"
    with page.expect_navigation():
        page.get_by_role("link", name="Record a referral").click()
    received = today - timedelta(days=3)
    page.get_by_label("Source").select_option(label="Hospital")
    page.get_by_label("Referred by").fill("Mercy General emergency department")
    page.get_by_label("Date received").fill(received.isoformat())
    page.get_by_label("Reason for referral").fill("Alcohol use disorder; discharged after detox, needs IOP.")
    shot(page, "intake-referral-form")
    _submit(page, "Record referral")
    referral = Referral.objects.get(patient=jordan)
    assert page.url == f"{app_url}/intake/referrals/{referral.public_id}/"
    expect(_message(page)).to_contain_text("Referral recorded.")
    assert referral.stage == Stage.RECEIVED and referral.created_by == coordinator

    # 4. The intake board shows it: counts per stage and days since referral.
    _nav(page, "Intake board")
    expect(page.get_by_role("heading", level=1)).to_have_text("Intake board: Riverside Intake Test")
    counts = page.get_by_role("list", name="Referrals per stage")
    expect(counts.locator("li", has_text="Referral received")).to_contain_text("1")
    expect(counts.locator("li", has_text="Screened")).to_contain_text("0")
    row = page.locator("main table").first.locator("tr", has_text="Jo (Jordan) Brightwater")
    expect(row.locator("td").nth(1)).to_have_text("Referral received")
    expect(row.locator("td").nth(2)).to_have_text(received.isoformat())
    expect(row.locator("td").nth(3)).to_have_text("3")
    expect(row.locator("td").nth(4)).to_have_text("Hospital")
    shot(page, "intake-board")
    assert_no_serious_violations(page)

    # 5. Open the referral and move it along the pipeline with the page's own form.
    with page.expect_navigation():
        row.get_by_role("link", name="Jo (Jordan) Brightwater").click()
    assert page.url == f"{app_url}/intake/referrals/{referral.public_id}/"
    expect(page.locator("main .facts").first).to_contain_text("Referral received")
    shot(page, "intake-referral-received")
    assert_no_serious_violations(page)
    steps = [
        (Stage.SCREENING_SCHEDULED, "screening-scheduled", "Screening call booked for Thursday."),
        (Stage.SCREENED, "screened", "Phone screen done; meets criteria for assessment."),
        (Stage.ASSESSED, "assessed", "Biopsychosocial assessment completed."),
        (Stage.PLACEMENT_DECIDED, "placement-decided", "ASAM 2.1 intensive outpatient recommended."),
    ]
    for stage, slug, note in steps:
        label = Stage(stage).label
        move = page.locator("section", has=page.get_by_role("heading", name="Move this referral"))
        # Only the allowed next stage of the pipeline (plus the exits) is offered.
        expect(move.get_by_role("radio")).to_have_count(5)
        move.get_by_role("radio", name=label, exact=True).check()
        move.get_by_label("Note").fill(note)
        _submit(page, "Move")
        expect(_message(page)).to_contain_text(f"Moved to “{label}”.")
        expect(page.locator("main .facts").first).to_contain_text(label)
        expect(page.locator("ol.history li").last).to_contain_text(f"{label} by Ivy Intake. {note}")
        referral.refresh_from_db()
        assert referral.stage == stage
        shot(page, f"intake-{slug}")
    # The placement is decided: the page offers admission (and, for the referral, only exits).
    admit = page.locator("section", has=page.get_by_role("heading", name="Admit", exact=True))
    expect(admit).to_be_visible()
    headings = page.locator("main h2").all_inner_texts()
    assert headings.index("Admit") < headings.index("Move this referral"), headings
    expect(page.get_by_role("radio", name="Admitted")).to_have_count(0)
    expect(admit.get_by_label("Admission date")).to_have_value(today.isoformat())
    expect(admit.get_by_label("Primary counselor")).to_have_value(str(counselor.pk))
    expect(admit.get_by_label("Level of care at admission")).to_have_value("2.1")
    admit.get_by_label("Note").fill("Starts the evening track on Monday.")
    assert_no_serious_violations(page)
    with page.expect_navigation():
        admit.get_by_role("button", name="Admit").click()
    expect(_message(page)).to_contain_text("Moved to “Admitted”.")
    expect(page.locator("main .facts").first).to_contain_text(f"Admitted {today.isoformat()} at")
    expect(page.get_by_role("heading", name="Move this referral")).to_have_count(0)
    expect(page.locator(".chart-header")).to_contain_text(f"Admitted {today.isoformat()}, level 2.1")
    shot(page, "intake-admitted")
    referral.refresh_from_db()
    assert referral.stage == Stage.ADMITTED and referral.episode is not None
    assert list(ReferralEvent.objects.filter(referral=referral).values_list("to_stage", flat=True)) == [
        Stage.RECEIVED,
        Stage.SCREENING_SCHEDULED,
        Stage.SCREENED,
        Stage.ASSESSED,
        Stage.PLACEMENT_DECIDED,
        Stage.ADMITTED,
    ]
    assert set(ReferralEvent.objects.filter(referral=referral).values_list("by", flat=True)) == {coordinator.pk}

    # 6. Record the single TPO consent through the consent form.
    with page.expect_navigation():
        page.get_by_role("navigation", name="Chart sections").get_by_role("link", name="Chart").click()
    expect(page.locator(".chart-alerts")).to_contain_text("No active Part 2 consent")
    with page.expect_navigation():
        page.get_by_role("link", name="Record a consent").click()
    shot(page, "intake-consent-form")
    assert_no_serious_violations(page)
    page.get_by_label(re.compile(r"\(TPO\)$")).check()
    expect(page.get_by_label("Who may disclose")).to_have_value("Riverside Intake Test")
    page.get_by_label("All SUD treatment records").check()
    page.get_by_label("…or expires on this event").select_option("end_of_treatment")
    page.locator("#id_revocation_acknowledged").check()
    page.locator("#id_redisclosure_acknowledged").check()
    page.locator("#id_refusal_acknowledged").check()
    page.get_by_label("Signature: the signer types their full name").fill("Jordan Brightwater")
    _submit(page, "Record consent")
    consent = jordan.consents.get()
    assert page.url == f"{app_url}/patients/{jordan.public_id}/consents/{consent.public_id}/"
    expect(_message(page)).to_contain_text("Consent recorded.")
    assert consent.kind == ConsentKind.TPO and consent.status == "active" and consent.recorded_by == coordinator
    shot(page, "intake-consent-recorded")

    # 7. The chart: an open episode with the counselor, the admitted referral, the active consent.
    with page.expect_navigation():
        page.get_by_role("navigation", name="Chart sections").get_by_role("link", name="Chart").click()
    episodes = page.locator("section", has=page.get_by_role("heading", name="Episodes of care"))
    episode_row = episodes.locator("tbody tr").first
    expect(episode_row).to_contain_text(today.isoformat())
    expect(episode_row).to_contain_text("Cora Counselor")
    expect(episode_row.locator(".badge")).to_have_text("Open")
    referrals = page.locator("section", has=page.get_by_role("heading", name="Referrals"))
    expect(referrals.locator("tbody tr").first).to_contain_text("Admitted")
    consents = page.locator("section", has=page.get_by_role("heading", name="Part 2 consents"))
    expect(consents.locator("li").first).to_contain_text("(TPO)")
    expect(consents.locator(".badge")).to_have_text("Active")
    expect(page.locator(".chart-alerts")).not_to_contain_text("No active Part 2 consent")
    shot(page, "intake-chart")
    assert_no_serious_violations(page)
    episode = Episode.objects.get(patient=jordan)
    assert episode.is_open and episode.primary_counselor == counselor and episode.admitted_by == coordinator
    assert not Episode.objects.filter(patient=jordyn).exists()


def test_bad_registration_input_is_shown_on_the_fields_and_nothing_is_saved(page, app_url, intake_site):
    site, coordinator, _counselor = intake_site
    before = Patient.objects.count()
    sign_in(page, app_url, coordinator.email, PASSWORD, coordinator.totp_secret)
    _open_registration(page)
    future = site_today(site) + timedelta(days=5)
    _fill_person(page, "Morgan", "Futuredate", future.isoformat(), "555-0143")
    _submit(page, "Register")

    assert page.url == f"{app_url}/patients/register/"
    born = page.get_by_label("Date of birth")
    phone = page.locator("#id_phone")
    expect(page.locator("#id_date_of_birth_error")).to_have_text("The birth date cannot be in the future.")
    expect(page.locator("#id_phone_error")).to_contain_text("Enter a valid phone number")
    # The messages belong to the fields (for screen readers too) and the input is kept.
    expect(born).to_have_attribute("aria-invalid", "true")
    expect(phone).to_have_attribute("aria-invalid", "true")
    expect(born).to_have_attribute("aria-describedby", re.compile("id_date_of_birth_error"))
    expect(phone).to_have_attribute("aria-describedby", re.compile("id_phone_error"))
    expect(page.get_by_label("Legal last name")).to_have_value("Futuredate")
    expect(phone).to_have_value("555-0143")
    expect(page.locator(".messages")).to_have_count(0)
    shot(page, "intake-register-errors")
    assert_no_serious_violations(page)
    assert Patient.objects.count() == before
