"""Sign-in with TOTP, MFA enforcement, throttling, no public sign-up, session lifetime."""

import time

import pytest
from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value, yield_hotp_counters_from_time
from django.test import Client, override_settings
from django.urls import reverse

from audit.models import Action, AuditEvent
from users.middleware import AUTH_AT_KEY, LAST_SEEN_KEY
from users.models import Role, User
from users.tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


def current_code(secret: str) -> str:
    counter = next(iter(yield_hotp_counters_from_time()))
    return format_hotp_value(hotp_value(secret, counter))


def test_it_signs_in_with_password_then_totp(make_staff):
    user = make_staff(Role.CLINICIAN)
    client = Client()
    response = client.post(reverse("account_login"), {"login": user.email, "password": PASSWORD})
    assert response.status_code == 302
    assert response.url == reverse("mfa_authenticate")
    # Not signed in until the second factor is given.
    assert client.get(reverse("home")).status_code == 302
    response = client.post(reverse("mfa_authenticate"), {"code": current_code(user.totp_secret)})
    assert response.status_code == 302
    home = client.get(reverse("home"))
    assert home.status_code == 200
    assert b"Riverside Test" in home.content
    assert AuditEvent.objects.filter(action=Action.LOGIN, actor=user).count() == 1


def test_it_refuses_a_wrong_totp_code(make_staff):
    user = make_staff(Role.CLINICIAN)
    client = Client()
    client.post(reverse("account_login"), {"login": user.email, "password": PASSWORD})
    response = client.post(
        reverse("mfa_authenticate"), {"code": "000000" if current_code(user.totp_secret) != "000000" else "111111"}
    )
    assert response.status_code == 200
    assert b"Incorrect code" in response.content
    assert client.get(reverse("home")).status_code == 302


def test_it_requires_mfa_enrolment_before_any_page(make_staff):
    user = make_staff(Role.CLINICIAN, mfa=False)
    client = Client()
    client.post(reverse("account_login"), {"login": user.email, "password": PASSWORD})
    response = client.get(reverse("home"))
    assert response.status_code == 302
    assert response.url == reverse("mfa_index")
    assert client.get(reverse("mfa_index")).status_code == 200
    # The API answers in JSON rather than redirecting.
    api = client.get("/api/v1/me/")
    assert api.status_code == 403


def test_it_records_a_failed_sign_in_without_the_password(make_staff):
    user = make_staff(Role.CLINICIAN)
    Client().post(reverse("account_login"), {"login": user.email, "password": "wrong-password-123"})
    event = AuditEvent.objects.get(action=Action.LOGIN_FAILED)
    assert event.actor == user
    assert "wrong-password-123" not in str(event.changes)


def test_it_throttles_repeated_failed_sign_ins(make_staff):
    user = make_staff(Role.CLINICIAN)
    client = Client()
    for _ in range(5):
        client.post(reverse("account_login"), {"login": user.email, "password": "not-the-password"})
    response = client.post(reverse("account_login"), {"login": user.email, "password": PASSWORD})
    # Even the right password is refused while the limit holds.
    assert response.status_code in (200, 429)
    assert b"Too many failed login attempts" in response.content
    assert "_auth_user_id" not in client.session


def test_admin_sign_in_goes_through_the_protected_sign_in(make_staff):
    client = Client()
    response = client.get("/admin/login/")
    assert response.status_code == 302
    assert response.url.startswith(reverse("account_login"))
    # The admin therefore shares the throttle: after the limit, the admin's user is refused too.
    admin = UserFactory(mfa=True, is_staff=True, is_superuser=True)
    for _ in range(5):
        client.post(reverse("account_login") + "?next=/admin/", {"login": admin.email, "password": "nope-nope-nope"})
    response = client.post(reverse("account_login") + "?next=/admin/", {"login": admin.email, "password": PASSWORD})
    assert b"Too many failed login attempts" in response.content


