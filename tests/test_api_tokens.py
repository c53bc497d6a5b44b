"""Per-user API tokens: issued and revoked on the staff member's own page (audited, the secret
shown once and stored only as a hash), acting as their owner (their sites only, membership
changes applied at once), refused with 401 once revoked or expired, and revocable in the admin."""

from __future__ import annotations

import hashlib
import importlib
import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from audit.models import Action, AuditEvent
from tests.fixtures import sign_in
from users.api.tokens import api_token_create
from users.models import ApiToken, Membership, Role
from users.services import membership_set_role
from users.tests.factories import UserFactory

from .test_api_world import build_world, staff_member

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(db):
    return build_world()


def _signed_in(user, **kwargs) -> Client:
    client = Client(**kwargs)
    sign_in(client, user)
    return client


def _create_token(user, name: str = "EHR import", expires: str = "90") -> str:
    response = _signed_in(user).post(reverse("users:api_token_create"), {"name": name, "expires": expires})
    assert response.status_code == 200
    secret = response.context["new_secret"]
    assert secret in response.content.decode()
    return secret


def _api(secret: str, keyword: str = "Token") -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"{keyword} {secret}")
    return client


def _token_of(secret: str) -> ApiToken:
    return ApiToken.objects.get(prefix=secret[: ApiToken.PREFIX_LENGTH])


# --- issuing ---------------------------------------------------------------------------------


def test_the_secret_is_shown_once_and_only_its_hash_is_stored(world):
    user = world.staff[Role.CLINICIAN]
    secret = _create_token(user, name="EHR import", expires="30")
    token = _token_of(secret)
    assert token.secret_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert token.name == "EHR import" and token.user == user
    assert timedelta(days=29) < token.expires_at - timezone.now() <= timedelta(days=30)
    # Nothing in the stored row holds the secret (the prefix is only its first characters).
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM users_apitoken WHERE id = %s", [token.pk])
        row = cursor.fetchone()
    assert not any(secret in str(value) for value in row)
    assert len(token.prefix) == 12 and len(secret) > 40
    # The page shows its beginning afterwards, never the whole secret.
    page = _signed_in(user).get(reverse("users:api_tokens")).content.decode()
    assert secret not in page
    assert token.prefix in page and "EHR import" in page
    event = AuditEvent.objects.get(action=Action.CREATE, object_type="users.ApiToken")
    assert event.actor == user and event.object_id == str(token.public_id)
    assert event.changes["prefix"] == token.prefix and event.changes["name"] == "EHR import"
    assert secret not in str(event.changes)


def test_a_person_may_hold_several_named_tokens(world):
    user = world.staff[Role.INTAKE]
    first = _create_token(user, name="EHR import")
    second = _create_token(user, name="Billing export", expires="never")
    assert first != second
    assert _token_of(second).expires_at is None
    for secret in (first, second):
        assert _api(secret).get(reverse("api:me")).status_code == 200
    page = _signed_in(user).get(reverse("users:api_tokens")).content.decode()
    assert "EHR import" in page and "Billing export" in page


def test_a_name_in_use_or_missing_is_refused_naming_the_field(world):
    user = world.staff[Role.INTAKE]
    _create_token(user, name="EHR import")
    response = _signed_in(user).post(reverse("users:api_token_create"), {"name": "ehr IMPORT", "expires": "90"})
    assert response.status_code == 400
    assert "already have a token named" in str(response.context["form"].errors["name"])
    assert "new_secret" not in response.context or not response.context["new_secret"]
    response = _signed_in(user).post(reverse("users:api_token_create"), {"name": "", "expires": "soon"})
    assert response.status_code == 400
    assert set(response.context["form"].errors) == {"name", "expires"}
    assert ApiToken.objects.filter(user=user).count() == 1


def test_a_revoked_name_can_be_used_again(world):
    user = world.staff[Role.INTAKE]
    old = _create_token(user, name="EHR import")
    _signed_in(user).post(reverse("users:api_token_revoke", args=[_token_of(old).public_id]))
    new = _create_token(user, name="EHR import")
    assert _api(old).get(reverse("api:me")).status_code == 401
    assert _api(new).get(reverse("api:me")).status_code == 200


# --- authenticating ----------------------------------------------------------------------------


def test_a_token_acts_as_its_owner_at_their_sites_only(world):
    secret = _create_token(world.other_clinician)
    client = _api(secret)
    listed = client.get(reverse("api:patient-list")).json()["results"]
    assert [p["id"] for p in listed] == [str(world.objects["other_patient"].public_id)]
    patient = world.objects["patient"]
    assert client.get(reverse("api:patient-detail", kwargs={"patient_id": patient.public_id})).status_code == 404
    event = AuditEvent.objects.filter(action=Action.VIEW, object_type="patients.Patient").first()
    assert event.actor == world.other_clinician


