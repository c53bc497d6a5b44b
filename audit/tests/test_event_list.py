"""The audit viewer: supervisors and admins of a site, filtered, and nothing from other sites."""

import pytest
from django.urls import reverse

from audit.models import Action
from audit.services import record
from users.models import Role

pytestmark = pytest.mark.django_db

PATIENT = "22222222-2222-2222-2222-222222222222"


@pytest.mark.parametrize("role", [Role.SUPERVISOR, Role.SITE_ADMIN, Role.DIRECTOR])
def test_it_is_open_to_oversight_roles(client_as, role):
    assert client_as(role).get(reverse("audit:list")).status_code == 200


@pytest.mark.parametrize("role", [Role.INTAKE, Role.CLINICIAN])
def test_it_is_closed_to_front_line_roles(client_as, role):
    assert client_as(role).get(reverse("audit:list")).status_code == 403


def test_it_requires_sign_in(client):
    response = client.get(reverse("audit:list"))
    assert response.status_code == 302


def test_it_filters_by_user_patient_action_and_date(client_as, clinician, make_staff, site):
    other = make_staff(Role.CLINICIAN)
    record(Action.VIEW, actor=clinician, site=site, patient=PATIENT, object_type="patients.Patient")
    record(Action.UPDATE, actor=other, site=site, object_type="scheduling.Track")
    client = client_as(Role.SUPERVISOR)
    body = client.get(reverse("audit:list"), {"patient": PATIENT}).content.decode()
    assert "patients.Patient" in body and "scheduling.Track" not in body
    body = client.get(reverse("audit:list"), {"user": other.pk}).content.decode()
    assert "scheduling.Track" in body and "patients.Patient" not in body
    body = client.get(reverse("audit:list"), {"action": Action.UPDATE}).content.decode()
    assert "scheduling.Track" in body and "patients.Patient" not in body
    body = client.get(reverse("audit:list"), {"date_from": "2001-01-01", "date_to": "2001-01-02"}).content.decode()
    assert "No events match" in body


def test_it_explains_a_bad_date_range(client_as):
    response = client_as(Role.SUPERVISOR).get(
        reverse("audit:list"), {"date_from": "2026-02-02", "date_to": "2026-01-01"}
    )
    assert "on or after the start date" in response.content.decode()


def test_it_hides_other_sites_events(client_as, clinician, other_site, make_staff):
    outsider = make_staff(Role.CLINICIAN, at=other_site)
    record(Action.VIEW, actor=outsider, site=other_site, object_type="elsewhere.Thing")
    body = client_as(Role.SUPERVISOR).get(reverse("audit:list")).content.decode()
    assert "elsewhere.Thing" not in body


def test_it_lists_sign_in_events_of_its_staff(client_as, clinician):
    record(Action.LOGIN_FAILED, actor=clinician)
    body = client_as(Role.SUPERVISOR).get(reverse("audit:list")).content.decode()
    assert "Failed sign-in" in body


def test_the_count_is_capped_so_a_long_trail_costs_no_more(client_as, clinician, site, monkeypatch):
    from audit.views import CappedPaginator

    monkeypatch.setattr(CappedPaginator, "cap", 3)
    client = client_as(Role.SUPERVISOR)
    for n in range(5):
        record(Action.UPDATE, actor=clinician, site=site, object_type=f"scheduling.Track{n}")
    mine = {"user": clinician.pk}
    body = client.get(reverse("audit:list"), mine).content.decode()
    assert "The newest 3 of more than 3 events" in body
    # The newest events are shown; older ones are reached by narrowing the filters.
    assert "scheduling.Track4" in body and "scheduling.Track2" in body and "scheduling.Track1" not in body
    monkeypatch.setattr(CappedPaginator, "cap", 10)
    body = client.get(reverse("audit:list"), mine).content.decode()
    assert "5 events" in body and "scheduling.Track0" in body
