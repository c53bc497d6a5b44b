"""The signing rules of group notes over the REST API (the pages' rules, worded without patient
names): at least one facilitator, no other group member's name in what is copied into a chart,
the golden thread for each attendee part."""

import pytest

from plans.models import Objective
from plans.tests.helpers import signed_treatment_plan
from sessions import services
from users.models import Role

from .factories import roll

pytestmark = pytest.mark.django_db


@pytest.fixture
def draft(group, facilitator):
    a, b, _ = group.episodes
    roll(group, facilitator, {a: "present", b: "present"})
    return services.group_note_start(session=group, by=facilitator)


def api(client, method, path, data=None, etag=None):
    headers = {"HTTP_IF_MATCH": f'"{etag}"'} if etag is not None else {}
    return getattr(client, method)(f"/api/v1/{path}", data, "application/json", **headers)


def parts(note, **overrides):
    rows = []
    for e in note.entries.select_related("patient"):
        row = {
            "id": str(e.public_id),
            "participation": "Shared a trigger at work.",
            "response": f"Receptive ({e.patient.legal_last_name[0]}).",
            "progress": "Used urge surfing twice.",
            "risk_observations": "None observed.",
        }
        row.update(overrides.get(e.patient.legal_last_name, {}))
        rows.append(row)
    return rows


def test_the_api_names_facilitators_and_needs_one_to_sign(client_as, draft, facilitator, make_staff, other_site):
    client = client_as(user=facilitator)
    path = f"group-notes/{draft.public_id}/"
    base = {"interventions": "CBT", "entries": parts(draft)}
    stranger = make_staff(Role.CLINICIAN, at=other_site)
    refused = api(client, "patch", f"{path}update/", {**base, "facilitators": [str(stranger.public_id)]}, 1)
    assert refused.status_code == 400 and "facilitators" in refused.json()
    cleared = api(client, "patch", f"{path}update/", {**base, "facilitators": []}, 1)
    assert cleared.status_code == 200 and cleared.json()["facilitators"] == []
    unsigned = api(client, "post", f"{path}sign/")
    assert unsigned.status_code == 400 and "facilitators" in unsigned.json()
    named = api(client, "patch", f"{path}update/", {"facilitators": [str(facilitator.public_id)]}, 2)
    assert named.json()["facilitators"] == [str(facilitator.public_id)]
    assert api(client, "post", f"{path}sign/").status_code == 200


def test_the_api_refuses_another_members_name_without_repeating_it(client_as, draft, facilitator):
    client = client_as(user=facilitator)
    path = f"group-notes/{draft.public_id}/"
    body = {"topic": "Avery's story", "interventions": "CBT", "entries": parts(draft)}
    body["entries"] = parts(draft, Bravo={"participation": "Gave avery alpha feedback."})
    assert api(client, "patch", f"{path}update/", body, 1).status_code == 200
    refused = api(client, "post", f"{path}sign/")
    assert refused.status_code == 400
    errors = refused.json()
    bravo = draft.entries.get(patient__legal_last_name="Bravo")
    assert "topic" in errors and "participation" in errors["entries"][str(bravo.public_id)]
    text = refused.content.decode().lower()
    assert "avery" not in text and "alpha" not in text and "bravo" not in text


def test_the_api_asks_each_part_to_link_its_attendees_objective(client_as, draft, group, facilitator, supervisor):
    a = group.episodes[0]
    signed_treatment_plan(a, facilitator, supervisor)
    client = client_as(user=facilitator)
    path = f"group-notes/{draft.public_id}/"
    assert (
        api(client, "patch", f"{path}update/", {"interventions": "CBT", "entries": parts(draft)}, 1).status_code == 200
    )
    refused = api(client, "post", f"{path}sign/")
    alpha = draft.entries.get(patient=a.patient)
    assert refused.status_code == 400
    assert list(refused.json()["entries"]) == [str(alpha.public_id)]
    assert "objectives" in refused.json()["entries"][str(alpha.public_id)]
    objective = Objective.objects.get(plan__episode=a)
    link = [{"id": str(alpha.public_id), "objectives": [str(objective.public_id)]}]
    assert api(client, "patch", f"{path}update/", {"entries": link}, 2).status_code == 200
    assert api(client, "post", f"{path}sign/").status_code == 200
