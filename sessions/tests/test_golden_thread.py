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
