"""Group notes, co-signatures, the co-sign queue and addenda over the REST API: the same rules as
the pages (author signs, supervisors co-sign, signed notes are locked), ETag/If-Match as for
progress notes, attendee parts shown only to those who may see that patient, every read and
write audited."""

from __future__ import annotations

from datetime import time, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from audit.models import Action, AuditEvent
from scheduling.models import Enrollment
from scheduling.tests.factories import make_episode
from sessions import services as session_services
from sessions.models import GroupNote, NoteCosignature, NoteStatus
from sessions.tests.factories import make_session, roll
from users.models import Role

from .test_api_world import build_world, staff_member

pytestmark = pytest.mark.django_db

C, S, INTAKE, D, A = Role.CLINICIAN, Role.SUPERVISOR, Role.INTAKE, Role.DIRECTOR, Role.SITE_ADMIN
GROUP_OBJECT = "clinical_sessions.GroupNote"


def url(name, **kwargs):
    return reverse(f"api:{name}", kwargs=kwargs)


def enrolled(world, first: str, *, site=None):
    """An episode (of ``site``'s patient, the world's site by default) enrolled in the world's track."""
    episode = make_episode(site or world.site, admitted=world.objects["today"] - timedelta(days=21), first=first)
    Enrollment.objects.create(
        track=world.objects["track"], episode=episode, start_date=world.objects["today"] - timedelta(days=21)
    )
    return episode


def group_session(world, *extra_episodes, days_ago: int = 1):
    """Yesterday's group with the world's patient and ``extra_episodes``, all present."""
    session = make_session(
        world.site,
        track=world.objects["track"],
        day=world.objects["today"] - timedelta(days=days_ago),
        at=time(13),
        facilitators=[world.staff[C]],
    )
    roll(session, world.staff[C], {world.objects["episode"]: "present", **{e: "present" for e in extra_episodes}})
    return session


def open_note(world, session, user=None):
    response = world.api(user or world.staff[C]).post(
        url("group-note-create"), {"session": str(session.public_id)}, format="json"
    )
    assert response.status_code in (200, 201), response.json()
    return response


def filled_parts(body) -> list[dict]:
    return [
        {
            "id": part["id"],
            "participation": "Shared a trigger at work.",
            "response": f"Receptive to feedback ({index}).",
            "progress": "Used urge surfing twice.",
            "risk_observations": "None observed.",
        }
        for index, part in enumerate(body["entries"])
    ]


def fill(world, note_id, etag, body, user=None):
    client = world.api(user or world.staff[C])
    return client.patch(
        url("group-note-update", group_note_id=note_id),
        {"interventions": "CBT thought records; MI", "curriculum_module": "RP-3", "entries": filled_parts(body)},
        format="json",
        HTTP_IF_MATCH=etag,
    )


@pytest.fixture
def world(db):
    return build_world()


@pytest.fixture
def signed_group(world):
    """A group note signed by a clinician whose notes need a supervisor's co-signature."""
    session_services.cosign_requirement_set(
        user=world.staff[C], site=world.site, required=True, by=world.staff[S], reason="Pre-licensure"
    )
    session = group_session(world, enrolled(world, "Blake"))
    created = open_note(world, session)
    filled = fill(world, created.json()["id"], created["ETag"], created.json())
    assert filled.status_code == 200, filled.json()
    signed = world.api(world.staff[C]).post(url("group-note-sign", group_note_id=created.json()["id"]))
    assert signed.status_code == 200, signed.json()
    return GroupNote.objects.get(public_id=created.json()["id"])


# --- create, edit, sign ---------------------------------------------------------------------------


