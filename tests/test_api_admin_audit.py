"""Django admin: every change page opened, saved or deleted is audited (Action.ADMIN), and a
site admin who is staff sees only their own sites' rows."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse

from audit.models import Action, AuditEvent
from scheduling.models import Room
from tests.fixtures import sign_in
from users.admin_audit import AuditedAdminMixin, site_path_for
from users.models import Role
from users.tests.factories import UserFactory

from .test_api_world import staff_member

pytestmark = pytest.mark.django_db


def _client(user) -> Client:
    client = Client()
    sign_in(client, user)
    return client


def test_every_registered_admin_is_audited():
    missing = [
        f"{model._meta.label}: {type(model_admin).__name__}"
        for model, model_admin in admin.site._registry.items()
        if not isinstance(model_admin, AuditedAdminMixin)
        and model._meta.app_label not in {"auth", "account", "mfa"}
        and model._meta.app_label not in {"django_celery_beat", "sites", "socialaccount", "usersessions"}
    ]
    assert not missing, missing


def test_opening_and_saving_a_change_page_is_audited(site):
    superuser = UserFactory(mfa=True, is_staff=True, is_superuser=True)
    room = Room.objects.create(site=site, name="Oak", capacity=10)
    client = _client(superuser)
    url = reverse("admin:scheduling_room_change", args=[room.pk])
    assert client.get(url).status_code == 200
    event = AuditEvent.objects.filter(action=Action.ADMIN).first()
    assert event.object_type == "scheduling.Room" and event.reason == "viewed in admin"
    assert event.site_id == site.pk


def test_a_site_admin_sees_only_their_sites_rows(site, other_site):
    admin_user = staff_member(site, Role.SITE_ADMIN, is_staff=True)
    admin_user.user_permissions.add(Permission.objects.get(codename="view_room"))
    Room.objects.create(site=site, name="Mine", capacity=10)
    theirs = Room.objects.create(site=other_site, name="Theirs", capacity=10)
    client = _client(admin_user)
    body = client.get(reverse("admin:scheduling_room_changelist")).content.decode()
    assert "Mine" in body and "Theirs" not in body
    assert client.get(reverse("admin:scheduling_room_change", args=[theirs.pk])).status_code in (302, 404)


def test_site_paths_are_inferred():
    from patients.models import Consent, Patient
    from sessions.models import Attendance
    from users.models import Site, User

    assert site_path_for(Site) == "pk"
    assert site_path_for(User) == "memberships__site"
    assert site_path_for(Patient) == "site"
    assert site_path_for(Consent) == "patient__site"
    assert site_path_for(Attendance) == "patient__site"
