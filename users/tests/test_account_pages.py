"""Password reset, MFA enrolment audit, the /api/v1/me/ endpoint and the API error format."""

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value, yield_hotp_counters_from_time
from django.core import mail
from django.test import Client
from django.urls import reverse

from audit.models import Action, AuditEvent
from users.models import Role
from users.tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def test_password_reset_mails_a_link_and_nothing_else(clinician):
    response = Client().post(reverse("account_reset_password"), {"email": clinician.email})
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    assert "/accounts/password/reset/key/" in mail.outbox[0].body


def test_password_reset_does_not_reveal_whether_an_account_exists(db):
    response = Client().post(reverse("account_reset_password"), {"email": "nobody@example.test"})
    assert response.status_code == 302


@pytest.mark.django_db(transaction=True)
def test_enrolling_totp_through_the_ui_is_audited(make_staff):
    # Transactional: allauth announces the new authenticator after commit, inside the request.
    user = make_staff(Role.CLINICIAN, mfa=False)
    client = Client()
    client.post(reverse("account_login"), {"login": user.email, "password": PASSWORD})
    # Changing MFA asks for the password again first.
    assert client.get(reverse("mfa_activate_totp")).url.startswith(reverse("account_reauthenticate"))
    client.post(reverse("account_reauthenticate"), {"password": PASSWORD})
    page = client.get(reverse("mfa_activate_totp"))
    secret = page.context["form"].secret
    counter = next(iter(yield_hotp_counters_from_time()))
    response = client.post(reverse("mfa_activate_totp"), {"code": format_hotp_value(hotp_value(secret, counter))})
    assert response.status_code == 302
    assert Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()
    assert AuditEvent.objects.filter(action=Action.MFA_CHANGE, actor=user, changes__event="added").exists()
    assert client.get(reverse("home")).status_code == 200
    # The staff member is told by email that a second factor was added to their account.
    assert any(user.email in m.to for m in mail.outbox)


def test_the_api_lists_the_users_sites_and_roles(client_as, site):
    client = client_as(Role.SUPERVISOR)
    data = client.get("/api/v1/me/").json()
    assert data["email"] == client.user.email
    assert data["memberships"] == [
        {"site": str(site.public_id), "site_name": site.name, "time_zone": site.time_zone, "role": "supervisor"}
    ]


def test_the_api_refuses_anonymous_requests(client):
    assert client.get("/api/v1/me/").status_code == 401


def test_a_revoked_token_stops_working(clinician):
    from users.api.tokens import api_token_create, api_token_revoke

    token, secret = api_token_create(user=clinician, name="Reports export", expires_at=None, by=clinician)
    client = Client(headers={"Authorization": f"Token {secret}"})
    assert client.get("/api/v1/me/").status_code == 200
    api_token_revoke(token=token, by=clinician)
    assert client.get("/api/v1/me/").status_code == 401


def test_service_validation_errors_become_400_with_field_names():
    from django.core.exceptions import ValidationError

    from iop.api_exceptions import exception_handler

    response = exception_handler(ValidationError({"email": "Bad address."}), {})
    assert response.status_code == 400
    assert response.data == {"email": ["Bad address."]}