def test_a_group_note_is_opened_edited_with_if_match_and_signed_once(world):
    blake = enrolled(world, "Blake")
    session = group_session(world, blake)
    client = world.api(world.staff[C])

    created = open_note(world, session)
    assert created.status_code == 201
    body = created.json()
    note_id, etag = body["id"], created["ETag"]
    assert etag == '"1"' and body["status"] == "draft"
    assert {p["patient"] for p in body["entries"]} == {
        str(world.objects["patient"].public_id),
        str(blake.patient.public_id),
    }
    assert all(p["minutes_attended"] == 180 for p in body["entries"])
    # Opening it again answers the same note.
    again = open_note(world, session)
    assert again.status_code == 200 and again.json()["id"] == note_id

    edit_url = url("group-note-update", group_note_id=note_id)
    assert client.patch(edit_url, {"interventions": "MI"}, format="json").status_code == 428
    saved = fill(world, note_id, etag, body)
    assert saved.status_code == 200, saved.json()
    assert saved["ETag"] == '"2"' and saved.json()["interventions"] == "CBT thought records; MI"
    assert {p["participation"] for p in saved.json()["entries"]} == {"Shared a trigger at work."}
    stale = client.patch(edit_url, {"interventions": "MI"}, format="json", HTTP_IF_MATCH=etag)
    assert stale.status_code == 412
    assert client.post(url("group-note-sign", group_note_id=note_id), HTTP_IF_MATCH=etag).status_code == 412

    # Only the author signs; a supervisor of the site may read it but not sign it.
    refused = world.api(world.staff[S]).post(url("group-note-sign", group_note_id=note_id))
    assert refused.status_code == 403
    signed = client.post(url("group-note-sign", group_note_id=note_id), HTTP_IF_MATCH=saved["ETag"])
    assert signed.status_code == 200, signed.json()
    assert signed.json()["status"] == "signed" and len(signed.json()["content_hash"]) == 64
    assert signed.json()["signer_credential"] == "LCSW"

    twice = client.post(url("group-note-sign", group_note_id=note_id))
    assert twice.status_code == 409 and "signed" in twice.json()["detail"]
    locked = client.patch(edit_url, {"interventions": "Changed"}, format="json", HTTP_IF_MATCH=signed["ETag"])
    assert locked.status_code == 409
    note = GroupNote.objects.get(public_id=note_id)
    assert note.interventions == "CBT thought records; MI" and note.hash_verifies()

    actions = list(
        AuditEvent.objects.filter(object_type=GROUP_OBJECT, object_id=note_id)
        .exclude(action=Action.VIEW)
        .values_list("action", flat=True)
        .order_by("id")
    )
    assert actions == [Action.CREATE, Action.UPDATE, Action.SIGN]


def test_signing_names_the_missing_fields_of_each_part(world):
    session = group_session(world, enrolled(world, "Blake"))
    created = open_note(world, session)
    first = created.json()["entries"][0]["id"]
    world.api(world.staff[C]).patch(
        url("group-note-update", group_note_id=created.json()["id"]),
        {"entries": [{"id": first, "participation": "Spoke twice."}]},
        format="json",
        HTTP_IF_MATCH=created["ETag"],
    )
    refused = world.api(world.staff[C]).post(url("group-note-sign", group_note_id=created.json()["id"]))
    assert refused.status_code == 400
    errors = refused.json()
    assert "interventions" in errors
    assert set(errors["entries"][first]) == {"response", "progress", "risk_observations"}
    assert GroupNote.objects.get(public_id=created.json()["id"]).status == NoteStatus.DRAFT


def test_bad_edits_are_400_naming_the_field(world):
    session = group_session(world)
    created = open_note(world, session)
    note_id, etag = created.json()["id"], created["ETag"]
    client = world.api(world.staff[C])
    edit_url = url("group-note-update", group_note_id=note_id)

    wrong_day = client.patch(edit_url, {"starts_at": "2020-01-01T10:00:00Z"}, format="json", HTTP_IF_MATCH=etag).json()
    assert "starts_at" in wrong_day
    day = session.local_start()
    backwards = client.patch(
        edit_url,
        {"starts_at": day.replace(hour=15).isoformat(), "ends_at": day.replace(hour=14).isoformat()},
        format="json",
        HTTP_IF_MATCH=etag,
    )
    assert backwards.status_code == 400 and "ends_at" in backwards.json()
    foreign = client.patch(
        edit_url,
        {"entries": [{"id": str(world.objects["note"].public_id), "participation": "x"}]},
        format="json",
        HTTP_IF_MATCH=etag,
    )
    assert foreign.status_code == 400 and "id" in foreign.json()["entries"]["0"]
    assert client.put(edit_url, {"topic": "Only the topic"}, format="json", HTTP_IF_MATCH=etag).status_code == 400
    assert GroupNote.objects.get(public_id=note_id).version == 1