def test_admin_requires_mfa(make_staff):
    admin = UserFactory(mfa=False, is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(admin)
    response = client.get("/admin/")
    assert response.status_code == 302
    assert response.url == reverse("mfa_index")


def test_there_is_no_public_sign_up(db):
    client = Client()
    response = client.get(reverse("account_signup"))
    assert b"Sign Up Closed" in response.content or b"closed" in response.content.lower()
    client.post(
        reverse("account_signup"),
        {"email": "someone@example.test", "password1": "a-long-password-123", "password2": "a-long-password-123"},
    )
    assert not User.objects.filter(email="someone@example.test").exists()


@override_settings(SESSION_IDLE_TIMEOUT_MINUTES=15)
def test_it_signs_out_after_the_idle_timeout(client_as):
    client = client_as(Role.CLINICIAN)
    assert client.get(reverse("home")).status_code == 200
    session = client.session
    session[LAST_SEEN_KEY] = int(time.time()) - 16 * 60
    session.save()
    response = client.get(reverse("home"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("account_login"))
    assert client.get(reverse("home")).status_code == 302  # still signed out
    assert AuditEvent.objects.filter(action=Action.LOGOUT, actor=client.user).exists()


@override_settings(SESSION_ABSOLUTE_HOURS=12)
def test_it_signs_out_after_the_absolute_lifetime_even_when_active(client_as):
    client = client_as(Role.CLINICIAN)
    client.get(reverse("home"))
    session = client.session
    session[AUTH_AT_KEY] = int(time.time()) - 12 * 3600 - 5
    session[LAST_SEEN_KEY] = int(time.time())
    session.save()
    assert client.get(reverse("home")).status_code == 302


def test_an_htmx_request_after_timeout_is_told_to_redirect(client_as):
    client = client_as(Role.CLINICIAN)
    client.get(reverse("home"))
    session = client.session
    session[LAST_SEEN_KEY] = int(time.time()) - 3 * 3600
    session.save()
    response = client.get(reverse("home"), headers={"HX-Request": "true"})
    assert response.status_code == 204
    assert response["HX-Redirect"].startswith(reverse("account_login"))


def test_changing_the_password_ends_every_other_session(make_staff):
    user = make_staff(Role.CLINICIAN)
    laptop, tablet = Client(), Client()
    laptop.force_login(user)
    tablet.force_login(user)
    assert tablet.get(reverse("home")).status_code == 200
    response = laptop.post(
        reverse("account_change_password"),
        {"oldpassword": PASSWORD, "password1": "a-brand-new-passphrase-42", "password2": "a-brand-new-passphrase-42"},
    )
    assert response.status_code == 302
    assert laptop.get(reverse("home")).status_code == 200
    assert tablet.get(reverse("home")).status_code == 302
    assert AuditEvent.objects.filter(action=Action.PASSWORD_CHANGE, actor=user).exists()


def test_pages_of_signed_in_users_are_not_cached(client_as):
    response = client_as(Role.CLINICIAN).get(reverse("home"))
    assert "no-store" in response["Cache-Control"]


def test_a_signed_in_non_staff_user_is_refused_the_admin(client_as):
    client = client_as(Role.SUPERVISOR)
    assert client.get("/admin/login/").status_code == 403


def test_a_sign_in_with_the_second_factor_spares_the_enrolment_query_until_it_is_removed(make_staff):
    from allauth.mfa.models import Authenticator
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from users.middleware import MFA_KEY

    user = make_staff(Role.CLINICIAN)
    client = Client()
    client.post(reverse("account_login"), {"login": user.email, "password": PASSWORD})
    client.post(reverse("mfa_authenticate"), {"code": current_code(user.totp_secret)})
    assert client.session[MFA_KEY] == user.pk
    with CaptureQueriesContext(connection) as queries:
        assert client.get(reverse("home")).status_code == 200
    assert not [q for q in queries.captured_queries if "mfa_authenticator" in q["sql"]]

    # Removing the authenticator through the MFA pages forgets the answer: the next page asks
    # the database again and sends the user to set a second factor up.
    if client.post(reverse("mfa_deactivate_totp")).url.startswith(reverse("account_reauthenticate")):
        client.post(reverse("account_reauthenticate"), {"password": PASSWORD})
    response = client.post(reverse("mfa_deactivate_totp"))
    assert response.status_code == 302
    assert not Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()
    assert MFA_KEY not in client.session
    assert client.get(reverse("home")).url == reverse("mfa_index")


# Transactional: allauth announces a new authenticator after commit, inside the request.
@pytest.mark.django_db(transaction=True)
def test_a_second_factor_set_up_during_the_session_is_remembered(make_staff):
    from users.middleware import MFA_KEY

    user = make_staff(Role.CLINICIAN, mfa=False)
    client = Client()
    client.post(reverse("account_login"), {"login": user.email, "password": PASSWORD})
    assert client.get(reverse("home")).url == reverse("mfa_index")
    assert MFA_KEY not in client.session
    page = client.get(reverse("mfa_activate_totp"))
    if page.status_code == 302:
        client.post(reverse("account_reauthenticate"), {"password": PASSWORD})
        page = client.get(reverse("mfa_activate_totp"))
    secret = page.context["form"].secret
    counter = next(iter(yield_hotp_counters_from_time()))
    client.post(reverse("mfa_activate_totp"), {"code": format_hotp_value(hotp_value(secret, counter))})
    assert client.session[MFA_KEY] == user.pk
    assert client.get(reverse("home")).status_code == 200


def test_a_session_without_the_flag_still_asks_the_database_and_writes_nothing(client, make_staff):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from users.middleware import MFA_KEY

    user = make_staff(Role.CLINICIAN)
    client.force_login(user)
    with CaptureQueriesContext(connection) as queries:
        assert client.get(reverse("home")).status_code == 200
    sql = [q["sql"] for q in queries.captured_queries]
    assert any("mfa_authenticator" in q for q in sql)
    assert not any(q.startswith("UPDATE") and "django_session" in q for q in sql)
    assert MFA_KEY not in client.session
