"""The discharge signature and the CSV downloads need a sign-in or confirmation within
REAUTHENTICATION_MINUTES (DOMAIN.md §12): nothing is signed or exported (no export audit
event) until the user confirms it's them."""

from datetime import timedelta
from urllib.parse import parse_qs, urlparse

import pytest
from django.urls import reverse

from audit.models import Action, AuditEvent
from patients.models import site_today
from plans.tests.helpers import make_episode, make_patient
from tests.fixtures import confirm_with_password, make_stale
from users.models import Role

pytestmark = pytest.mark.django_db


def confirm_then(response, back_to: str) -> None:
    assert response.status_code == 302
    url = urlparse(response["Location"])
    assert url.path == reverse("account_reauthenticate")
    assert parse_qs(url.query)["next"] == [back_to]


def exports() -> int:
    return AuditEvent.objects.filter(action=Action.EXPORT).count()


@pytest.fixture
def counselor(make_staff):
    return make_staff(Role.CLINICIAN, credentials="LADC")


@pytest.fixture
def episode(site, counselor):
    patient = make_patient(site, primary_counselor=counselor)
    return make_episode(patient, admitted=site_today(site) - timedelta(days=45), by=counselor)


def test_the_discharge_page_asks_first_and_a_stale_post_keeps_the_text(client_as, episode, counselor):
    client = client_as(user=counselor)
    url = reverse("reports:discharge", args=[episode.patient.public_id, episode.public_id])
    make_stale(client)
    confirm_then(client.get(url), url)

    data = {
        "discharge_date": site_today(episode.site).isoformat(),
        "discharge_type": "step_down",
        "summary": "Stepped down to weekly outpatient counselling.",
    }
    response = client.post(url, data)
    assert response.status_code == 403
    body = response.content.decode()
    assert "Stepped down to weekly outpatient counselling." in body and "Confirm it" in body
    episode.refresh_from_db()
    assert episode.is_open

    confirm_with_password(client, url)
    assert client.get(url).status_code == 200
    assert client.post(url, data).status_code == 302
    episode.refresh_from_db()
    assert not episode.is_open


@pytest.mark.parametrize(
    ("role", "url"),
    [
        (Role.CLINICIAN, reverse("reports:caseload") + "?format=csv"),
        (Role.DIRECTOR, reverse("reports:dashboard") + "?format=csv&table=census"),
        (Role.DIRECTOR, reverse("reports:per_diem") + "?format=csv"),
    ],
)
def test_csv_downloads(client_as, episode, role, url):
    client = client_as(role)
    make_stale(client)
    before = exports()
    response = client.get(url)
    confirm_then(response, url)
    assert exports() == before
    confirm_with_password(client, url)
    response = client.get(url)
    if response.status_code == 404:  # a dashboard without that table: the gate still came first
        return
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert exports() == before + 1
