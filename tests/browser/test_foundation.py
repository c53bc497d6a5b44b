"""In a real browser: sign-in per demo role, TOTP enrolment, passkeys, and axe-core checks."""

from __future__ import annotations

import io
import re

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.urls import reverse

from users.demo import DEMO_PASSWORD, STAFF, seed
from users.models import User
from users.tests.factories import PASSWORD, MembershipFactory, SiteFactory, UserFactory

from .conftest import assert_no_serious_violations, confirm_password, shot, sign_in, totp_code

pytestmark = pytest.mark.django_db(transaction=True)

DEMO = {email: (name, roles) for email, name, _credentials, roles, _is_staff, _is_superuser in STAFF}


@pytest.fixture
def demo_staff():
    """The demo clinic, every demo account enrolled in TOTP: ``{email: secret}``."""
    seed(io.StringIO(), {})
    secrets = {}
    for user in User.objects.filter(email__in=DEMO):
        secrets[user.email] = generate_totp_secret()
        TOTP.activate(user, secrets[user.email])
    return secrets


@pytest.mark.parametrize("email", list(DEMO))
def test_each_demo_role_signs_in_and_lands_home(page, app_url, demo_staff, email):
    name, roles = DEMO[email]
    sign_in(page, app_url, email, DEMO_PASSWORD, demo_staff[email])
    assert page.url == f"{app_url}/"
    main = page.locator("main")
    assert name in main.inner_text()
    if roles:
        # The first site (alphabetically the current one) and the role held there are shown.
        site, role = sorted(roles.items())[0]
        assert f"Working in {site}" in main.inner_text()
        assert role.label in page.locator(".account .who").inner_text()
        for site, role in roles.items():
            row = main.locator("tr", has_text=site)
            assert role.label in row.inner_text()
    else:
        assert "You are not a member of any site yet" in main.inner_text()
        assert page.get_by_role("navigation", name="Main").get_by_role("link", name="Administration").is_visible()
        assert "You administer the system" in main.inner_text()
    shot(page, f"home-{email.split('@')[0]}")


def test_a_user_without_mfa_must_enrol_totp_through_the_ui(page, app_url):
    user = UserFactory(mfa=False, full_name="Nora Newcomer")
    MembershipFactory(user=user, site=SiteFactory(name="Riverside Test"))
    sign_in(page, app_url, user.email, PASSWORD, totp_secret=None)
    # Sent to the two-factor set-up page rather than home.
    assert page.url == f"{app_url}{reverse('mfa_index')}"
    assert "Set up two-factor authentication" in page.locator(".messages").inner_text()
    shot(page, "mfa-setup-required")

    with page.expect_navigation():
        page.get_by_role("link", name="Activate").first.click()
    confirm_password(page, app_url, PASSWORD)
    assert page.url == f"{app_url}{reverse('mfa_activate_totp')}"
    # allauth renders the secret in a disabled text field (and as the QR code's alt text).
    secret = page.locator("#authenticator_secret").input_value()
    assert re.fullmatch(r"[A-Z2-7]{16,}", secret), secret
    shot(page, "mfa-totp-activate")
    page.locator("#id_code").fill(totp_code(secret))
    with page.expect_navigation():
        page.get_by_role("button", name="Activate").click()
    assert Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()

    page.goto(f"{app_url}/")
    assert page.url == f"{app_url}/"
    assert "Working in Riverside Test" in page.locator("main").inner_text()


def _add_virtual_authenticator(page):
    """A platform authenticator that holds resident keys and always verifies the user."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    added = cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
            }
        },
    )
    return cdp, added["authenticatorId"]


def test_a_passkey_is_registered_and_then_signs_in(page, app_url):
    user = UserFactory(mfa=True, full_name="Petra Passkey")
    MembershipFactory(user=user, site=SiteFactory(name="Riverside Test"))
    cdp, authenticator_id = _add_virtual_authenticator(page)
    sign_in(page, app_url, user.email, PASSWORD, user.totp_secret)
    assert page.url == f"{app_url}/"

    # Register a passkey (passwordless, so it can sign in on its own).
    page.goto(f"{app_url}{reverse('mfa_add_webauthn')}")
    confirm_password(page, app_url, PASSWORD)
    assert page.url == f"{app_url}{reverse('mfa_add_webauthn')}"
    page.locator("#id_name").fill("Virtual passkey")
    page.locator("#id_passwordless").check()
    with page.expect_navigation():
        page.locator("#mfa_webauthn_add").click()
    key = Authenticator.objects.get(user=user, type=Authenticator.Type.WEBAUTHN)
    assert key.wrap().name == "Virtual passkey"
    assert len(cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator_id})["credentials"]) == 1
    shot(page, "passkey-registered")

    # Sign out, then sign in with the passkey alone: no password, no authenticator code.
    page.goto(f"{app_url}/")
    with page.expect_navigation():
        page.get_by_role("button", name="Sign out").click()
    assert "/accounts/login/" in page.url
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in with a passkey").click()
    page.wait_for_url(f"{app_url}/")
    assert "Welcome, Petra Passkey" in page.locator("main").inner_text()
    shot(page, "passkey-signed-in")


def test_the_login_page_has_no_serious_accessibility_violations(page, app_url):
    page.goto(f"{app_url}/accounts/login/")
    shot(page, "login")
    assert_no_serious_violations(page)


def test_the_home_page_has_no_serious_accessibility_violations(page, app_url, demo_staff):
    # The supervisor works at two sites, so the page includes the site switcher too.
    sign_in(page, app_url, "supervisor@demo.test", DEMO_PASSWORD, demo_staff["supervisor@demo.test"])
    assert page.url == f"{app_url}/"
    assert page.locator("#site-switch").is_visible()
    assert_no_serious_violations(page)
