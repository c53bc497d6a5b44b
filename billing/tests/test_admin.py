"""Payers, the service catalogue and rate tables are managed in Django admin: a superuser or a
site admin of every active site adds and changes them, a site admin of fewer sites reads them,
nobody deletes them, a bad row comes back with the message on its field, and every admin page
is audited."""

from __future__ import annotations

from datetime import date

import pytest
from django.test import Client
from django.urls import reverse

from audit.models import Action, AuditEvent
from billing.models import Payer, PayerRate, ServiceCode
from tests.fixtures import sign_in
from users.models import Role
from users.tests.factories import MembershipFactory, UserFactory

from .helpers import make_code, make_payer, make_rate

pytestmark = pytest.mark.django_db


def _client(user) -> Client:
    client = Client()
    sign_in(client, user)
    return client


@pytest.fixture
def superuser(db):
    return UserFactory(mfa=True, is_staff=True, is_superuser=True)


def _site_admin(*sites):
    user = UserFactory(mfa=True, is_staff=True)
    for site in sites:
        MembershipFactory(user=user, site=site, role=Role.SITE_ADMIN)
    return user


def test_a_superuser_builds_the_catalogue_and_a_rate_table(superuser):
    client = _client(superuser)
    response = client.post(
        reverse("admin:billing_payer_add"), {"name": "Test Medicaid", "kind": "medicaid", "is_active": "on"}
    )
    assert response.status_code == 302
    response = client.post(
        reverse("admin:billing_servicecode_add"),
        {
            "code": "h0015",
            "modifier": "",
            "claim_type": "institutional",
            "revenue_code": "0906",
            "condition_code": "",
            "unit_type": "per_diem",
            "minimum_minutes": "180",
            "description": "Alcohol and/or drug IOP, per diem",
            "is_active": "on",
        },
    )
    assert response.status_code == 302
    payer, code = Payer.objects.get(), ServiceCode.objects.get()
    assert code.code == "H0015"
    rate = {"payer": payer.pk, "service_code": code.pk, "rate": "172.50", "effective_from": "2026-01-01"}
    assert client.post(reverse("admin:billing_payerrate_add"), rate).status_code == 302
    refused = client.post(reverse("admin:billing_payerrate_add"), {**rate, "effective_from": "2026-06-01"})
    assert refused.status_code == 200
    assert "effective_from" in refused.context["adminform"].form.errors
    assert PayerRate.objects.count() == 1
    labels = set(AuditEvent.objects.filter(action=Action.ADMIN).values_list("object_type", flat=True))
    assert {"billing.Payer", "billing.ServiceCode", "billing.PayerRate"} <= labels


def test_an_institutional_code_without_revenue_code_comes_back_on_the_field(superuser):
    response = _client(superuser).post(
        reverse("admin:billing_servicecode_add"),
        {"code": "S9480", "claim_type": "institutional", "unit_type": "per_diem", "description": "Psych IOP"},
    )
    assert response.status_code == 200 and "revenue_code" in response.context["adminform"].form.errors
    assert not ServiceCode.objects.exists()


def test_nothing_is_deleted_in_the_admin(superuser):
    payer = make_payer()
    code = make_code()
    rate = make_rate(payer, code, start=date(2026, 1, 1))
    client = _client(superuser)
    for name, obj in (("payer", payer), ("servicecode", code), ("payerrate", rate)):
        assert client.get(reverse(f"admin:billing_{name}_delete", args=[obj.pk])).status_code == 403


def test_site_admins_read_the_catalogue_and_only_one_of_every_site_changes_it(site, other_site):
    make_payer("Test Medicaid")
    one_site = _client(_site_admin(site))
    assert "Test Medicaid" in one_site.get(reverse("admin:billing_payer_changelist")).content.decode()
    data = {"name": "Test Commercial", "kind": "commercial", "is_active": "on"}
    assert one_site.post(reverse("admin:billing_payer_add"), data).status_code == 403
    every_site = _client(_site_admin(site, other_site))
    assert every_site.post(reverse("admin:billing_payer_add"), data).status_code == 302
    assert Payer.objects.filter(name="Test Commercial").exists()


def test_other_staff_do_not_reach_the_billing_admin(make_staff):
    counselor = make_staff(Role.CLINICIAN)
    counselor.is_staff = True
    counselor.save(update_fields=["is_staff"])
    assert _client(counselor).get(reverse("admin:billing_payer_changelist")).status_code == 403
