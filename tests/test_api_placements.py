"""Placements over the REST API: ratings → stored IOP-RS-1 recommendation, decision with an
override that needs a reason, signing, co-signing under PLACEMENT_COSIGN, immutability after
signing (409, never a 500), roles and sites as on the pages, every read and write audited."""

from __future__ import annotations

import pytest
from django.urls import reverse

from assessments.models import Placement, PlacementStatus
from audit.models import Action, AuditEvent
from users.models import Role

from .test_api_world import build_world, staff_member

pytestmark = pytest.mark.django_db

C, S, INTAKE, D, A = Role.CLINICIAN, Role.SUPERVISOR, Role.INTAKE, Role.DIRECTOR, Role.SITE_ADMIN
# IOP-RS-1: D4 = 2 and D5 = 2 floor at 2.1; fewer than four of D2–D6 at 2 or more.
RATINGS = {"d1_rating": 0, "d2_rating": 1, "d3_rating": 1, "d4_rating": 2, "d5_rating": 2, "d6_rating": 1}


def url(name, **kwargs):
    return reverse(f"api:{name}", kwargs=kwargs)


@pytest.fixture
def world(db):
    return build_world()


def create(world, user=None, **fields):
    payload = {"patient": str(world.objects["patient"].public_id), "placement_type": "initial", **fields}
    return world.api(user or world.staff[C]).post(url("placement-create"), payload, format="json")


def audited(placement_id: str) -> list[tuple[str, str]]:
    return list(
        AuditEvent.objects.filter(object_type="assessments.Placement", object_id=placement_id)
        .order_by("id")
        .values_list("action", "reason")
    )


def test_create_override_sign_and_cosign(world):
    clinician, supervisor = world.staff[C], world.staff[S]
    created = create(world, **RATINGS, d6_note="Stable housing with a sober roommate.")
    assert created.status_code == 201, created.json()
    body = created.json()
    pid = body["id"]
    assert body["status"] == "draft" and body["recommended_level"] == "2.1"
    assert body["recommendation"]["treatment_level"] == "2.1" and body["rule_set"]
    assert body["episode"] == str(world.objects["episode"].public_id)
    assert body["d6_note"] == "Stable housing with a sober roommate."

    client = world.api(clinician)
    decide_url = url("placement-decide", placement_id=pid)
    refused = client.post(decide_url, {"actual_level": "2.5"}, format="json")
    assert refused.status_code == 400
    assert {"override_reason", "override_note"} <= set(refused.json())
    assert Placement.objects.get(public_id=pid).actual_level == ""
    decided = client.post(
        decide_url,
        {"actual_level": "2.5", "override_reason": "CLINICAL_JUDGMENT", "override_note": "Two recent lapses."},
        format="json",
    )
    assert decided.status_code == 200, decided.json()
    assert decided.json()["is_override"] is True and decided.json()["override_reason"] == "CLINICAL_JUDGMENT"

    signed = client.post(url("placement-sign", placement_id=pid))
    assert signed.status_code == 200, signed.json()
    # PLACEMENT_COSIGN defaults to "overrides": a counselor's override awaits a supervisor.
    assert signed.json()["status"] == "awaiting_cosign" and signed.json()["cosign_required"] is True
    assert signed.json()["signed_by"] == str(clinician.public_id)

    cosign_url = url("placement-cosign", placement_id=pid)
    assert client.post(cosign_url).status_code == 403
    assert world.api(world.staff[D]).post(cosign_url).status_code == 403
    assert world.api(world.staff[INTAKE]).post(cosign_url).status_code == 404
    assert world.api(staff_member(world.other_site, S)).post(cosign_url).status_code == 404
    done = world.api(supervisor).post(cosign_url)
    assert done.status_code == 200, done.json()
    assert done.json()["status"] == "signed" and done.json()["cosigned_by"] == str(supervisor.public_id)
    again = world.api(supervisor).post(cosign_url)
    assert again.status_code == 409 and "not awaiting" in again.json()["detail"]

    assert audited(pid) == [
        (Action.CREATE, ""),
        (Action.UPDATE, "decision"),
        (Action.SIGN, ""),
        (Action.SIGN, "co-sign"),
    ]


