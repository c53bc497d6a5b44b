"""The screen lock (users/lock.py): a locked session sees no page of the app until the user
confirms it's them; the lock and its status are not activity, typing is."""

from __future__ import annotations

import time

import pytest
from allauth.account.internal.flows.login import record_authentication
from django.test import RequestFactory
from django.urls import reverse

from tests.fixtures import age_authentication
from users.lock import LOCKED_KEY, lock_minutes
from users.middleware import LAST_SEEN_KEY
from users.models import Role

pytestmark = pytest.mark.django_db


@pytest.fixture
def client(client_as):
    return client_as(Role.CLINICIAN)


def _lock(client) -> None:
    # Signed in a minute ago, locked now (a confirmation afterwards is newer than the lock).
    age_authentication(client, 60)
    assert client.post(reverse("users:lock")).status_code == 204


def _confirm(client) -> None:
    """What allauth records when the user confirms it's them."""
    session = client.session
    request = RequestFactory().get("/")
    request.session, request.user = session, client.user
    record_authentication(request, client.user, method="password", reauthenticated=True)
    session.save()


def test_a_locked_session_sees_the_locked_page_everywhere_until_it_confirms(client):
    home = reverse("home")
    assert client.get(home).status_code == 200
    _lock(client)
    response = client.get(home)
    assert response.status_code == 302 and response["Location"] == f"{reverse('users:locked')}?next=%2F"
    page = client.get(response["Location"])
    assert page.status_code == 200 and b"Screen locked" in page.content
    assert (
        page.context["unlock_url"].startswith("/accounts/reauthenticate/") and "next=%2F" in page.context["unlock_url"]
    )
    assert client.get(reverse("notifications:alert_list")).status_code == 302
    htmx = client.get(home, HTTP_HX_REQUEST="true")
    assert htmx.status_code == 204 and htmx["HX-Redirect"].startswith(reverse("users:locked"))
    api = client.get(reverse("api:me"))
    assert api.status_code == 401 and "locked" in api.json()["detail"]
    assert client.post(reverse("patients:search"), {"q": "x"}).status_code == 302  # a write too
    deep = client.get("/alerts/?state=open&page=2")
    assert deep["Location"] == f"{reverse('users:locked')}?next=%2Falerts%2F%3Fstate%3Dopen%26page%3D2"
    assert client.get(reverse("users:lock_status")).json() == {"locked": True, "signed_in": True}
    # Confirming (in another tab) lifts it everywhere.
    _confirm(client)
    assert client.get(reverse("users:lock_status")).json() == {"locked": False, "signed_in": True}
    assert client.get(home).status_code == 200
    assert LOCKED_KEY not in client.session
    locked_page = client.get(f"{reverse('users:locked')}?next=/alerts/")
    assert locked_page.status_code == 302 and locked_page["Location"] == "/alerts/"


def test_an_older_authentication_does_not_unlock(client):
    _lock(client)
    session = client.session
    session[LOCKED_KEY] = time.time() + 60  # locked after every authentication so far
    session.save()
    assert client.get(reverse("home")).status_code == 302


def test_confirming_and_signing_out_stay_reachable_while_locked(client):
    _lock(client)
    assert client.get(reverse("account_reauthenticate")).status_code == 200
    assert client.get(reverse("users:unlock"))["Location"].startswith("/accounts/reauthenticate/")
    assert client.get(reverse("users:unlocked")).status_code == 302  # still locked: back to the locked page
    client.post(reverse("account_logout"))
    assert client.get(reverse("users:lock_status")).json() == {"locked": True, "signed_in": False}


def test_the_unlocked_page_tells_the_other_tabs(client):
    page = client.get(reverse("users:unlocked"))
    assert page.status_code == 200 and b'data-lock-page="unlocked"' in page.content


def test_locking_takes_a_post_from_a_signed_in_user(client, django_user_model):
    assert client.get(reverse("users:lock")).status_code == 405
    from django.test import Client

    anonymous = Client()
    assert anonymous.post(reverse("users:lock")).status_code == 302
    assert anonymous.get(reverse("users:lock_status")).json() == {"locked": True, "signed_in": False}


def test_the_locked_page_returns_only_to_a_local_path(client):
    _lock(client)
    page = client.get(f"{reverse('users:locked')}?next=https://elsewhere.example/")
    assert "elsewhere" not in page.context["unlock_url"] and "next=%2F" in page.context["unlock_url"]


def test_the_lock_and_its_status_are_not_activity_but_typing_is(client):
    session = client.session
    five_minutes_ago = int(time.time()) - 300
    session[LAST_SEEN_KEY] = five_minutes_ago
    session.save()
    client.get(reverse("users:lock_status"))
    client.post(reverse("users:lock"))
    client.get(reverse("users:locked"))
    assert client.session[LAST_SEEN_KEY] == five_minutes_ago
    assert client.get(reverse("users:alive")).json() == {"locked": True, "signed_in": True}  # cover this tab too
    _confirm(client)
    assert client.get(reverse("users:alive")).json() == {"locked": False, "signed_in": True}
    assert client.session[LAST_SEEN_KEY] > five_minutes_ago


@pytest.mark.parametrize(("lock", "idle", "expected"), [(10, 15, 10), (0, 15, 0), (15, 15, 0), (20, 15, 0)])
def test_the_lock_is_off_at_zero_or_when_the_sign_out_comes_first(settings, lock, idle, expected):
    settings.SESSION_LOCK_MINUTES, settings.SESSION_IDLE_TIMEOUT_MINUTES = lock, idle
    assert lock_minutes() == expected


def test_pages_carry_the_lock_settings_and_the_cover(client, settings):
    settings.SESSION_LOCK_MINUTES = 7
    page = client.get(reverse("home")).content.decode()
    assert 'data-lock-minutes="7"' in page and 'id="screen-lock-template"' in page
    assert f'data-lock-url="{reverse("users:lock")}"' in page
    settings.SESSION_LOCK_MINUTES = 0
    page = client.get(reverse("home")).content.decode()
    assert "data-lock-minutes" not in page and "screen-lock-template" not in page
