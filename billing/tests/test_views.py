"""The authorization pages: who may see and record (role matrix, 404 across sites and across
patients), the audit of every page, no-store, CSRF, field errors on refusal, the next review due
and a fixed number of queries."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from audit.models import Action, AuditEvent
from billing import services
from billing.models import Authorization, UtilizationReview
from patients.models import site_today
from scheduling.tests.factories import make_episode
from tests.fixtures import sign_in
from users.models import Role

from .helpers import make_authorization

pytestmark = pytest.mark.django_db


@pytest.fixture
def auth(episode, payer, intake):
    return make_authorization(episode, payer, by=intake, reference_number="MCD-0001")


def _urls(patient, auth) -> dict[str, str]:
    p, a = patient.public_id, auth.public_id
    return {
        "list": reverse("billing:authorizations", args=[p]),
        "create": reverse("billing:authorization_create", args=[p]),
        "detail": reverse("billing:authorization_detail", args=[p, a]),
        "edit": reverse("billing:authorization_edit", args=[p, a]),
        "review": reverse("billing:review_create", args=[p, a]),
    }


READ = {Role.INTAKE: 200, Role.CLINICIAN: 200, Role.SUPERVISOR: 200, Role.DIRECTOR: 200, Role.SITE_ADMIN: 404}
WRITE = {Role.INTAKE: 200, Role.CLINICIAN: 403, Role.SUPERVISOR: 200, Role.DIRECTOR: 200, Role.SITE_ADMIN: 404}


@pytest.mark.parametrize("role", list(READ))
def test_role_matrix(client_as, patient, auth, role):
    client = client_as(role)
    urls = _urls(patient, auth)
    got = {name: client.get(url).status_code for name, url in urls.items() if name != "review"}
    got["review"] = client.post(urls["review"], {}).status_code  # an empty form: the page again
    assert got == {
        "list": READ[role],
        "detail": READ[role],
        "create": WRITE[role],
        "edit": WRITE[role],
        "review": WRITE[role],
    }


def test_another_sites_staff_get_404_and_anonymous_users_sign_in(client_as, other_site, patient, auth):
    client = client_as(Role.SUPERVISOR, at=other_site)
    for name, url in _urls(patient, auth).items():
        status = client.post(url, {}).status_code if name == "review" else client.get(url).status_code
        assert status == 404, name
    anonymous = Client()
    for url in _urls(patient, auth).values():
        response = anonymous.get(url)
        assert response.status_code == 302 and "login" in response["Location"]


def test_an_authorization_of_another_patient_answers_404(client_as, site, patient, payer, intake):
    other = make_episode(site, admitted=site_today(site) - timedelta(days=5))
    theirs = make_authorization(other, payer, by=intake)
    client = client_as(Role.SUPERVISOR)
    urls = _urls(patient, theirs)
    assert client.get(urls["detail"]).status_code == 404
    assert client.get(urls["edit"]).status_code == 404
    assert client.post(urls["review"], {}).status_code == 404


def test_every_page_is_audited_and_not_cached(client_as, patient, auth):
    client = client_as(Role.INTAKE)
    urls = _urls(patient, auth)
    for name in ("list", "create", "detail", "edit"):
        before = AuditEvent.objects.filter(action=Action.VIEW).count()
        response = client.get(urls[name])
        assert "no-store" in response["Cache-Control"], name
        events = AuditEvent.objects.filter(action=Action.VIEW).order_by("-id")
        assert events.count() == before + 1, name
        assert events.first().patient_ref == str(patient.public_id)


def test_the_list_shows_units_both_levels_and_the_next_review(client_as, patient, episode, auth, intake):
    today = site_today(patient.site)
    current = make_authorization(
        episode, auth.payer, by=intake, start=today - timedelta(days=10), authorized_level="2.5"
    )
    services.utilization_review_record(
        authorization=current,
        by=intake,
        review_date=today - timedelta(days=10),
        kind="concurrent",
        outcome="approved",
        next_review_date=today - timedelta(days=1),
        reviewer="Dr. Payer Reviewer",
    )
    body = client_as(Role.CLINICIAN).get(_urls(patient, auth)["list"]).content.decode()
    assert "MCD-0001" in body and "Test State Medicaid" in body
    assert "clinical level 2.1" in body and "differs from clinical 2.1" in body
    assert (today - timedelta(days=1)).isoformat() in body and "Overdue" in body
    assert "Record an authorization" not in body  # counselors read, they do not record


def test_recording_an_authorization_redirects_to_it(client_as, patient, episode, payer):
    client = client_as(Role.INTAKE)
    data = {
        "episode": episode.pk,
        "payer": payer.pk,
        "service_code": "",
        "authorized_level": "2.5",
        "start_date": episode.admission_date.isoformat(),
        "end_date": (episode.admission_date + timedelta(days=13)).isoformat(),
        "units_authorized": "10",
        "reference_number": "NEW-1",
        "care_manager_name": "Jordan Reviewer",
    }
    response = client.post(reverse("billing:authorization_create", args=[patient.public_id]), data)
    auth = Authorization.objects.get(reference_number="NEW-1")
    assert response.status_code == 302
    assert response["Location"] == reverse("billing:authorization_detail", args=[patient.public_id, auth.public_id])
    assert auth.authorized_level == "2.5" and auth.created_by == client.user
    assert AuditEvent.objects.filter(action=Action.CREATE, object_id=str(auth.public_id)).exists()


def test_refusals_come_back_on_the_fields(client_as, patient, episode, payer, auth):
    client = client_as(Role.INTAKE)
    url = reverse("billing:authorization_create", args=[patient.public_id])
    base = {
        "episode": episode.pk,
        "payer": payer.pk,
        "authorized_level": "2.1",
        "units_authorized": "10",
    }
    cases = [
        ({"start_date": "2026-03-10", "end_date": "2026-03-01", "reference_number": "X-1"}, "end_date"),
        ({"start_date": "2026-03-01", "end_date": "2026-03-10", "reference_number": ""}, "reference_number"),
        ({"units_authorized": "-1", "reference_number": "X-2"}, "units_authorized"),
        (
            {
                "start_date": auth.start_date.isoformat(),
                "end_date": auth.end_date.isoformat(),
                "reference_number": "X-3",
            },
            "start_date",
        ),
    ]
    for changes, field in cases:
        data = {"start_date": "2026-03-01", "end_date": "2026-03-10", **base, **changes}
        response = client.post(url, data)
        assert response.status_code == 200, changes
        assert field in response.context["form"].errors, (changes, response.context["form"].errors)
    assert "overlap authorization MCD-0001" in str(response.context["form"].errors["start_date"])
    assert Authorization.objects.count() == 1


def test_correcting_an_authorization(client_as, patient, auth):
    client = client_as(Role.SUPERVISOR)
    data = {
        "payer": auth.payer_id,
        "service_code": "",
        "authorized_level": "2.1",
        "start_date": auth.start_date.isoformat(),
        "end_date": (auth.end_date + timedelta(days=14)).isoformat(),
        "units_authorized": "30",
        "reference_number": auth.reference_number,
    }
    response = client.post(_urls(patient, auth)["edit"], data)
    assert response.status_code == 302
    auth.refresh_from_db()
    assert auth.units_authorized == 30
    assert AuditEvent.objects.filter(action=Action.UPDATE, object_id=str(auth.public_id)).exists()


def test_recording_a_review_and_a_refused_one(client_as, patient, auth):
    client = client_as(Role.INTAKE)
    url = _urls(patient, auth)["review"]
    today = site_today(patient.site)
    data = {
        "review_date": today.isoformat(),
        "kind": "concurrent",
        "outcome": "approved",
        "next_review_date": (today + timedelta(days=7)).isoformat(),
        "reviewer": "Dr. Payer Reviewer",
    }
    assert client.post(url, data).status_code == 302
    refused = client.post(url, {**data, "review_date": (today + timedelta(days=1)).isoformat()})
    assert refused.status_code == 200 and "review_date" in refused.context["form"].errors
    refused = client.post(url, {**data, "kind": "discharge"})
    assert "next_review_date" in refused.context["form"].errors
    assert UtilizationReview.objects.count() == 1


def test_the_read_pages_take_no_post(client_as, patient, auth):
    client = client_as(Role.SUPERVISOR)
    urls = _urls(patient, auth)
    assert client.post(urls["list"], {}).status_code == 405
    assert client.post(urls["detail"], {}).status_code == 405


def test_posts_need_the_csrf_token(patient, auth, make_staff):
    client = Client(enforce_csrf_checks=True)
    sign_in(client, make_staff(Role.INTAKE))
    assert client.post(_urls(patient, auth)["review"], {}).status_code == 403
    assert client.post(_urls(patient, auth)["create"], {}).status_code == 403


def test_the_pages_use_a_fixed_number_of_queries(client_as, patient, episode, auth, intake):
    client = client_as(Role.SUPERVISOR)
    urls = _urls(patient, auth)
    client.get(urls["list"])
    with CaptureQueriesContext(connection) as one:
        client.get(urls["list"])
    start = auth.end_date + timedelta(days=1)
    for n in range(4):
        later = make_authorization(episode, auth.payer, by=intake, start=start + timedelta(days=10 * n), days=10)
        services.utilization_review_record(
            authorization=later,
            by=intake,
            review_date=site_today(patient.site) - timedelta(days=1),
            kind="initial",
            outcome="approved",
            reviewer="Dr. Payer Reviewer",
        )
    with CaptureQueriesContext(connection) as five:
        client.get(urls["list"])
    assert len(five.captured_queries) == len(one.captured_queries)
