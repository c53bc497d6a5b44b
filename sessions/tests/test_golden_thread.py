"""Notes link the treatment-plan objectives they addressed; the links are part of the signed content."""

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.urls import reverse

from plans.models import Objective
from plans.tests.helpers import signed_treatment_plan
from sessions import services

from .factories import roll

pytestmark = pytest.mark.django_db

SOAP = {"subjective": "S", "objective": "O", "assessment": "A", "plan": "P"}


@pytest.fixture
def setup(group, facilitator, supervisor):
    a, b, _ = group.episodes
    roll(group, facilitator, {a: "present", b: "present"})
    signed_treatment_plan(a, facilitator, supervisor)
    signed_treatment_plan(b, facilitator, supervisor)
    mine = Objective.objects.get(plan__episode=a)
    theirs = Objective.objects.get(plan__episode=b)
    note = services.progress_note_create(session=group, patient=a.patient, by=facilitator)
    return note, mine, theirs


def test_a_note_links_its_patients_objectives_and_the_hash_covers_them(setup, facilitator):
    note, mine, _ = setup
    note = services.progress_note_update(
        note=note, by=facilitator, version=1, format="soap", sections=SOAP, objectives=[mine]
    )
    assert list(note.addressed_objectives.all()) == [mine]
    signed = services.note_sign(note=note, by=facilitator)
    assert signed.content()["addressed_objectives"] == [str(mine.public_id)]
    assert signed.hash_verifies()


def test_another_patients_objective_is_refused(setup, facilitator):
    note, _, theirs = setup
    with pytest.raises(ValidationError):
        services.progress_note_update(
            note=note, by=facilitator, version=1, format="soap", sections=SOAP, objectives=[theirs]
        )


def test_the_editor_offers_only_the_patients_open_objectives(setup, client_as, facilitator):
    note, mine, theirs = setup
    page = client_as(user=facilitator).get(reverse("sessions:progress_note_edit", args=[note.public_id]))
    html = page.content.decode()
    assert "Treatment-plan objectives addressed" in html and str(mine.public_id) in html
    assert str(theirs.public_id) not in html


@pytest.mark.postgres
def test_postgres_refuses_to_relink_a_signed_note(setup, facilitator):
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL trigger")
    note, mine, theirs = setup
    note = services.progress_note_update(
        note=note, by=facilitator, version=1, format="soap", sections=SOAP, objectives=[mine]
    )
    services.note_sign(note=note, by=facilitator)
    with pytest.raises(Exception, match="signed note"), transaction.atomic():
        note.addressed_objectives.add(theirs)
    with pytest.raises(Exception, match="signed note"), transaction.atomic():
        note.addressed_objectives.clear()


# --- The link is required when there is something to link (DOMAIN.md §7: "Link every progress
# note to the plan items it addresses") ------------------------------------------------------------


def test_a_note_that_links_no_open_objective_is_not_signed(setup, facilitator):
    note, _, _ = setup
    note = services.progress_note_update(note=note, by=facilitator, version=1, format="soap", sections=SOAP)
    with pytest.raises(ValidationError) as exc:
        services.note_sign(note=note, by=facilitator)
    assert "objectives" in exc.value.message_dict
    assert "objective" in exc.value.message_dict["objectives"][0]


def test_missing_sections_and_the_missing_link_are_reported_together(setup, facilitator):
    note, _, _ = setup
    with pytest.raises(ValidationError) as exc:
        services.note_sign(note=note, by=facilitator)
    assert {"subjective", "objectives"} <= set(exc.value.message_dict)


def test_without_a_signed_plan_no_link_is_asked_for(group, facilitator):
    c = group.episodes[2]
    roll(group, facilitator, {c: "present"})
    note = services.progress_note_create(session=group, patient=c.patient, by=facilitator)
    note = services.progress_note_update(note=note, by=facilitator, version=1, format="soap", sections=SOAP)
    assert services.note_sign(note=note, by=facilitator).is_signed


def test_when_every_objective_is_closed_no_link_is_asked_for(setup, facilitator, supervisor):
    from plans import services as plans

    note, mine, _ = setup
    review = plans.treatment_plan_start(episode=mine.plan.episode, by=facilitator)
    plans.objective_update(objective=review.objectives.get(), by=facilitator, status="achieved")
    review = plans.treatment_plan_sign(plan=review, by=facilitator, patient_signed_name="Testperson Example")
    if review.status != "signed":
        plans.treatment_plan_cosign(plan=review, by=supervisor)
    note = services.progress_note_update(note=note, by=facilitator, version=1, format="soap", sections=SOAP)
    assert services.note_sign(note=note, by=facilitator).is_signed


def test_the_editor_shows_the_missing_link_on_the_objectives_field(setup, client_as, facilitator):
    note, _, _ = setup
    client = client_as(user=facilitator)
    data = {"version": 1, "format": "soap", "action": "sign"}
    data.update({f"section_{k}": v for k, v in SOAP.items()})
    response = client.post(reverse("sessions:progress_note_edit", args=[note.public_id]), data)
    assert response.status_code == 400
    assert response.context["form"].errors["objectives"]


def test_the_api_links_objectives_and_signs(setup, client_as, facilitator):
    note, mine, theirs = setup
    client = client_as(user=facilitator)
    url = f"/api/v1/notes/{note.public_id}/update/"
    refused = client.patch(
        url, {"sections": SOAP, "objectives": [str(theirs.public_id)]}, "application/json", HTTP_IF_MATCH='"1"'
    )
    assert refused.status_code == 400 and "objectives" in refused.json()
    sign = f"/api/v1/notes/{note.public_id}/sign/"
    client.patch(url, {"sections": SOAP}, "application/json", HTTP_IF_MATCH='"1"')
    unsigned = client.post(sign)
    assert unsigned.status_code == 400 and "objectives" in unsigned.json()
    linked = client.patch(url, {"objectives": [str(mine.public_id)]}, "application/json", HTTP_IF_MATCH='"2"')
    assert linked.status_code == 200 and linked.json()["objectives"] == [str(mine.public_id)]
    assert client.post(sign).status_code == 200


def test_each_group_part_links_its_attendees_objective(group, facilitator, supervisor):
    from .test_group_notes import fill

    a, b, _ = group.episodes
    roll(group, facilitator, {a: "present", b: "present"})
    signed_treatment_plan(a, facilitator, supervisor)  # Bravo has no plan yet: nothing to link
    note = fill(services.group_note_start(session=group, by=facilitator), facilitator)
    problems = services.group_note_problems(note)
    alpha_part = note.entries.get(patient=a.patient)
    assert list(problems) == [f"entry:{alpha_part.public_id}:objectives"]
    with pytest.raises(ValidationError):
        services.note_sign(note=note, by=facilitator)
    note = services.group_note_update(
        note=note,
        by=facilitator,
        version=note.version,
        shared={},
        entries={str(alpha_part.public_id): {"objectives": [Objective.objects.get(plan__episode=a)]}},
    )
    assert services.note_sign(note=note, by=facilitator).is_signed
