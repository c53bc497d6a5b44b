"""Authorizations and utilization reviews over the API: access as on the pages, 400 by field,
If-Match on changes, units counted (never sent), audited reads, one query count for any page."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from audit.models import Action, AuditEvent
from billing.models import Authorization, UtilizationReview
from patients.models import site_today
from scheduling.tests.factories import make_episode
from tests.test_api_world import build_world
from users.models import Role

from .helpers import make_authorization, make_code, make_payer

pytestmark = pytest.mark.django_db

C, S, INTAKE, D, A = Role.CLINICIAN, Role.SUPERVISOR, Role.INTAKE, Role.DIRECTOR, Role.SITE_ADMIN


@pytest.fixture
def world(db):
    return build_world()


@pytest.fixture
def payer(db):
    return make_payer("API Test Medicaid")


def url(name, **kwargs):
    return reverse(f"api:{name}", kwargs=kwargs)


def _body(world, paying, **changes):
    episode = world.objects["episode"]
    start = episode.admission_date
    return {
        "episode": str(episode.public_id),
        "payer": str(paying.public_id),
        "authorized_level": "2.1",
        "start_date": str(start),
        "end_date": str(start + timedelta(days=29)),
        "units_authorized": 20,
        "reference_number": "API-0001",
        "care_manager_name": "Care Manager Example",
        **changes,
    }


def test_intake_records_an_authorization_and_units_are_counted_not_sent(world, payer):
    code = make_code("H0015", minimum_minutes=180)
    client = world.api(world.staff[INTAKE])
    response = client.post(
        url("authorization-create"), _body(world, payer, service_code=str(code.public_id), units_used=99), format="json"
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    auth = Authorization.objects.get(public_id=body["id"])
    assert body["patient"] == str(world.objects["patient"].public_id)
    assert body["payer_name"] == "API Test Medicaid" and body["service_code"] == str(code.public_id)
    assert body["authorized_level"] == "2.1" and body["clinical_level"] == world.objects["episode"].level_of_care
    assert body["units_used"] == 0 and body["units_remaining"] == 20  # "units_used" sent is ignored
    assert body["reviews"] == [] and body["next_review_date"] is None
    assert response["ETag"]
    event = AuditEvent.objects.get(action=Action.CREATE, object_type="billing.Authorization")
    assert event.actor == world.staff[INTAKE] and event.object_id == str(auth.public_id)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"end_date": "2000-01-01"}, "end_date"),
        ({"payer": "00000000-0000-0000-0000-000000000000"}, "payer"),
        ({"units_authorized": -1}, "units_authorized"),
        ({"reference_number": ""}, "reference_number"),
        ({"authorized_level": "9.9"}, "authorized_level"),
        ({"care_manager_email": "not-an-address"}, "care_manager_email"),
        ({"episode": "00000000-0000-0000-0000-000000000000"}, "episode"),
    ],
)
def test_bad_input_is_400_naming_the_field_and_saves_nothing(world, payer, changes, field):
    response = world.api(world.staff[INTAKE]).post(
        url("authorization-create"), _body(world, payer, **changes), format="json"
    )
    assert response.status_code == 400
    assert field in response.json(), response.json()
    assert not Authorization.objects.exists()


def test_an_overlapping_authorization_is_refused_on_the_start_date(world, payer):
    client = world.api(world.staff[INTAKE])
    assert client.post(url("authorization-create"), _body(world, payer), format="json").status_code == 201
    response = client.post(url("authorization-create"), _body(world, payer, reference_number="API-0002"), format="json")
    assert response.status_code == 400 and "overlap" in response.json()["start_date"][0]
    assert Authorization.objects.count() == 1


def test_counselors_read_but_do_not_record_and_other_sites_see_nothing(world, payer):
    auth = make_authorization(world.objects["episode"], payer, by=world.staff[INTAKE])
    detail = url("authorization-detail", authorization_id=auth.public_id)
    counselor = world.api(world.staff[C])
    assert counselor.get(detail).status_code == 200
    assert (
        counselor.post(
            url("authorization-create"), _body(world, payer, reference_number="X-2"), format="json"
        ).status_code
        == 403
    )
    review = {
        "review_date": str(site_today(world.site)),
        "kind": "concurrent",
        "outcome": "approved",
        "reviewer": "Dr. R",
    }
    assert (
        counselor.post(
            url("authorization-review-create", authorization_id=auth.public_id), review, format="json"
        ).status_code
        == 403
    )
    assert world.api(world.other_clinician).get(detail).status_code == 404
    assert world.api(world.other_clinician).get(url("authorization-list")).json()["results"] == []
    assert world.api(world.staff[A]).get(detail).status_code == 404
    assert world.api(world.staff[A]).get(url("authorization-list")).status_code == 403
    assert (
        world.api(world.staff[S])
        .post(url("authorization-review-create", authorization_id=auth.public_id), review, format="json")
        .status_code
        == 201
    )


def test_a_change_needs_the_current_etag(world, payer):
    auth = make_authorization(world.objects["episode"], payer, by=world.staff[INTAKE])
    client = world.api(world.staff[S])
    change = url("authorization-update", authorization_id=auth.public_id)
    new_end = str(auth.end_date + timedelta(days=14))
    assert client.patch(change, {"end_date": new_end, "units_authorized": 30}, format="json").status_code == 428
    assert client.patch(change, {"end_date": new_end}, format="json", HTTP_IF_MATCH='"1"').status_code == 412
    etag = client.get(url("authorization-detail", authorization_id=auth.public_id))["ETag"]
    response = client.patch(change, {"end_date": new_end, "units_authorized": 30}, format="json", HTTP_IF_MATCH=etag)
    assert response.status_code == 200, response.json()
    assert response.json()["end_date"] == new_end and response.json()["units_authorized"] == 30
    assert response["ETag"] != etag
    auth.refresh_from_db()
    assert auth.reference_number.startswith("AUTH-")  # a PATCH changes only what it names
    event = AuditEvent.objects.get(action=Action.UPDATE, object_type="billing.Authorization")
    assert set(event.changes["after"]) == {"end_date", "units_authorized"}
    # The old ETag is stale now.
    assert client.patch(change, {"units_authorized": 31}, format="json", HTTP_IF_MATCH=etag).status_code == 412


def test_reviews_build_the_history_and_set_the_next_review(world, payer):
    auth = make_authorization(world.objects["episode"], payer, by=world.staff[INTAKE])
    today = site_today(world.site)
    client = world.api(world.staff[INTAKE])
    reviews = url("authorization-review-create", authorization_id=auth.public_id)
    bad = client.post(
        reviews,
        {
            "review_date": str(today),
            "kind": "discharge",
            "outcome": "approved",
            "reviewer": "Dr. R",
            "next_review_date": str(today + timedelta(days=7)),
        },
        format="json",
    )
    assert bad.status_code == 400 and "next_review_date" in bad.json()
    future = client.post(
        reviews,
        {
            "review_date": str(today + timedelta(days=1)),
            "kind": "concurrent",
            "outcome": "approved",
            "reviewer": "Dr. R",
        },
        format="json",
    )
    assert future.status_code == 400 and "review_date" in future.json()
    ok = client.post(
        reviews,
        {
            "review_date": str(today),
            "kind": "concurrent",
            "outcome": "partially_approved",
            "next_review_date": str(today + timedelta(days=7)),
            "reviewer": "Dr. Payer Reviewer, MD",
        },
        format="json",
    )
    assert ok.status_code == 201, ok.json()
    (review,) = ok.json()["reviews"]
    assert review["outcome"] == "partially_approved" and review["recorded_by_name"]
    assert UtilizationReview.objects.count() == 1
    (row,) = client.get(url("authorization-list"), {"patient": str(world.objects["patient"].public_id)}).json()[
        "results"
    ]
    assert row["next_review_date"] == str(today + timedelta(days=7))


def test_the_list_is_audited_and_costs_the_same_queries_for_1_or_6_rows(world, payer):
    client = world.api(world.staff[S])

    def count() -> tuple[int, int]:
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(url("authorization-list"))
        return len(ctx.captured_queries), len(response.json()["results"])

    make_authorization(world.objects["episode"], payer, by=world.staff[INTAKE])
    count()  # the first request also stamps the token's last use (once a while)
    one, rows = count()
    assert rows == 1
    for _ in range(5):
        episode = make_episode(world.site, admitted=site_today(world.site) - timedelta(days=10))
        make_authorization(episode, payer, by=world.staff[INTAKE])
    assert count() == (one, 6)
    event = AuditEvent.objects.filter(action=Action.VIEW, object_type="billing.Authorization").first()
    assert len(event.changes["patients"]) == 6


def test_the_catalogue_lists_payers_and_codes_by_id(world, payer):
    code = make_code("H0015", minimum_minutes=180)
    client = world.api(world.staff[INTAKE])
    payers = client.get(url("payer-list")).json()["results"]
    assert {"id": str(payer.public_id), "name": payer.name, "kind": payer.kind, "is_active": True} in payers
    (listed,) = client.get(url("service-code-list")).json()["results"]
    assert listed["id"] == str(code.public_id) and listed["unit_type"] == "per_diem"
