"""In a real browser: a counselor of another site breaks the glass on a patient (exact MRN and
date of birth, a reason), reads the chart under the banner, ends the access; the patient's
site's supervisor finds it under review and marks it appropriate."""

from __future__ import annotations

from datetime import date

import pytest
from playwright.sync_api import expect

from patients.models import EmergencyAccess, ReviewOutcome
from patients.tests.factories import PatientFactory
from users.models import Role
from users.tests.factories import PASSWORD, MembershipFactory, SiteFactory, UserFactory

from .conftest import assert_no_serious_violations, shot, sign_in

pytestmark = pytest.mark.django_db(transaction=True)

REASON = "Walked in at Lakeside in withdrawal; need the medication list and allergies."


@pytest.fixture
def clinics():
    riverside = SiteFactory(name="Riverside Glass Test")
    lakeside = SiteFactory(name="Lakeside Glass Test")
    outsider = UserFactory(mfa=True, full_name="Olive Outsider", email="olive.outsider@example.test")
    MembershipFactory(user=outsider, site=lakeside, role=Role.CLINICIAN)
    supervisor = UserFactory(mfa=True, full_name="Sam Supervisor", email="sam.supervisor@example.test")
    MembershipFactory(user=supervisor, site=riverside, role=Role.SUPERVISOR)
    patient = PatientFactory(site=riverside, legal_first_name="Rowan", date_of_birth=date(1987, 6, 9))
    return patient, outsider, supervisor


def _go(page, link: str) -> None:
    with page.expect_navigation():
        page.get_by_role("navigation", name="Main").get_by_role("link", name=link, exact=True).click()


def _click(page, button: str) -> None:
    with page.expect_navigation():
        page.get_by_role("button", name=button).click()


def test_break_glass_and_review(page, app_url, clinics):
    patient, outsider, supervisor = clinics
    sign_in(page, app_url, outsider.email, PASSWORD, outsider.totp_secret)
    _go(page, "Emergency access")
    assert_no_serious_violations(page)

    # A wrong date of birth: the same answer as for nobody at all.
    page.get_by_label("MRN").fill(patient.mrn)
    page.get_by_label("Date of birth").fill("1987-06-10")
    page.get_by_label("Reason for emergency access").fill(REASON)
    _click(page, "Open the chart in an emergency")
    expect(page.locator(".form-errors")).to_contain_text("No patient matches this MRN and date of birth")
    expect(page.get_by_text("Rowan")).to_have_count(0)

    page.get_by_label("Date of birth").fill("1987-06-09")
    _click(page, "Open the chart in an emergency")
    assert page.url == f"{app_url}/patients/{patient.public_id}/"
    banner = page.get_by_role("region", name="Emergency access")
    expect(banner).to_contain_text(REASON)
    expect(banner).to_contain_text("expires at")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Rowan")
    expect(page.get_by_role("link", name="Edit")).to_have_count(0)
    shot(page, "break-glass-chart")
    assert_no_serious_violations(page)

    _click(page, "End emergency access now")
    expect(page.locator(".messages")).to_contain_text("Emergency access ended")
    assert page.goto(f"{app_url}/patients/{patient.public_id}/").status == 404

    # The supervisor of the patient's site reviews it.
    page.context.clear_cookies()
    sign_in(page, app_url, supervisor.email, PASSWORD, supervisor.totp_secret)
    _go(page, "Emergency access review")
    expect(page.get_by_role("region", name="To review (1)")).to_contain_text("Olive Outsider")
    shot(page, "break-glass-review-list")
    assert_no_serious_violations(page)
    with page.expect_navigation():
        page.get_by_role("link", name="Review", exact=True).click()
    expect(page.get_by_role("table")).to_contain_text("Chart")
    page.get_by_label("Appropriate", exact=True).check()
    _click(page, "Record review")
    expect(page.locator(".messages")).to_contain_text("Review recorded.")
    assert_no_serious_violations(page)
    assert EmergencyAccess.objects.get().review_outcome == ReviewOutcome.APPROPRIATE