@pytest.mark.parametrize("keyword", ["Token", "Bearer", "bearer"])
def test_both_header_keywords_work(world, keyword):
    secret = _create_token(world.staff[Role.CLINICIAN])
    response = _api(secret, keyword).get(reverse("api:me"))
    assert response.status_code == 200
    assert response.json()["email"] == world.staff[Role.CLINICIAN].email


@pytest.mark.parametrize(
    "header",
    [
        "Token iop_notarealtokenatall0000000000000000000000000",
        "Token short",
        "Token",
        "Token two parts",
        "Bearer 0123456789abcdef0123456789abcdef01234567",
    ],
)
def test_an_unknown_or_malformed_token_is_refused_with_401(world, header):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)
    response = client.get(reverse("api:me"))
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"


def test_a_wrong_secret_with_a_real_prefix_is_refused(world):
    secret = _create_token(world.staff[Role.CLINICIAN])
    forged = secret[: ApiToken.PREFIX_LENGTH] + "x" * (len(secret) - ApiToken.PREFIX_LENGTH)
    assert _api(forged).get(reverse("api:me")).status_code == 401


def test_revoking_cuts_the_integration_off_with_401(world):
    user = world.staff[Role.SUPERVISOR]
    secret = _create_token(user)
    client = _api(secret)
    assert client.get(reverse("api:me")).status_code == 200
    token = _token_of(secret)
    response = _signed_in(user).post(reverse("users:api_token_revoke", args=[token.public_id]))
    assert response.status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None and token.revoked_by == user
    response = client.get(reverse("api:me"))
    assert response.status_code == 401
    assert response.json()["detail"] == "This token was revoked."
    event = AuditEvent.objects.get(action=Action.UPDATE, object_type="users.ApiToken", actor=user)
    assert event.object_id == str(token.public_id)
    assert event.changes["before"] == {"revoked_at": None} and event.changes["after"]["revoked_at"]
    assert secret not in str(event.changes)
    # The revoked token leaves the page.
    assert token.prefix not in _signed_in(user).get(reverse("users:api_tokens")).content.decode()


def test_only_the_owner_can_revoke_from_the_page(world):
    owner = world.staff[Role.CLINICIAN]
    secret = _create_token(owner)
    token = _token_of(secret)
    for other in (world.staff[Role.SUPERVISOR], world.staff[Role.SITE_ADMIN], world.other_clinician):
        assert _signed_in(other).post(reverse("users:api_token_revoke", args=[token.public_id])).status_code == 404
    assert _api(secret).get(reverse("api:me")).status_code == 200


def test_an_expired_token_is_refused_with_401(world):
    secret = _create_token(world.staff[Role.CLINICIAN], expires="30")
    client = _api(secret)
    assert client.get(reverse("api:me")).status_code == 200
    ApiToken.objects.filter(prefix=secret[:12]).update(expires_at=timezone.now() - timedelta(seconds=1))
    response = client.get(reverse("api:me"))
    assert response.status_code == 401
    assert response.json()["detail"] == "This token has expired."
    # Still listed (as expired) so its owner can see why the integration stopped, and revoke it.
    page = _signed_in(world.staff[Role.CLINICIAN]).get(reverse("users:api_tokens")).content.decode()
    assert "Expired" in page


def test_a_deactivated_owner_is_refused_with_401(world):
    user = world.staff[Role.CLINICIAN]
    secret = _create_token(user)
    type(user).objects.filter(pk=user.pk).update(is_active=False)
    assert _api(secret).get(reverse("api:me")).status_code == 401


def test_a_membership_change_applies_to_the_token_at_once(world):
    user = world.staff[Role.CLINICIAN]
    secret = _create_token(user)
    token_client = _api(secret)
    session_client = APIClient()
    sign_in(session_client, user)
    patient = world.objects["patient"]
    detail = reverse("api:patient-detail", kwargs={"patient_id": patient.public_id})
    listing = reverse("api:patient-list")
    assert token_client.get(detail).status_code == 200
    membership = Membership.objects.get(user=user, site=world.site)
    membership_set_role(membership=membership, role=Role.CLINICIAN, is_active=False, by=world.staff[Role.SITE_ADMIN])
    # The token answers exactly as the person would now: the record is out of reach.
    assert token_client.get(detail).status_code == session_client.get(detail).status_code == 404
    assert token_client.get(listing).status_code == session_client.get(listing).status_code == 403


