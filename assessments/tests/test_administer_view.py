"""Administering an instrument through the form."""

from __future__ import annotations

import pytest
from django.urls import reverse

from assessments.models import AssessmentResponse
from audit.models import Action, AuditEvent
from notifications.models import Alert
from users.models import Role

from .answers import PHQ9_CLEAN, PHQ9_ITEM9, cssrs_post, phq9_post


def _url(patient, code="phq-9"):
    return reverse("assessments:administer", args=[patient.public_id, code])


@pytest.mark.parametrize("role", [Role.CLINICIAN, Role.SUPERVISOR, Role.INTAKE])
def test_it_shows_the_form(client_as, patient, role):
    response = client_as(role).get(_url(patient))
    assert response.status_code == 200
    page = response.content.decode()
    assert "<fieldset" in page and "<legend>9. Thoughts of being better off dead or of self-harm</legend>" in page
    assert 'type="radio"' in page


def test_a_director_is_read_only(client_as, patient):
    assert client_as(Role.DIRECTOR).get(_url(patient)).status_code == 403


def test_intake_cannot_administer_a_clinical_instrument(client_as, patient):
    assert client_as(Role.INTAKE).get(_url(patient, "cows")).status_code == 403


def test_another_site_gets_404(client_as, patient, other_site):
    assert client_as(Role.CLINICIAN, at=other_site).get(_url(patient)).status_code == 404


def test_an_unknown_instrument_is_404(client_as, patient):
    assert client_as(Role.CLINICIAN).get(_url(patient, "nope")).status_code == 404


def test_anonymous_is_sent_to_sign_in(client, patient):
    assert client.get(_url(patient)).status_code == 302


def test_posting_scores_and_saves(client_as, patient):
    client = client_as(Role.CLINICIAN)
    response = client.post(_url(patient), phq9_post(PHQ9_CLEAN))
    saved = AssessmentResponse.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("assessments:response_detail", args=[saved.public_id])
    assert saved.total == 7
    assert saved.context == "weekly"
    assert saved.administered_by == client.user


def test_a_missing_item_gets_its_own_message_and_nothing_is_saved(client_as, patient):
    data = phq9_post(PHQ9_CLEAN)
    del data["item_4"]
    response = client_as(Role.CLINICIAN).post(_url(patient), data)
    assert response.status_code == 200
    page = response.content.decode()
    assert "Nothing was saved." in page
    assert 'id="id_item_4_error"' in page
    assert "Item 4: missing answer" in page
    assert not AssessmentResponse.objects.exists()
    assert not AuditEvent.objects.filter(action=Action.CREATE, object_type="assessments.AssessmentResponse").exists()


def test_a_skip_violation_is_shown_on_the_item(client_as, patient):
    data = cssrs_post([True, False, True, None, None, False, None])
    response = client_as(Role.CLINICIAN).post(_url(patient, "c-ssrs"), data)
    page = response.content.decode()
    assert response.status_code == 200
    assert 'id="id_item_3_error"' in page and "skip logic" in page
    assert not AssessmentResponse.objects.exists()


def test_a_value_outside_the_choices_is_refused(client_as, patient):
    data = phq9_post(PHQ9_CLEAN)
    data["item_2"] = "7"
    response = client_as(Role.CLINICIAN).post(_url(patient), data)
    assert response.status_code == 200
    assert 'id="id_item_2_error"' in response.content.decode()
    assert not AssessmentResponse.objects.exists()


def test_skip_logic_is_explained_in_help_text(client_as, patient):
    page = client_as(Role.CLINICIAN).get(_url(patient, "c-ssrs")).content.decode()
    assert "Ask only if item 2 is Yes" in page
    assert "Skipped (not asked)" in page


def test_item9_warns_and_raises_the_alert(client_as, patient):
    response = client_as(Role.CLINICIAN).post(_url(patient), phq9_post(PHQ9_ITEM9), follow=True)
    assert Alert.objects.count() == 1
    page = response.content.decode()
    assert "Safety alert raised" in page
    assert reverse("assessments:administer", args=[patient.public_id, "c-ssrs"]) in page