def test_the_roll_comes_first_and_roles_are_those_of_the_pages(world):
    session = make_session(
        world.site, track=world.objects["track"], day=world.objects["today"], facilitators=[world.staff[C]]
    )
    no_roll = world.api(world.staff[C]).post(url("group-note-create"), {"session": str(session.public_id)})
    assert no_roll.status_code == 400 and "session" in no_roll.json()
    rolled = group_session(world)
    payload = {"session": str(rolled.public_id)}
    assert world.api(world.staff[D]).post(url("group-note-create"), payload).status_code == 403
    assert world.api(world.staff[INTAKE]).post(url("group-note-create"), payload).status_code == 403
    assert world.api(world.other_clinician).post(url("group-note-create"), payload).status_code == 404
    note_id = open_note(world, rolled).json()["id"]
    assert world.api(world.staff[INTAKE]).get(url("group-note-detail", group_note_id=note_id)).status_code == 403
    assert world.api(world.staff[A]).get(url("group-note-list")).status_code == 403
    assert world.api(world.other_clinician).get(url("group-note-detail", group_note_id=note_id)).status_code == 404
    # A counselor who neither wrote nor facilitated it may read but not edit it.
    colleague = staff_member(world.site, C)
    client = world.api(colleague)
    read = client.get(url("group-note-detail", group_note_id=note_id))
    assert read.status_code == 200
    edit = client.patch(
        url("group-note-update", group_note_id=note_id),
        {"topic": "Mine now"},
        format="json",
        HTTP_IF_MATCH=read["ETag"],
    )
    assert edit.status_code == 403


# --- who sees which attendee part ------------------------------------------------------------------


def test_a_part_about_a_patient_the_reader_may_not_see_is_left_out_and_not_audited(world):
    visiting = enrolled(world, "Casey", site=world.other_site)  # a patient of the other site, in this group
    session = group_session(world, visiting)
    note = session_services.group_note_start(session=session, by=world.staff[C])
    assert note.entries.count() == 2
    ours, theirs = str(world.objects["patient"].public_id), str(visiting.patient.public_id)
    hidden_part = note.entries.get(patient=visiting.patient)

    client = world.api(world.staff[S])
    detail = client.get(url("group-note-detail", group_note_id=note.public_id))
    assert [p["patient"] for p in detail.json()["entries"]] == [ours]
    assert "Casey" not in detail.content.decode()
    event = AuditEvent.objects.filter(action=Action.VIEW, object_id=str(note.public_id)).latest("id")
    assert event.changes["patients"] == [ours]

    listed = client.get(url("group-note-list"), {"session": str(session.public_id)}).json()["results"]
    assert [p["patient"] for p in listed[0]["entries"]] == [ours]
    listing = AuditEvent.objects.filter(action=Action.VIEW, object_type=GROUP_OBJECT, object_id="").latest("id")
    assert listing.changes["patients"] == [ours]
    assert client.get(url("group-note-list"), {"patient": theirs}).json()["results"] == []
    assert len(client.get(url("group-note-list"), {"patient": ours}).json()["results"]) == 1

    # Nor can that part be edited, or amended, through this note.
    edit = world.api(world.staff[C]).patch(
        url("group-note-update", group_note_id=note.public_id),
        {"entries": [{"id": str(hidden_part.public_id), "participation": "x"}]},
        format="json",
        HTTP_IF_MATCH='"1"',
    )
    assert edit.status_code == 400 and "id" in edit.json()["entries"]["0"]


def test_the_list_costs_the_same_queries_for_one_note_as_for_three(world):
    client = world.api(world.staff[S])
    make_and_open(world, days_ago=1)
    client.get(url("group-note-list"))  # warm per-process caches
    with CaptureQueriesContext(connection) as one:
        assert client.get(url("group-note-list")).status_code == 200
    make_and_open(world, days_ago=2)
    make_and_open(world, days_ago=3)
    with CaptureQueriesContext(connection) as three:
        body = client.get(url("group-note-list")).json()
    assert body["count"] == 3 and all(len(n["entries"]) == 2 for n in body["results"])
    assert len(three) == len(one)


def make_and_open(world, *, days_ago: int):
    session = group_session(world, enrolled(world, f"Extra{days_ago}"), days_ago=days_ago)
    return session_services.group_note_start(session=session, by=world.staff[C])


# --- co-signature ------------------------------------------------------------------------------------


def test_a_supervisor_cosigns_a_supervisees_group_note_from_the_queue(world, signed_group):
    note_id = str(signed_group.public_id)
    assert signed_group.requires_cosign
    queue = world.api(world.staff[S]).get(url("cosign-queue"))
    assert queue.status_code == 200
    assert [(i["kind"], i["id"]) for i in queue.json()] == [("group", note_id)]
    assert queue.json()[0]["patient"] is None

    cosign_url = url("group-note-cosign", group_note_id=note_id)
    assert world.api(world.staff[C]).post(cosign_url, {}, format="json").status_code == 403
    assert world.api(world.staff[D]).post(cosign_url, {}, format="json").status_code == 403
    other_supervisor = staff_member(world.other_site, S)
    assert world.api(other_supervisor).post(cosign_url, {}, format="json").status_code == 404

    done = world.api(world.staff[S]).post(cosign_url, {"comment": "Reviewed."}, format="json")
    assert done.status_code == 200, done.json()
    cosignature = done.json()["cosignature"]
    assert cosignature["comment"] == "Reviewed." and cosignature["note_hash"] == signed_group.content_hash
    assert cosignature["cosigned_by"] == str(world.staff[S].public_id)
    assert world.api(world.staff[S]).post(cosign_url, {}, format="json").status_code == 409
    assert NoteCosignature.objects.filter(group_note=signed_group).count() == 1
    assert world.api(world.staff[S]).get(url("cosign-queue")).json() == []
    assert AuditEvent.objects.filter(
        action=Action.SIGN, object_id=note_id, reason="co-signature", actor=world.staff[S]
    ).exists()