def test_last_used_is_written_at_most_once_a_minute(world):
    secret = _create_token(world.staff[Role.CLINICIAN])
    token = _token_of(secret)
    assert token.last_used_at is None
    client = _api(secret)
    client.get(reverse("api:me"))
    token.refresh_from_db()
    first = token.last_used_at
    assert first is not None
    with CaptureQueriesContext(connection) as queries:
        assert client.get(reverse("api:me")).status_code == 200
    assert not [q for q in queries if q["sql"].startswith("UPDATE") and "users_apitoken" in q["sql"]]
    token.refresh_from_db()
    assert token.last_used_at == first
    # A minute later the next call stamps it again.
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=first - timedelta(seconds=61))
    client.get(reverse("api:me"))
    token.refresh_from_db()
    assert token.last_used_at > first


# --- the page ------------------------------------------------------------------------------------


def test_the_page_needs_sign_in_and_a_membership(world, client):
    assert client.get(reverse("users:api_tokens")).status_code == 302
    loner = UserFactory(mfa=True)
    assert _signed_in(loner).get(reverse("users:api_tokens")).status_code == 403
    assert _signed_in(loner).post(reverse("users:api_token_create"), {"name": "x", "expires": "30"}).status_code == 403


def test_the_page_forms_need_the_csrf_token(world):
    user = world.staff[Role.CLINICIAN]
    client = _signed_in(user, enforce_csrf_checks=True)
    page = client.get(reverse("users:api_tokens")).content.decode()
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    data = {"name": "EHR import", "expires": "90"}
    assert client.post(reverse("users:api_token_create"), data).status_code == 403
    assert not ApiToken.objects.filter(user=user).exists()
    response = client.post(reverse("users:api_token_create"), {**data, "csrfmiddlewaretoken": csrf})
    assert response.status_code == 200
    token = ApiToken.objects.get(user=user)
    revoke = reverse("users:api_token_revoke", args=[token.public_id])
    assert client.post(revoke).status_code == 403
    assert client.post(revoke, {"csrfmiddlewaretoken": csrf}).status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None


def test_the_page_is_not_cached(world):
    response = _signed_in(world.staff[Role.CLINICIAN]).post(
        reverse("users:api_token_create"), {"name": "EHR import", "expires": "90"}
    )
    assert "no-store" in response["Cache-Control"]


def test_the_account_nav_links_to_the_page(world):
    body = _signed_in(world.staff[Role.CLINICIAN]).get(reverse("users:api_tokens")).content.decode()
    assert f'href="{reverse("users:api_tokens")}"' in body


# --- Django admin ----------------------------------------------------------------------------------


def _site_admin_with_token_permissions(site):
    """A site admin as invited: staff, with no Django permission rows (the role is enough)."""
    admin_user = staff_member(site, Role.SITE_ADMIN, is_staff=True)
    assert not admin_user.user_permissions.exists()
    return admin_user


def test_a_superuser_revokes_tokens_in_the_admin_without_seeing_secrets(world):
    owner = world.staff[Role.CLINICIAN]
    secret = _create_token(owner)
    token = _token_of(secret)
    superuser = UserFactory(mfa=True, is_staff=True, is_superuser=True)
    client = _signed_in(superuser)
    listing = client.get(reverse("admin:users_apitoken_changelist")).content.decode()
    assert token.prefix in listing and secret not in listing and token.secret_hash not in listing
    page = client.get(reverse("admin:users_apitoken_change", args=[token.pk])).content.decode()
    assert "EHR import" in page and secret not in page and token.secret_hash not in page
    assert 'name="_revoke"' in page
    response = client.post(
        reverse("admin:users_apitoken_changelist"), {"action": "revoke", "_selected_action": [token.pk]}
    )
    assert response.status_code == 302
    assert _api(secret).get(reverse("api:me")).status_code == 401
    event = AuditEvent.objects.get(action=Action.UPDATE, object_type="users.ApiToken")
    assert event.actor == superuser and event.reason == "API token revoked in admin"


