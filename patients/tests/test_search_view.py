"""Patient search: POSTed criteria, scoped to visible sites, audited, constant query count."""

from datetime import date

import pytest
from django.urls import reverse

from audit.models import Action, AuditEvent
from users.models import Role

from .factories import PatientFactory
from .helpers import count_queries

pytestmark = pytest.mark.django_db
URL = "/patients/"


def test_it_finds_by_name_mrn_or_birth_date(client_as, site):
    client = client_as(Role.INTAKE)
    robin = PatientFactory(
        site=site, legal_first_name="Robin", legal_last_name="Testcase", date_of_birth=date(1988, 3, 4)
    )
    PatientFactory(site=site, legal_first_name="Jordan", legal_last_name="Other")
    assert list(client.post(URL, {"q": "robin test"}).context["page"]) == [robin]
    assert list(client.post(URL, {"q": robin.mrn.lower()}).context["page"]) == [robin]
    assert list(client.post(URL, {"date_of_birth": "1988-03-04"}).context["page"]) == [robin]
    assert list(client.post(URL, {"q": "nobody"}).context["page"]) == []


def test_it_never_shows_another_sites_patients(client_as, site, other_site):
    client = client_as(Role.SUPERVISOR)
    PatientFactory(site=other_site, legal_first_name="Robin", legal_last_name="Elsewhere")
    response = client.post(URL, {"q": "Robin"})
    assert response.context["page"].paginator.count == 0
    assert b"Elsewhere" not in response.content


def test_it_records_one_search_event_without_the_criteria(client_as, site):
    client = client_as(Role.CLINICIAN)
    robin = PatientFactory(site=site, legal_first_name="Robin")
    client.post(URL, {"q": "Robin"})
    event = AuditEvent.objects.get(action=Action.SEARCH)
    assert event.actor == client.user
    assert event.changes == {"criteria": ["name_or_mrn"], "results": 1, "shown": [str(robin.public_id)]}
    assert "Robin" not in str(event.changes)


def test_a_get_shows_the_form_and_searches_nothing(client_as, site):
    client = client_as(Role.CLINICIAN)
    PatientFactory(site=site)
    response = client.get(URL, {"q": "Testperson"})
    assert response.status_code == 200 and response.context["page"] is None
    assert not AuditEvent.objects.filter(action=Action.SEARCH).exists()


def test_it_asks_for_some_criterion(client_as):
    response = client_as(Role.CLINICIAN).post(URL, {"q": ""})
    assert "Enter a name, an MRN or a date of birth." in response.content.decode()


def test_it_pages_results_by_post(client_as, site):
    client = client_as(Role.CLINICIAN)
    for _ in range(30):
        PatientFactory(site=site)
    first = client.post(URL, {"q": "Testperson"})
    assert len(first.context["page"]) == 25
    second = client.post(URL, {"q": "Testperson", "page": 2})
    assert len(second.context["page"]) == 5


def test_the_query_count_does_not_grow_with_the_results(client_as, make_staff, site):
    counselor = make_staff(Role.CLINICIAN)
    client = client_as(Role.INTAKE)
    PatientFactory(site=site, primary_counselor=counselor)
    one = count_queries(lambda: client.post(URL, {"q": "Testperson"}))
    for _ in range(19):
        PatientFactory(site=site, primary_counselor=counselor)
    twenty = count_queries(lambda: client.post(URL, {"q": "Testperson"}))
    assert one == twenty


def test_registration_link_needs_the_capability(client_as):
    assert reverse("patients:register").encode() in client_as(Role.INTAKE).get(URL).content
    assert reverse("patients:register").encode() not in client_as(Role.DIRECTOR).get(URL).content
