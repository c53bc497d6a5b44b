"""Visibility helpers: other site → 404, visible but read-only → 403."""

import uuid

import pytest
from django.urls import reverse

from users.models import Role
from users.permissions import has_capability, site_ids_for, sites_visible_to

pytestmark = pytest.mark.django_db


def test_a_member_sees_only_their_sites(clinician, site, other_site):
    assert list(sites_visible_to(clinician)) == [site]
    assert site_ids_for(clinician, "site.change") == set()


def test_an_inactive_membership_grants_nothing(clinician, site):
    clinician.memberships.update(is_active=False)
    assert not sites_visible_to(clinician).exists()


def test_a_superuser_flag_alone_grants_no_site(db, django_user_model, site):
    root = django_user_model.objects.create_superuser("root@example.test", "x-very-long-password")
    assert not sites_visible_to(root).exists()


def test_capabilities_follow_the_role_at_each_site(make_staff, site, other_site):
    user = make_staff(Role.SITE_ADMIN)
    from users.models import Membership

    Membership.objects.create(user=user, site=other_site, role=Role.CLINICIAN)
    assert has_capability(user, site, "site.change")
    assert not has_capability(user, other_site, "site.change")


def test_another_sites_page_answers_404(client_as, other_site):
    client = client_as(Role.SITE_ADMIN)
    assert client.get(reverse("users:site_detail", args=[other_site.public_id])).status_code == 404
    assert client.get(reverse("users:site_edit", args=[other_site.public_id])).status_code == 404
    assert client.get(reverse("users:staff", args=[other_site.public_id])).status_code == 404


def test_an_unknown_id_answers_404(client_as):
    client = client_as(Role.SITE_ADMIN)
    assert client.get(reverse("users:site_detail", args=[uuid.uuid4()])).status_code == 404


@pytest.mark.parametrize("role", [Role.INTAKE, Role.CLINICIAN, Role.SUPERVISOR, Role.DIRECTOR])
def test_a_member_without_the_right_answers_403(client_as, site, role):
    client = client_as(role)
    assert client.get(reverse("users:site_detail", args=[site.public_id])).status_code == 200
    assert client.get(reverse("users:site_edit", args=[site.public_id])).status_code == 403
    assert client.post(reverse("users:site_edit", args=[site.public_id]), {"name": "Hijacked"}).status_code == 403
    assert client.get(reverse("users:staff", args=[site.public_id])).status_code == 403
    site.refresh_from_db()
    assert site.name != "Hijacked"


def test_the_site_admin_edits_the_site_and_it_is_audited(client_as, site):
    from audit.models import Action, AuditEvent

    client = client_as(Role.SITE_ADMIN)
    response = client.post(
        reverse("users:site_edit", args=[site.public_id]),
        {"name": "Riverside Renamed", "time_zone": "America/Chicago", "address": "", "phone": "", "sender_name": "RHC"},
    )
    assert response.status_code == 302
    site.refresh_from_db()
    assert site.name == "Riverside Renamed"
    event = AuditEvent.objects.get(action=Action.ADMIN)
    assert event.changes["after"]["time_zone"] == "America/Chicago"


def test_a_bad_time_zone_is_refused_on_the_field(client_as, site):
    client = client_as(Role.SITE_ADMIN)
    response = client.post(
        reverse("users:site_edit", args=[site.public_id]),
        {"name": site.name, "time_zone": "Mars/Olympus", "address": "", "phone": "", "sender_name": "RHC"},
    )
    assert response.status_code == 200
    assert "not a known time zone" in response.content.decode()
    site.refresh_from_db()
    assert site.time_zone == "America/New_York"


def test_the_site_switcher_changes_the_current_site(make_staff, site, other_site, client):
    from users.models import Membership

    user = make_staff(Role.CLINICIAN)
    Membership.objects.create(user=user, site=other_site, role=Role.SUPERVISOR)
    client.force_login(user)
    client.post(reverse("users:site_switch"), {"site": other_site.public_id})
    body = client.get(reverse("home")).content.decode()
    assert f"Working in {other_site.name}" in body
    # A site the user does not belong to cannot be chosen.
    stranger = client.post(reverse("users:site_switch"), {"site": uuid.uuid4()})
    assert stranger.status_code == 404


def test_the_home_page_has_an_honest_empty_state(db, client):
    from users.tests.factories import UserFactory

    user = UserFactory(mfa=True)
    client.force_login(user)
    body = client.get(reverse("home")).content.decode()
    assert "not a member of any site" in body


def test_error_pages_reveal_nothing(client_as):
    response = client_as(Role.CLINICIAN).get("/no/such/page/")
    assert response.status_code == 404
    assert "Page not found" in response.content.decode()


def test_the_memberships_loaded_by_the_middleware_give_the_same_roles(make_staff, site, other_site):
    from users.models import Membership, User
    from users.permissions import prime_roles, roles_by_site

    user = make_staff(Role.SUPERVISOR)
    Membership.objects.create(user=user, site=other_site, role=Role.CLINICIAN)
    expected = roles_by_site(User.objects.get(pk=user.pk))
    primed = User.objects.get(pk=user.pk)
    prime_roles(primed, Membership.objects.active().filter(user=primed))
    assert roles_by_site(primed) == expected == {site.pk: Role.SUPERVISOR, other_site.pk: Role.CLINICIAN}
    inactive = User.objects.get(pk=user.pk)
    inactive.is_active = False
    prime_roles(inactive, Membership.objects.active().filter(user=inactive))
    assert not has_capability(inactive, site, "clinical.view") and site_ids_for(inactive) == set()


def test_a_page_reads_the_memberships_once(client_as):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = client_as(Role.SUPERVISOR)
    client.get(reverse("scheduling:my_day"))
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(reverse("scheduling:my_day")).status_code == 200
    assert sum('FROM "users_membership"' in q["sql"] for q in ctx.captured_queries) == 1
