"""Fixtures shared by every app's tests: sites, staff in each role, signed-in clients."""

from __future__ import annotations

import os

import pytest
from allauth.account.internal.flows.login import (
    AUTHENTICATION_METHODS_SESSION_KEY,
    record_authentication,
)
from django.test import Client, RequestFactory

from users.models import Role
from users.tests.factories import MembershipFactory, SiteFactory, UserFactory

# pytest-playwright runs an event loop; ORM calls in browser tests are still synchronous.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture
def site(db):
    return SiteFactory(name="Riverside Test", time_zone="America/New_York")


@pytest.fixture
def other_site(db):
    return SiteFactory(name="Elsewhere Test", time_zone="America/Los_Angeles")


@pytest.fixture
def make_staff(db, site):
    """``make_staff(Role.CLINICIAN)`` → an MFA-enrolled user with that role at ``site``."""

    def make(role: str = Role.CLINICIAN, *, at=None, mfa: bool = True, **user_fields):
        user = UserFactory(mfa=mfa, **user_fields)
        MembershipFactory(user=user, site=at or site, role=role)
        return user

    return make


def sign_in(client: Client, user) -> Client:
    """``force_login`` plus what allauth records at a real sign-in: a password authentication,
    now, in the session. Signing and exports need one within ``REAUTHENTICATION_MINUTES``."""
    client.force_login(user)
    session = client.session
    request = RequestFactory().get("/")
    request.session = session
    request.user = user
    record_authentication(request, user, method="password")
    session.save()
    return client


def age_authentication(client: Client, seconds: float) -> None:
    """Move every authentication of the client's session ``seconds`` into the past."""
    session = client.session
    session[AUTHENTICATION_METHODS_SESSION_KEY] = [
        {**r, "at": r["at"] - seconds} for r in session.get(AUTHENTICATION_METHODS_SESSION_KEY, [])
    ]
    session.save()


@pytest.fixture
def client_as(make_staff):
    """``client_as(Role.SUPERVISOR)`` → a test client signed in as a new staff member with that role."""

    def make(role: str = Role.CLINICIAN, *, at=None, user=None) -> Client:
        client = Client()
        client.user = user or make_staff(role, at=at)
        return sign_in(client, client.user)

    return make


@pytest.fixture
def clinician(make_staff):
    return make_staff(Role.CLINICIAN)


@pytest.fixture
def supervisor(make_staff):
    return make_staff(Role.SUPERVISOR)


@pytest.fixture
def site_admin(make_staff):
    return make_staff(Role.SITE_ADMIN)


@pytest.fixture(autouse=True)
def _clear_cache():
    # Rate limits and used TOTP codes live in the cache; tests must not see each other's.
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def sms_outbox(tmp_path, settings):
    """SMS through the file backend into a fresh folder; returns a reader of what was 'sent'
    (the outbox's tests and those of the apps that hand it messages)."""
    import json

    from notifications import backends

    settings.SMS_BACKEND = "notifications.backends.FileSmsBackend"
    settings.SMS_FILE_PATH = str(tmp_path / "sms")
    backends.reset_backends()

    class Outbox:
        folder = tmp_path / "sms"

        def lines(self, name: str = "sms.jsonl") -> list[dict]:
            path = self.folder / name
            return [json.loads(x) for x in path.read_text().splitlines()] if path.exists() else []

    yield Outbox()
    backends.reset_backends()


def make_stale(client: Client) -> None:
    """The client's last authentication is a minute older than the re-authentication window."""
    from django.conf import settings

    age_authentication(client, settings.ACCOUNT_REAUTHENTICATION_TIMEOUT + 60)


def confirm_with_password(client: Client, next_url: str):
    """allauth's "confirm it's you" page, with the factories' password; returns its response."""
    from django.urls import reverse

    from users.tests.factories import PASSWORD

    return client.post(f"{reverse('account_reauthenticate')}?next={next_url}", {"password": PASSWORD})


def confirm_with_authenticator(client: Client, user, next_url: str):
    """allauth's "confirm it's you" with the authenticator app (TOTP); returns its response."""
    from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value, yield_hotp_counters_from_time
    from django.urls import reverse

    counter = next(iter(yield_hotp_counters_from_time()))
    code = format_hotp_value(hotp_value(user.totp_secret, counter))
    return client.post(f"{reverse('mfa_reauthenticate')}?next={next_url}", {"code": code})


# --- Patients who take texts, and sessions with a roster (reminders and the outbox) ---------------
# ``make_patient`` and ``counselor`` come from the requesting app's own fixtures.


@pytest.fixture
def sms_patient(make_patient):
    """A patient who prefers texts and agreed to them at an exact number."""
    from datetime import date

    from patients.models import Patient

    patient = make_patient()
    Patient.objects.filter(pk=patient.pk).update(
        preferred_channel="sms",
        sms_opt_in=True,
        sms_opt_in_on=date(2026, 1, 5),
        sms_opt_in_source="intake_form",
        sms_number="+12125550143",
    )
    patient.refresh_from_db()
    return patient


@pytest.fixture
def make_session(site, counselor):
    """``make_session(starts_at, patients=[...])`` → a scheduled individual session with those
    patients on its roster (one-off additions)."""
    from datetime import timedelta

    from scheduling.models import RosterAddition, TherapySession

    def make(starts_at, *, patients=(), minutes: int = 60):
        session = TherapySession.objects.create(
            site=site, kind="individual", starts_at=starts_at, ends_at=starts_at + timedelta(minutes=minutes)
        )
        for p in patients:
            RosterAddition.objects.create(session=session, episode=p.episodes.open().first(), added_by=counselor)
        return session

    return make
