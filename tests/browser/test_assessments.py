"""In a real browser: an intake coordinator administers a PHQ-9 with item 9 positive → the
safety alert appears on the counselor's home page → the counselor acknowledges it with the action
taken → the response can then be closed. Fake people only."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from playwright.sync_api import expect

from assessments.instruments import INSTRUMENTS
from assessments.models import AssessmentResponse, ResponseStatus
from notifications.models import Alert
from patients import services as patient_services
from patients.models import site_today
from users.models import Role
from users.tests.factories import PASSWORD, MembershipFactory, SiteFactory, UserFactory

from .conftest import assert_no_serious_violations, shot, sign_in

pytestmark = pytest.mark.django_db(transaction=True)

PHQ9 = [1, 1, 1, 1, 0, 1, 0, 0, 1]  # item 9 = 1 (several days)


@pytest.fixture
def clinic():
    site = SiteFactory(name="Riverside Assessment Test")
    intake = UserFactory(mfa=True, full_name="Ivy Intake", email="ivy.intake@example.test")
    MembershipFactory(user=intake, site=site, role=Role.INTAKE)
    counselor = UserFactory(mfa=True, full_name="Cora Counselor", email="cora.counselor@example.test")
    MembershipFactory(user=counselor, site=site, role=Role.CLINICIAN)
    supervisor = UserFactory(mfa=True, full_name="Sol Supervisor", email="sol.supervisor@example.test")
    MembershipFactory(user=supervisor, site=site, role=Role.SUPERVISOR)
    patient = patient_services.patient_register(
        site=site,
        by=intake,
        allow_duplicate=True,
        legal_first_name="Robin",
        legal_last_name="Fictional",
        date_of_birth=date(1987, 6, 1),
        primary_counselor=counselor,
    )
    patient_services.episode_admit(patient=patient, admission_date=site_today(site) - timedelta(days=10), by=intake)
    return site, intake, counselor, supervisor, patient


def _go(page, locator) -> None:
    with page.expect_navigation():
        locator.click()


def _sign_out(page) -> None:
    _go(page, page.get_by_role("button", name="Sign out"))


def test_item9_alerts_the_counselor_who_acknowledges_it(page, app_url, clinic):
    site, intake, counselor, supervisor, patient = clinic

    # 1. The intake coordinator opens the patient's assessments and administers a PHQ-9.
    sign_in(page, app_url, intake.email, PASSWORD, intake.totp_secret)
    page.goto(f"{app_url}/patients/{patient.public_id}/")
    _go(page, page.locator(".chart-header").get_by_role("link", name="Assessments"))
    expect(page.get_by_role("heading", name="Re-assessments")).to_be_visible()
    _go(page, page.get_by_role("link", name="PHQ-9", exact=True))
    expect(page.get_by_role("heading", level=2)).to_contain_text("PHQ-9")
    assert_no_serious_violations(page)

    # Submitting with item 9 unanswered: a per-item message, nothing saved.
    for item, value in zip(INSTRUMENTS["PHQ-9"].items[:8], PHQ9, strict=False):
        group = page.get_by_role("group", name=f"{item.number}. {item.label}")
        label = next(c.label for c in item.choices if c.value == value)
        group.get_by_label(f"{value}: {label}", exact=True).check()
    _go(page, page.get_by_role("button", name="Score and save"))
    expect(page.locator(".form-errors")).to_contain_text("Nothing was saved")
    expect(page.locator("#id_item_9_error")).to_contain_text("Item 9: missing answer")
    assert not AssessmentResponse.objects.exists()
    shot(page, "assessments-phq9-missing-item")

    # Answer item 9 with the keyboard: focus its first radio, arrow to "Several days".
    page.locator("input[name=item_9][value='0']").focus()
    page.keyboard.press("ArrowRight")
    expect(page.locator("input[name=item_9][value='1']")).to_be_checked()
    _go(page, page.get_by_role("button", name="Score and save"))
    expect(page.locator(".messages")).to_contain_text("Safety alert raised")
    expect(page.get_by_role("link", name="Administer a C-SSRS screen now")).to_be_visible()
    response = AssessmentResponse.objects.get()
    assert "SUICIDE_RISK" in response.flags and response.status == ResponseStatus.OPEN
    assert Alert.objects.count() == 1
    assert_no_serious_violations(page)
    shot(page, "assessments-phq9-item9-response")
    _sign_out(page)

    # 2. The alert is on the counselor's home page at once, with a count in the navigation.
    sign_in(page, app_url, counselor.email, PASSWORD, counselor.totp_secret)
    alerts = page.get_by_role("region", name="Alerts for you")
    expect(alerts).to_contain_text("PHQ-9 item 9 positive")
    expect(page.get_by_role("navigation", name="Main").locator(".nav-count")).to_contain_text("1")
    assert patient.legal_last_name not in alerts.inner_text()  # no PHI on the home page
    assert_no_serious_violations(page)
    shot(page, "assessments-counselor-home-alert")

    # 3. The counselor acknowledges it; a note is required.
    _go(page, alerts.get_by_role("link", name="PHQ-9 item 9 positive: thoughts of death or self-harm"))
    expect(page.locator("main")).to_contain_text(patient.legal_last_name)
    page.get_by_label("Action taken").select_option("safety_plan")
    _go(page, page.get_by_role("button", name="Acknowledge alert"))
    expect(page.locator("#id_action_note_error")).to_contain_text("never dismissed without a note")
    assert Alert.objects.get().is_open
    page.get_by_label("What you did").fill("Met the patient the same day; safety plan completed; C-SSRS booked.")
    _go(page, page.get_by_role("button", name="Acknowledge alert"))
    expect(page.locator(".messages")).to_contain_text("Alert acknowledged")
    alert = Alert.objects.get()
    assert alert.acknowledged_by == counselor and alert.action_taken == "safety_plan"
    assert_no_serious_violations(page)
    shot(page, "assessments-alert-acknowledged")

    # 4. Back on the response, it can now be closed; the home page is clear.
    _go(page, page.get_by_role("link", name="Open the record that raised this alert"))
    _go(page, page.get_by_role("button", name="Close this response"))
    expect(page.locator(".messages")).to_contain_text("Response closed")
    response.refresh_from_db()
    assert response.status == ResponseStatus.CLOSED
    page.goto(f"{app_url}/")
    expect(page.get_by_role("region", name="Alerts for you")).to_have_count(0)


def test_trend_charts_read_without_colour(page, app_url, clinic):
    from django.utils import timezone

    from assessments import services

    site, intake, counselor, supervisor, patient = clinic
    now = timezone.now()
    for weeks, total in enumerate((3, 2, 1)):
        services.assessment_record(
            patient=patient,
            instrument_code="PHQ-9",
            answers=[total] * 8 + [0],
            by=counselor,
            administered_at=now - timedelta(weeks=3 - weeks),
        )
    services.assessment_record(
        patient=patient,
        instrument_code="BAM",
        answers=[1, 2, 2, 1, 1, 0, *([None] * 7), 2, 2, 2, 1, 2, 2, 4, 2, 2, 2],
        by=counselor,
    )
    sign_in(page, app_url, counselor.email, PASSWORD, counselor.totp_secret)
    page.goto(f"{app_url}/assessments/patient/{patient.public_id}/")
    chart = page.get_by_role("img", name="PHQ-9 total over time")
    expect(chart).to_be_visible()
    expect(page.get_by_role("table", name="PHQ-9 total: values by date")).to_contain_text("24")
    expect(page.get_by_role("img", name="BAM subscales over time")).to_be_visible()
    assert_no_serious_violations(page)
    shot(page, "assessments-trend-charts")
    page.emulate_media(media="print")
    shot(page, "assessments-trend-charts-print")
