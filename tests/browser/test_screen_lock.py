"""In a real browser: the screen lock covers an idle page without losing what was typed, every
other tab shows the locked page, and confirming it's you in a new tab uncovers it."""

from __future__ import annotations

import pytest
from django.urls import reverse

from users.models import Role
from users.tests.factories import PASSWORD, MembershipFactory, SiteFactory, UserFactory

from .conftest import assert_no_serious_violations, shot, sign_in

pytestmark = pytest.mark.django_db(transaction=True)


def test_an_idle_page_locks_keeps_its_text_and_unlocks_after_confirming(page, app_url, settings):
    settings.SESSION_LOCK_MINUTES = 10
    settings.SESSION_IDLE_TIMEOUT_MINUTES = 15
    user = UserFactory(mfa=True, full_name="Lena Lockwood")
    MembershipFactory(user=user, site=SiteFactory(name="Riverside Lock Test"), role=Role.CLINICIAN)
    sign_in(page, app_url, user.email, PASSWORD, user.totp_secret)

    # The page's clock is under the test's control from here (the server's is real).
    page.clock.install()
    page.goto(f"{app_url}{reverse('patients:search')}")
    typed = "half-written search, not sent"
    search = page.locator("main input[type=search], main input[name=q]").first
    search.fill(typed)

    page.clock.fast_forward("09:00")
    assert page.locator(".screen-lock").count() == 0  # nine idle minutes: still open
    with page.expect_response(lambda r: r.url.endswith(reverse("users:lock")) and r.status == 204):
        page.clock.fast_forward("01:10")
    cover = page.locator(".screen-lock")
    cover.wait_for()
    assert "Screen locked" in cover.inner_text()
    assert not search.is_visible()  # hidden underneath, not gone
    assert_no_serious_violations(page)
    shot(page, "screen-lock-cover")

    # The server knows: another tab of the same browser gets the locked page, not the chart.
    other = page.context.new_page()
    other.goto(f"{app_url}/")
    assert other.url.startswith(f"{app_url}{reverse('users:locked')}"), other.url
    assert "Screen locked" in other.locator("main").inner_text()
    assert_no_serious_violations(other)
    shot(other, "screen-locked-page")
    other.close()

    # Unlock: confirm it's you in a new tab; the covered page uncovers itself with the text kept.
    with page.context.expect_page() as opened:
        cover.get_by_role("link", name="Confirm it's you to unlock").click()
    confirm = opened.value
    confirm.wait_for_load_state()
    assert "/accounts/reauthenticate/" in confirm.url, confirm.url
    confirm.locator("#id_password").fill(PASSWORD)
    with confirm.expect_navigation():
        confirm.get_by_role("button", name="Confirm").click()
    assert confirm.url.endswith(reverse("users:unlocked")), confirm.url
    assert "Unlocked" in confirm.locator("main").inner_text()
    confirm.close()

    page.bring_to_front()
    page.evaluate("() => window.dispatchEvent(new Event('focus'))")
    page.locator(".screen-lock").wait_for(state="detached")
    assert search.is_visible() and search.input_value() == typed
    page.goto(f"{app_url}/")
    assert page.url == f"{app_url}/"
