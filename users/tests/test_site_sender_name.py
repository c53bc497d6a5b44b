"""The site's sender name is shown to patients (DOMAIN.md §13 "Neutral sender name: "Oak St.
Health" rather than "Oak St. Recovery""): the model, the site form, the service and the admin
refuse one that reveals substance-use treatment, on the sender-name field and naming the word."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from users import services
from users.forms import SiteForm
from users.models import Role, Site

pytestmark = pytest.mark.django_db

FORM = {"name": "Oak St.", "time_zone": "America/New_York", "address": "", "phone": ""}


@pytest.mark.parametrize(
    ("sender_name", "word"),
    [
        ("Oak St. Recovery", "recovery"),
        ("Oak St. Rehab", "rehab"),
        ("Oak St. IOP", "iop"),
        ("Oak St. Recovery-Center", "recovery"),
        ("Oak St. Outpatient Detox", "detox"),
        ("Oak St. Sober Living", "sober"),
        ("Oak St. OTP", "otp"),
    ],
)
def test_the_site_form_refuses_a_revealing_sender_name_on_the_field(sender_name, word):
    form = SiteForm(data={**FORM, "sender_name": sender_name})
    assert not form.is_valid()
    assert list(form.errors) == ["sender_name"]
    assert f"“{word}”" in form.errors["sender_name"][0]


@pytest.mark.parametrize("sender_name", ["Oak St. Health", "Riverside Health Center", "Hotpot Lane Clinic"])
def test_a_neutral_sender_name_is_accepted(sender_name):
    assert SiteForm(data={**FORM, "sender_name": sender_name}).is_valid()


def test_the_service_refuses_it_too(site, make_staff):
    admin = make_staff(Role.SITE_ADMIN)
    with pytest.raises(ValidationError) as exc:
        services.site_update(site=site, by=admin, sender_name="Oak St. Recovery")
    assert list(exc.value.message_dict) == ["sender_name"]
    site.refresh_from_db()
    assert site.sender_name != "Oak St. Recovery"


def test_the_site_page_shows_the_error_on_the_field(client_as, site):
    client = client_as(Role.SITE_ADMIN)
    response = client.post(reverse("users:site_edit", args=[site.public_id]), {**FORM, "sender_name": "Oak Rehab"})
    assert response.status_code == 200
    assert response.context["form"].errors["sender_name"]
    assert "“rehab”" in response.content.decode()
    site.refresh_from_db()
    assert site.sender_name != "Oak Rehab"


@pytest.fixture
def admin_client(client):
    from users.tests.factories import UserFactory

    client.force_login(UserFactory(mfa=True, is_staff=True, is_superuser=True))
    return client


def test_the_admin_shows_the_error_on_the_field(admin_client, site):
    data = {**FORM, "name": site.name, "sender_name": "Oak St. Recovery", "is_active": "on"}
    response = admin_client.post(reverse("admin:users_site_change", args=[site.pk]), data)
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["sender_name"]
    assert "“recovery”" in response.content.decode()
    assert Site.objects.get(pk=site.pk).sender_name != "Oak St. Recovery"
