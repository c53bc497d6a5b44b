"""In a real browser: a program director opens the dashboard (screenshot, axe check), narrows
it to a range and downloads a table as CSV."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse

from audit.models import Action, AuditEvent
from reports.tests.world import build
from users.models import Role
from users.tests.factories import PASSWORD, MembershipFactory, SiteFactory, UserFactory

from .conftest import assert_no_serious_violations, shot, sign_in

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def scene():
    site = SiteFactory(name="Riverside Test", time_zone="America/New_York", sender_name="Oak Street Health")
    other = SiteFactory(name="Elsewhere Test", time_zone="America/Los_Angeles", sender_name="Pine Street Health")
    world = build(site, other)
    director = UserFactory(mfa=True, full_name="Dana Director", credentials="LCSW")
    MembershipFactory(user=director, site=site, role=Role.DIRECTOR)
    return world, director


def test_director_opens_the_dashboard_and_downloads_a_csv(page, app_url, scene, tmp_path):
    world, director = scene
    sign_in(page, app_url, director.email, PASSWORD, director.totp_secret)

    page.get_by_role("link", name="Dashboard").click()
    page.wait_for_url(f"**{reverse('reports:dashboard')}")
    assert page.get_by_role("heading", name="Program dashboard", level=1).is_visible()

    page.locator("#id_start").fill(world.start.isoformat())
    page.locator("#id_end").fill(world.end.isoformat())
    with page.expect_navigation():
        page.get_by_role("button", name="Show").click()
    main = page.locator("main")
    assert "75.0 %" in main.inner_text()  # attendance rate of the hand-built data
    assert page.locator("svg.bar-svg").count() >= 4
    assert page.locator("#table-retention tbody tr").count() == 3
    assert world.episodes["E1"].patient.mrn not in main.inner_text()
    shot(page, "reports-dashboard")
    assert_no_serious_violations(page)

    with page.expect_download() as info:
        page.get_by_role("link", name="Download “Admissions and discharges per week” as CSV").click()
    download = info.value
    target = tmp_path / download.suggested_filename
    download.save_as(target)
    lines = target.read_text().splitlines()
    assert lines[0] == "Week of,Admissions,Discharges"
    assert f"{world.M.isoformat()},2,0" in lines
    assert f"{(world.M + timedelta(days=14)).isoformat()},1,1" in lines
    assert AuditEvent.objects.filter(action=Action.EXPORT, object_type="reports.Dashboard", object_id="flow").exists()