def test_a_site_admin_revokes_their_sites_tokens_only(world):
    admin_user = _site_admin_with_token_permissions(world.site)
    ours = _token_of(_create_token(world.staff[Role.CLINICIAN], name="Ours"))
    theirs = _token_of(_create_token(world.other_clinician, name="Theirs"))
    client = _signed_in(admin_user)
    listing = client.get(reverse("admin:users_apitoken_changelist")).content.decode()
    assert ours.prefix in listing and theirs.prefix not in listing
    assert client.get(reverse("admin:users_apitoken_change", args=[theirs.pk])).status_code in (302, 404)
    # Neither the button nor the action reaches another site's token.
    client.post(reverse("admin:users_apitoken_change", args=[theirs.pk]), {"_revoke": "1"})
    client.post(reverse("admin:users_apitoken_changelist"), {"action": "revoke", "_selected_action": [theirs.pk]})
    theirs.refresh_from_db()
    assert theirs.revoked_at is None
    response = client.post(reverse("admin:users_apitoken_change", args=[ours.pk]), {"_revoke": "1"})
    assert response.status_code == 302
    ours.refresh_from_db()
    assert ours.revoked_at is not None and ours.revoked_by == admin_user


def test_staff_who_are_not_site_admins_cannot_revoke(world):
    # Django's view permission shows the model, but the rows are those of sites one administers.
    staff = staff_member(world.site, Role.SUPERVISOR, is_staff=True)
    staff.user_permissions.add(Permission.objects.get(codename="view_apitoken"))
    token = _token_of(_create_token(world.staff[Role.CLINICIAN]))
    client = _signed_in(staff)
    assert token.prefix not in client.get(reverse("admin:users_apitoken_changelist")).content.decode()
    assert client.get(reverse("admin:users_apitoken_change", args=[token.pk])).status_code == 302
    client.post(reverse("admin:users_apitoken_change", args=[token.pk]), {"_revoke": "1"})
    token.refresh_from_db()
    assert token.revoked_at is None


def test_the_user_admin_revokes_every_token_of_a_person(world):
    owner = world.staff[Role.DIRECTOR]
    secrets = [_create_token(owner, name="One"), _create_token(owner, name="Two")]
    superuser = UserFactory(mfa=True, is_staff=True, is_superuser=True)
    client = _signed_in(superuser)
    page = client.get(reverse("admin:users_user_change", args=[owner.pk])).content.decode()
    assert "One" in page and _token_of(secrets[0]).prefix in page
    client.post(reverse("admin:users_user_changelist"), {"action": "revoke_api_tokens", "_selected_action": [owner.pk]})
    assert all(_api(s).get(reverse("api:me")).status_code == 401 for s in secrets)
    assert AuditEvent.objects.filter(action=Action.UPDATE, object_type="users.ApiToken", actor=superuser).count() == 2


def test_tokens_are_never_added_or_deleted_in_the_admin(world):
    superuser = UserFactory(mfa=True, is_staff=True, is_superuser=True)
    token = _token_of(_create_token(world.staff[Role.CLINICIAN]))
    client = _signed_in(superuser)
    assert client.get(reverse("admin:users_apitoken_add")).status_code == 403
    assert client.get(reverse("admin:users_apitoken_delete", args=[token.pk])).status_code == 403


# --- the conversion of the old plain-text tokens ------------------------------------------------------


def test_old_plain_text_tokens_are_converted_and_their_table_dropped(world):
    """The data migration, run against a copy of the old table: the old key keeps working
    (until the carry-over expiry), and nothing holds it in plain text any more."""
    from django.db.migrations.executor import MigrationExecutor

    migration = importlib.import_module("users.migrations.0003_convert_plain_api_tokens")
    user = world.staff[Role.CLINICIAN]
    old_key = "0123456789abcdef0123456789abcdef01234567"
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE authtoken_token (key varchar(40) PRIMARY KEY, created timestamp with time zone NOT NULL, "
            "user_id bigint NOT NULL UNIQUE)"
        )
        cursor.execute("INSERT INTO authtoken_token VALUES (%s, %s, %s)", [old_key, timezone.now(), user.pk])
    apps = MigrationExecutor(connection).loader.project_state(("users", "0003_convert_plain_api_tokens")).apps
    with connection.schema_editor() as schema_editor:
        migration.convert_plain_tokens(apps, schema_editor)
    assert "authtoken_token" not in connection.introspection.table_names()
    token = ApiToken.objects.get(user=user, name="Carried over")
    assert token.prefix == old_key[:12] and token.secret_hash == hashlib.sha256(old_key.encode()).hexdigest()
    assert timedelta(days=89) < token.expires_at - timezone.now() <= timedelta(days=90)
    assert _api(old_key).get(reverse("api:me")).status_code == 200


def test_issuing_through_the_service_refuses_a_past_expiry(world):
    from django.core.exceptions import ValidationError

    user = world.staff[Role.CLINICIAN]
    with pytest.raises(ValidationError) as excinfo:
        api_token_create(user=user, name="Late", expires_at=timezone.now() - timedelta(days=1), by=user)
    assert "expires_at" in excinfo.value.message_dict
