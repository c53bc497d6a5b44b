"""Staff join by invitation only; links expire, are single-use, and can be revoked."""

from datetime import timedelta

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from audit.models import Action, AuditEvent
from users.models import Invitation, Membership, Role, User

pytestmark = pytest.mark.django_db


def invite(client, site, email="new.person@example.test", role=Role.CLINICIAN):
    with_commit = client.post(reverse("users:staff", args=[site.public_id]), {"email": email, "role": role})
    return with_commit


def token_from_mail() -> str:
    body = mail.outbox[-1].body
    return body.split("/invite/")[1].split("/")[0]


def test_a_site_admin_invites_and_the_person_joins(client_as, site, client, django_capture_on_commit_callbacks):
    admin = client_as(Role.SITE_ADMIN)
    with django_capture_on_commit_callbacks(execute=True):
        response = invite(admin, site)
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["new.person@example.test"]
    token = token_from_mail()
    page = client.get(reverse("users:invitation_accept", args=[token]))
    assert page.status_code == 200
    response = client.post(
        reverse("users:invitation_accept", args=[token]),
        {"full_name": "New Person", "password1": "a-long-enough-passphrase", "password2": "a-long-enough-passphrase"},
    )
    assert response.status_code == 302
    assert response.url == reverse("mfa_index")
    user = User.objects.get(email="new.person@example.test")
    assert Membership.objects.get(user=user, site=site).role == Role.CLINICIAN
    # Signed in, but sent to MFA enrolment before anything else.
    assert client.get(reverse("home")).url == reverse("mfa_index")
    assert AuditEvent.objects.filter(action=Action.ADMIN, changes__event="invitation_accepted").exists()


def test_an_expired_invitation_is_refused(client_as, site, client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        invite(client_as(Role.SITE_ADMIN), site)
    token = token_from_mail()
    Invitation.objects.update(expires_at=timezone.now() - timedelta(minutes=1))
    assert client.get(reverse("users:invitation_accept", args=[token])).status_code == 410
    response = client.post(
        reverse("users:invitation_accept", args=[token]),
        {"full_name": "Late Person", "password1": "a-long-enough-passphrase", "password2": "a-long-enough-passphrase"},
    )
    assert response.status_code == 410
    assert "expired" in response.content.decode()
    assert not User.objects.filter(email="new.person@example.test").exists()


def test_an_invitation_works_once(client_as, site, client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        invite(client_as(Role.SITE_ADMIN), site)
    token = token_from_mail()
    data = {"full_name": "P", "password1": "a-long-enough-passphrase", "password2": "a-long-enough-passphrase"}
    client.post(reverse("users:invitation_accept", args=[token]), data)
    client.logout()
    assert client.get(reverse("users:invitation_accept", args=[token])).status_code == 410


def test_a_revoked_invitation_is_refused(client_as, site, client, django_capture_on_commit_callbacks):
    admin = client_as(Role.SITE_ADMIN)
    with django_capture_on_commit_callbacks(execute=True):
        invite(admin, site)
    token = token_from_mail()
    invitation = Invitation.objects.get()
    admin.post(reverse("users:invitation_revoke", args=[site.public_id, invitation.pk]))
    assert client.get(reverse("users:invitation_accept", args=[token])).status_code == 410


def test_an_unknown_token_is_not_found(client):
    assert client.get(reverse("users:invitation_accept", args=["not-a-token"])).status_code == 404


def test_weak_or_mismatched_passwords_are_refused_on_the_field(
    client_as, site, client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        invite(client_as(Role.SITE_ADMIN), site)
    token = token_from_mail()
    url = reverse("users:invitation_accept", args=[token])
    body = client.post(url, {"full_name": "P", "password1": "short", "password2": "short"}).content.decode()
    assert "too short" in body
    body = client.post(
        url, {"full_name": "P", "password1": "a-long-enough-passphrase", "password2": "another-long-passphrase"}
    ).content.decode()
    assert "do not match" in body
    assert not User.objects.filter(email="new.person@example.test").exists()


def test_inviting_an_existing_member_is_refused_on_the_field(client_as, site, clinician):
    response = invite(client_as(Role.SITE_ADMIN), site, email=clinician.email)
    assert response.status_code == 200
    assert "already a member" in response.content.decode()


def test_only_the_token_hash_is_stored(client_as, site, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        invite(client_as(Role.SITE_ADMIN), site)
    token = token_from_mail()
    assert not Invitation.objects.filter(token_hash=token).exists()
    assert Invitation.objects.by_token(token).exists()


def test_a_site_admin_cannot_demote_themselves(client_as, site):
    admin = client_as(Role.SITE_ADMIN)
    membership = Membership.objects.get(user=admin.user)
    response = admin.post(
        reverse("users:membership_edit", args=[site.public_id, membership.pk]),
        {"role": Role.CLINICIAN, "is_active": "on"},
    )
    assert "cannot change your own role" in response.content.decode()
    membership.refresh_from_db()
    assert membership.role == Role.SITE_ADMIN
