"""In a real browser: write a treatment plan, sign it, review it (a new version), and print the
relapse-prevention plan; axe checks on the plan page."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse

from patients.models import site_today
from plans import services
from plans.models import PlanStatus, TreatmentPlan
from plans.tests.helpers import fill_rp_plan, make_episode, make_patient
from users.models import Role
from users.tests.factories import PASSWORD, MembershipFactory, SiteFactory, UserFactory

from .conftest import assert_no_serious_violations, shot, sign_in

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def scene():
    site = SiteFactory(name="Riverside Test", sender_name="Oak Street Health")
    author = UserFactory(mfa=True, full_name="Sam Supervisor", credentials="LCSW")
    MembershipFactory(user=author, site=site, role=Role.SUPERVISOR)
    patient = make_patient(site, legal_first_name="Avery", legal_last_name="Example", primary_counselor=author)
    episode = make_episode(patient, admitted=site_today(site) - timedelta(days=5), by=author)
    return site, author, patient, episode


def test_write_sign_review_and_print(page, app_url, scene):
    site, author, patient, episode = scene
    sign_in(page, app_url, author.email, PASSWORD, author.totp_secret)

    # Plans due lists the initial plans; the patient's plans page starts one.
    page.goto(f"{app_url}{reverse('plans:due')}")
    assert "Avery" in page.locator("main").inner_text()
    page.goto(f"{app_url}{reverse('plans:overview', args=[patient.public_id])}")
    with page.expect_navigation():
        page.get_by_role("button", name="Write the initial plan").click()
    assert "Treatment plan, version 1" in page.locator("main h2").first.inner_text()

    page.get_by_label("Problem statement").fill("Daily drinking with blackouts")
    page.get_by_label("5 Relapse, continued use or continued problem potential").check()
    page.get_by_label("Diagnosis").fill("Alcohol use disorder, moderate")
    page.get_by_label("ICD-10 code").fill("F10.20")
    with page.expect_navigation():
        page.get_by_role("button", name="Add problem").click()

    page.get_by_text("Add a goal to problem 1").click()
    page.get_by_label("Goal, in the patient's words").fill("I want to keep my job and my family.")
    with page.expect_navigation():
        page.get_by_role("button", name="Add goal").click()

    page.get_by_text("Add an objective to this goal").click()
    page.get_by_label("Measurable objective").fill("Attend 3 groups a week for 4 weeks")
    # Bad input first: no target date → a clear message on the field, nothing saved.
    with page.expect_navigation():
        page.get_by_role("button", name="Add objective").click()
    assert "needs a target date" in page.locator(".errorlist").inner_text()
    page.get_by_label("Target date").fill((site_today(site) + timedelta(days=28)).isoformat())
    with page.expect_navigation():
        page.get_by_role("button", name="Add objective").click()
    assert "Attend 3 groups a week" in page.locator("main").inner_text()

    # Each objective needs an intervention (modality, frequency, responsible staff).
    page.get_by_text("Add an intervention").click()
    page.get_by_label("Modality").fill("CBT group")
    page.get_by_label("Frequency").fill("3 times a week")
    page.get_by_label("Responsible staff").select_option(value=str(author.pk))
    with page.expect_navigation():
        page.get_by_role("button", name="Add intervention").click()
    assert "Intervention: CBT group, 3 times a week" in page.locator("main").inner_text()

    # Signing before the person-centred part is written: refused, each missing item named.
    page.get_by_label("Patient's signature (typed full name)").fill("Avery Example")
    with page.expect_navigation():
        page.get_by_role("button", name="Sign the plan").click()
    assert TreatmentPlan.objects.get().status == PlanStatus.DRAFT
    assert "discharge criteria" in page.locator("main").inner_text().lower()
    for label, text in (
        ("Strengths", "Steady job; supportive sister"),
        ("Needs", "Evening transport on group days"),
        ("Abilities", "Keeps a written schedule"),
        ("Preferences", "Morning individual sessions"),
        ("Discharge criteria", "Six weeks of attendance at 9 h a week and a signed relapse-prevention plan"),
    ):
        page.get_by_label(label, exact=True).fill(text)
    with page.expect_navigation():
        page.get_by_role("button", name="Save", exact=True).click()
    assert_no_serious_violations(page)
    shot(page, "plans-treatment-plan-draft")

    page.get_by_label("Patient's signature (typed full name)").fill("Avery Example")
    with page.expect_navigation():
        page.get_by_role("button", name="Sign the plan").click()
    assert "version 1 is now the plan in effect" in page.locator(".messages").inner_text()
    assert TreatmentPlan.objects.get().status == PlanStatus.SIGNED
    assert_no_serious_violations(page)
    shot(page, "plans-treatment-plan-signed")

    # Review: a new draft version, copied from the signed one; version 1 stays readable.
    page.goto(f"{app_url}{reverse('plans:overview', args=[patient.public_id])}")
    with page.expect_navigation():
        page.get_by_role("button", name="Start a review (new version)").click()
    assert "Treatment plan, version 2" in page.locator("main h2").first.inner_text()
    assert "Daily drinking with blackouts" in page.locator("main").inner_text()
    with page.expect_navigation():
        page.get_by_role("navigation", name="Versions").get_by_role("link", name="v1 (signed)").click()
    assert "This version is signed and cannot be changed" in page.locator("main").inner_text()

    # The relapse-prevention plan's patient copy, printed.
    plan = services.rp_plan_start(episode=episode, by=author)
    fill_rp_plan(plan, author)
    services.rp_plan_sign(plan=plan, by=author, patient_signed_name="Avery Example")
    page.goto(f"{app_url}{reverse('plans:rp_plan', args=[patient.public_id, plan.public_id])}")
    assert_no_serious_violations(page)
    with page.expect_navigation():
        page.get_by_role("link", name="Patient copy (print)").click()
    text = page.locator("main").inner_text()
    assert "Oak Street Health" in text and "Riverside Test" not in text
    assert "988" in text and "Tired after night shifts" in text
    assert_no_serious_violations(page)
    page.emulate_media(media="print")
    assert not page.get_by_text("Back to the plan").is_visible()
    shot(page, "plans-relapse-prevention-print")