@pytest.mark.parametrize("status", [PlacementStatus.AWAITING_COSIGN, PlacementStatus.SIGNED])
def test_a_signed_placement_refuses_every_change_with_409(world, settings, status):
    settings.PLACEMENT_COSIGN = "always" if status == PlacementStatus.AWAITING_COSIGN else "never"
    pid = create(world, **RATINGS).json()["id"]
    client = world.api(world.staff[C])
    client.post(url("placement-decide", placement_id=pid), {"actual_level": "2.1"}, format="json")
    signed = client.post(url("placement-sign", placement_id=pid))
    assert signed.json()["status"] == status
    before = Placement.objects.get(public_id=pid)

    attempts = [
        client.post(url("placement-sign", placement_id=pid)),
        client.post(
            url("placement-decide", placement_id=pid),
            {"actual_level": "1", "override_reason": "PATIENT_PREFERENCE", "override_note": "Prefers less."},
            format="json",
        ),
        client.patch(url("placement-update", placement_id=pid), {"d3_rating": 3}, format="json"),
    ]
    for response in attempts:
        assert response.status_code == 409, response.json()
        assert "signed" in response.json()["detail"]
    after = Placement.objects.get(public_id=pid)
    assert (after.actual_level, after.d3_rating, after.updated_at) == (
        before.actual_level,
        before.d3_rating,
        before.updated_at,
    )


def test_never_policy_signs_without_a_cosign(world, settings):
    settings.PLACEMENT_COSIGN = "never"
    pid = create(world, **RATINGS).json()["id"]
    client = world.api(world.staff[C])
    client.post(
        url("placement-decide", placement_id=pid),
        {"actual_level": "2.5", "override_reason": "PAYER_DECISION", "override_note": "Payer authorised PHP."},
        format="json",
    )
    signed = client.post(url("placement-sign", placement_id=pid)).json()
    assert signed["status"] == "signed" and signed["cosign_required"] is False
    assert world.api(world.staff[S]).post(url("placement-cosign", placement_id=pid)).status_code == 409


def test_a_draft_is_rated_step_by_step_and_signing_names_what_is_missing(world):
    created = create(world, d1_rating=0, d2_rating=1)
    pid = created.json()["id"]
    assert created.json()["recommendation"] == {} and created.json()["recommended_level"] == ""
    client = world.api(world.staff[C])
    unsigned = client.post(url("placement-sign", placement_id=pid))
    assert unsigned.status_code == 400
    assert {"d3_rating", "d4_rating", "d5_rating", "d6_rating", "actual_level"} <= set(unsigned.json())
    early = client.post(url("placement-decide", placement_id=pid), {"actual_level": "2.1"}, format="json")
    assert early.status_code == 400 and "d3_rating" in early.json()

    rated = client.patch(
        url("placement-update", placement_id=pid),
        {"d3_rating": 1, "d4_rating": 2, "d5_rating": 2, "d6_rating": 1},
        format="json",
        HTTP_IF_MATCH=created["ETag"],
    )
    assert rated.status_code == 200 and rated.json()["recommended_level"] == "2.1"
    # Agreeing with the recommendation clears any override reason sent along.
    agreed = client.post(
        url("placement-decide", placement_id=pid),
        {"actual_level": "2.1", "override_reason": "WAITLIST", "override_note": "n/a"},
        format="json",
    )
    assert agreed.status_code == 200
    assert (agreed.json()["override_reason"], agreed.json()["override_note"]) == ("", "")
    signed = client.post(url("placement-sign", placement_id=pid))
    assert signed.status_code == 200 and signed.json()["status"] == "signed"


