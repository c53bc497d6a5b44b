"""A response's detail page and closing it."""

from __future__ import annotations

import pytest
from django.urls import reverse

from assessments import services
from assessments.models import ResponseStatus
from notifications.models import Alert
from notifications.services import alert_acknowledge
from users.models import Role

from .answers import BAM, PHQ9_CLEAN, PHQ9_ITEM9


@pytest.fixture
def flagged(patient, counselor):
    return services.assessment_record(patient=patient, instrument_code="PHQ-9", answers=PHQ9_ITEM9, by=counselor)


def _url(response, name="response_detail"):
    return reverse(f"assessments:{name}", args=[response.public_id])


@pytest.mark.parametrize("role", [Role.CLINICIAN, Role.SUPERVISOR, Role.DIRECTOR, Role.INTAKE])
def test_it_shows_a_screening_response(client_as, flagged, role):
    assert client_as(role).get(_url(flagged)).status_code == 200


def test_intake_cannot_see_a_clinical_instrument(client_as, patient, counselor):
    bam = services.assessment_record(patient=patient, instrument_code="BAM", answers=BAM, by=counselor)
    assert client_as(Role.INTAKE).get(_url(bam)).status_code == 404


def test_another_site_gets_404(client_as, flagged, other_site):
    assert client_as(Role.SUPERVISOR, at=other_site).get(_url(flagged)).status_code == 404


def test_anonymous_is_sent_to_sign_in(client, flagged):
    assert client.get(_url(flagged)).status_code == 302


def test_it_prompts_a_cssrs_and_links_the_alert(client_as, flagged):
    page = client_as(Role.CLINICIAN).get(_url(flagged)).content.decode()
    assert "Administer a C-SSRS screen now" in page
    assert reverse("notifications:alert_detail", args=[Alert.objects.get().public_id]) in page
    assert "Not yet acknowledged" in page


def test_closing_is_refused_until_acknowledged(client_as, flagged, counselor):
    client = client_as(Role.CLINICIAN)
    page = client.post(_url(flagged, "response_close"), follow=True).content.decode()
    assert "has not been acknowledged" in page
    flagged.refresh_from_db()
    assert flagged.status == ResponseStatus.OPEN
    alert_acknowledge(alert=Alert.objects.get(), by=counselor, action_taken="safety_plan", action_note="Plan done.")
    client.post(_url(flagged, "response_close"))
    flagged.refresh_from_db()
    assert flagged.status == ResponseStatus.CLOSED


@pytest.mark.parametrize("role", [Role.DIRECTOR, Role.INTAKE])
def test_read_only_roles_cannot_close(client_as, flagged, role):
    assert client_as(role).post(_url(flagged, "response_close")).status_code == 403


def test_close_needs_post(client_as, patient, counselor):
    response = services.assessment_record(patient=patient, instrument_code="PHQ-9", answers=PHQ9_CLEAN, by=counselor)
    assert client_as(Role.CLINICIAN).get(_url(response, "response_close")).status_code == 405