def test_progress_notes_are_cosigned_too_and_the_queue_is_audited(world):
    session_services.cosign_requirement_set(user=world.staff[C], site=world.site, required=True, by=world.staff[S])
    note = world.objects["note"]
    client = world.api(world.staff[C])
    etag = client.get(url("note-detail", note_id=note.public_id))["ETag"]
    sections = {"subjective": "Better.", "objective": "Calm.", "assessment": "Stable.", "plan": "Continue."}
    assert (
        client.patch(
            url("note-update", note_id=note.public_id), {"sections": sections}, format="json", HTTP_IF_MATCH=etag
        )
    ).status_code == 200
    assert world.api(world.staff[S]).post(url("note-sign", note_id=note.public_id)).status_code == 403
    signed = client.post(url("note-sign", note_id=note.public_id))
    assert signed.status_code == 200 and signed.json()["requires_cosign"] is True
    assert signed.json()["cosignature"] is None
    assert client.post(url("note-sign", note_id=note.public_id)).status_code == 409

    assert client.get(url("cosign-queue")).status_code == 403
    queue = world.api(world.staff[S]).get(url("cosign-queue")).json()
    patient_id = str(world.objects["patient"].public_id)
    assert [(i["kind"], i["patient"]) for i in queue] == [("progress", patient_id)]
    event = AuditEvent.objects.filter(object_type="clinical_sessions.cosign_queue").latest("id")
    assert event.changes["patients"] == [patient_id] and event.actor == world.staff[S]

    cosign_url = url("note-cosign", note_id=note.public_id)
    assert client.post(cosign_url, {}, format="json").status_code == 403
    assert world.api(staff_member(world.other_site, S)).post(cosign_url, {}, format="json").status_code == 404
    done = world.api(world.staff[S]).post(cosign_url, {}, format="json")
    assert done.status_code == 200 and done.json()["cosignature"]["cosigner_name"]
    assert world.api(world.staff[S]).post(cosign_url, {}, format="json").status_code == 409


def test_a_note_that_needs_no_cosignature_is_refused_with_409(world):
    session = group_session(world)
    draft = open_note(world, session).json()["id"]
    response = world.api(world.staff[S]).post(url("group-note-cosign", group_note_id=draft), {}, format="json")
    assert response.status_code == 409 and "not awaiting" in response.json()["detail"]


# --- addenda ----------------------------------------------------------------------------------------------


def test_addenda_go_on_signed_notes_only_and_name_missing_fields(world, signed_group):
    client = world.api(world.staff[C])
    draft = world.objects["note"]
    assert (
        client.post(url("note-addendum", note_id=draft.public_id), {"reason": "Late", "text": "x"}, format="json")
    ).status_code == 409

    addendum_url = url("group-note-addendum", group_note_id=signed_group.public_id)
    empty = client.post(addendum_url, {"reason": "", "text": ""}, format="json")
    assert empty.status_code == 400 and {"reason", "text"} <= set(empty.json())
    foreign = client.post(
        addendum_url,
        {"reason": "Late entry", "text": "x", "entry": str(world.objects["note"].public_id)},
        format="json",
    )
    assert foreign.status_code == 400 and "entry" in foreign.json()
    part = signed_group.entries.get(patient=world.objects["patient"])
    added = client.post(
        addendum_url,
        {"reason": "Late entry", "text": "Reported a craving after group.", "entry": str(part.public_id)},
        format="json",
    )
    assert added.status_code == 201, added.json()
    addenda = added.json()["addenda"]
    assert [(a["entry"], a["reason"]) for a in addenda] == [(str(part.public_id), "Late entry")]
    assert world.api(world.staff[D]).post(addendum_url, {"reason": "r", "text": "t"}, format="json").status_code == 403
    signed_group.refresh_from_db()
    assert signed_group.hash_verifies()
    assert AuditEvent.objects.filter(action=Action.SIGN, reason="addendum", actor=world.staff[C]).count() == 1
