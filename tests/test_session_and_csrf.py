"""Session fixation and CSRF: the session key changes at sign-in, every POST form carries a
CSRF token, and a POST without one is refused with 403.

The forms are those of every page reached by the walk in ``tests/test_phi_pages_headers.py``
(every named route, filled from the demo clinic), so forms added later are checked too.
"""

from __future__ import annotations

from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import pytest
from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value, yield_hotp_counters_from_time
from django.conf import settings
from django.contrib.sessions.backends.db import SessionStore
from django.test import Client
from django.urls import reverse

from tests.test_phi_pages_headers import clinic_walk  # noqa: F401 - the shared walk fixture
from users.models import Role
from users.tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def _code(secret: str) -> str:
    return format_hotp_value(hotp_value(secret, next(iter(yield_hotp_counters_from_time()))))


def _session_key(client: Client) -> str | None:
    cookie = client.cookies.get(settings.SESSION_COOKIE_NAME)
    return cookie.value if cookie else None


# --- session rotation ---------------------------------------------------------------------


def test_the_session_key_changes_at_sign_in_and_the_old_one_is_dead(make_staff):
    user = make_staff(Role.CLINICIAN)
    client = Client()
    # An attacker-chosen (fixated) anonymous session the victim's browser already carries.
    fixated = SessionStore()
    fixated["planted"] = True
    fixated.save()
    client.cookies[settings.SESSION_COOKIE_NAME] = fixated.session_key

    response = client.post(reverse("account_login"), {"login": user.email, "password": PASSWORD})
    assert response.status_code == 302 and response.url == reverse("mfa_authenticate")
    response = client.post(reverse("mfa_authenticate"), {"code": _code(user.totp_secret)})
    assert response.status_code == 302
    assert client.get(reverse("home")).status_code == 200

    signed_in_key = _session_key(client)
    assert signed_in_key and signed_in_key != fixated.session_key
    assert not SessionStore().exists(fixated.session_key)
    attacker = Client()
    attacker.cookies[settings.SESSION_COOKIE_NAME] = fixated.session_key
    assert attacker.get(reverse("home")).status_code == 302  # to the sign-in page


def test_sign_out_ends_the_session_on_the_server(client_as):
    client = client_as(Role.CLINICIAN)
    assert client.get(reverse("home")).status_code == 200
    key = _session_key(client)
    client.post(reverse("account_logout"))
    assert not SessionStore().exists(key)
    replay = Client()
    replay.cookies[settings.SESSION_COOKIE_NAME] = key
    assert replay.get(reverse("home")).status_code == 302


# --- CSRF -----------------------------------------------------------------------------


class _Forms(HTMLParser):
    """Each <form method="post">: its action and whether it holds a csrfmiddlewaretoken input."""

    def __init__(self):
        super().__init__()
        self.forms: list[dict] = []
        self._open: dict | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form" and (attrs.get("method") or "get").lower() == "post":
            self._open = {"action": attrs.get("action") or "", "token": False}
            self.forms.append(self._open)
        elif tag == "input" and self._open is not None and attrs.get("name") == "csrfmiddlewaretoken":
            self._open["token"] = bool(attrs.get("value"))

    def handle_endtag(self, tag):
        if tag == "form":
            self._open = None


def _post_forms(walk) -> list[tuple[str, str, dict]]:
    found = []
    for page in walk.pages:
        parser = _Forms()
        parser.feed(page.response.content.decode())
        found += [(page.name, page.url, form) for form in parser.forms]
    return found


def test_every_post_form_on_every_page_carries_a_csrf_token(clinic_walk):  # noqa: F811
    forms = _post_forms(clinic_walk)
    missing = [f"{name} {url} → action {form['action']!r}" for name, url, form in forms if not form["token"]]
    assert not missing, "POST forms without a CSRF token:\n" + "\n".join(missing)
    assert len({name for name, _, _ in forms}) >= 25, clinic_walk.report()


def test_a_post_without_the_token_is_refused_on_every_form_action(clinic_walk, make_staff):  # noqa: F811
    """Every form action met in the walk, posted to by a signed-in user without the token → 403.

    The walk's objects were rolled back with its test, but CSRF is checked by the middleware
    before any view runs, so the 403 does not depend on the objects existing.
    """
    actions = sorted(
        {
            urlsplit(urljoin(url, form["action"])).path
            for _, url, form in _post_forms(clinic_walk)
            if not urlsplit(urljoin(url, form["action"])).netloc or form["action"].startswith("/")
        }
    )
    assert len(actions) >= 25, actions
    client = Client(enforce_csrf_checks=True)
    client.force_login(make_staff(Role.SUPERVISOR))
    accepted = [path for path in actions if client.post(path, {"anything": "x"}).status_code != 403]
    assert not accepted, "POST without a CSRF token was not refused at:\n" + "\n".join(accepted)


def test_the_same_post_with_the_token_gets_past_the_check(make_staff, site):
    """The control for the test above: the 403 comes from the CSRF check, not from the view."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(make_staff(Role.SUPERVISOR))
    client.get(reverse("home"))  # sets the CSRF cookie
    token = client.cookies[settings.CSRF_COOKIE_NAME].value
    refused = client.post(reverse("users:site_switch"), {"site": site.public_id})
    allowed = client.post(reverse("users:site_switch"), {"site": site.public_id, "csrfmiddlewaretoken": token})
    assert refused.status_code == 403
    assert allowed.status_code != 403


@pytest.mark.parametrize(
    "name",
    ["patients:register", "scheduling:track_create", "account_change_password", "account_logout"],
)
def test_sample_write_views_refuse_a_post_without_the_token(make_staff, name):
    client = Client(enforce_csrf_checks=True)
    client.force_login(make_staff(Role.SUPERVISOR))
    assert client.post(reverse(name), {"legal_first_name": "x"}).status_code == 403