def test_edits_need_the_current_etag_and_a_stale_one_changes_nothing(world):
    created = create(world, d1_rating=0, d2_rating=1)
    pid, first = created.json()["id"], created["ETag"]
    client = world.api(world.staff[C])
    detail = client.get(url("placement-detail", placement_id=pid))
    assert detail["ETag"] == first
    edit = url("placement-update", placement_id=pid)

    missing = client.patch(edit, {"d3_rating": 2}, format="json")
    assert missing.status_code == 428
    changed = client.patch(edit, {"d3_rating": 2}, format="json", HTTP_IF_MATCH=first)
    assert changed.status_code == 200 and changed.json()["d3_rating"] == 2
    second = changed["ETag"]
    assert second != first
    # A second editor still holding the first version is refused, and nothing changes.
    stale = client.patch(edit, {"d3_rating": 4}, format="json", HTTP_IF_MATCH=first)
    assert stale.status_code == 412
    assert Placement.objects.get(public_id=pid).d3_rating == 2
    rated = client.patch(edit, {"d4_rating": 2, "d5_rating": 2, "d6_rating": 1}, format="json", HTTP_IF_MATCH=second)
    assert rated.status_code == 200 and rated.json()["recommended_level"] == "2.1"
    # Decide and sign check If-Match when it is sent.
    decide = url("placement-decide", placement_id=pid)
    assert client.post(decide, {"actual_level": "2.1"}, format="json", HTTP_IF_MATCH=second).status_code == 412
    decided = client.post(decide, {"actual_level": "2.1"}, format="json", HTTP_IF_MATCH=rated["ETag"])
    assert decided.status_code == 200
    sign = url("placement-sign", placement_id=pid)
    assert client.post(sign, HTTP_IF_MATCH=rated["ETag"]).status_code == 412
    assert client.post(sign, HTTP_IF_MATCH=decided["ETag"]).json()["status"] in {"signed", "awaiting_cosign"}
    # Bad input with the right version is 400, not a precondition failure.
    other = create(world)
    bad = client.patch(
        url("placement-update", placement_id=other.json()["id"]),
        {"d2_rating": 9},
        format="json",
        HTTP_IF_MATCH=other["ETag"],
    )
    assert bad.status_code == 400 and "d2_rating" in bad.json()


def test_bad_input_is_400_naming_the_field(world):
    client = world.api(world.staff[C])
    patient = str(world.objects["patient"].public_id)
    bad = client.post(
        url("placement-create"),
        {"patient": patient, "placement_type": "someday", "d2_rating": 7},
        format="json",
    )
    assert bad.status_code == 400 and {"placement_type", "d2_rating"} <= set(bad.json())
    wrong_episode = create(world, episode=str(world.objects["other_episode"].public_id))
    assert wrong_episode.status_code == 400 and "episode" in wrong_episode.json()
    pid = create(world, **RATINGS).json()["id"]
    level = client.post(url("placement-decide", placement_id=pid), {"actual_level": "9"}, format="json")
    assert level.status_code == 400 and "actual_level" in level.json()
    reason = client.post(
        url("placement-decide", placement_id=pid),
        {"actual_level": "1", "override_reason": "BORED", "override_note": "x"},
        format="json",
    )
    assert reason.status_code == 400 and "override_reason" in reason.json()


def test_roles_and_sites_match_the_pages(world):
    assert create(world, world.staff[D]).status_code == 403
    assert create(world, world.staff[INTAKE]).status_code == 403
    assert create(world, world.other_clinician).status_code == 404
    assert create(world, world.staff[A]).status_code == 404
    pid = create(world, **RATINGS).json()["id"]
    payload = {"actual_level": "2.1"}
    assert world.api(world.staff[D]).post(url("placement-decide", placement_id=pid), payload).status_code == 403
    assert world.api(world.staff[INTAKE]).post(url("placement-decide", placement_id=pid), payload).status_code == 404
    assert world.api(world.other_clinician).post(url("placement-sign", placement_id=pid)).status_code == 404
    assert world.api(world.other_clinician).get(url("placement-detail", placement_id=pid)).status_code == 404


def test_reads_are_audited(world):
    pid = create(world, **RATINGS).json()["id"]
    client = world.api(world.staff[D])
    assert client.get(url("placement-detail", placement_id=pid)).status_code == 200
    assert AuditEvent.objects.filter(action=Action.VIEW, object_id=pid, actor=world.staff[D]).count() == 1
    listed = client.get(url("placement-list"), {"status": "draft"})
    assert [p["id"] for p in listed.json()["results"]] == [pid]
    event = AuditEvent.objects.filter(action=Action.VIEW, object_type="assessments.Placement", object_id="").latest(
        "id"
    )
    assert event.changes["patients"] == [str(world.objects["patient"].public_id)]
