"""The Message delivery page: role matrix, no message text or names, bounded queries."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from notifications import outbox
from notifications.models import OutboundMessage
from users.models import Role

pytestmark = pytest.mark.django_db
URL = reverse("notifications:delivery")


def _failed(patient, n=1):
    for i in range(n):
        message, _ = outbox.enqueue(
            site=patient.site, channel="sms", template_key="session_reminder", cause=f"t{i}", kind="k", patient=patient
        )
        OutboundMessage.objects.filter(pk=message.pk).update(status="failed", attempts=5, last_error="http_503")


@pytest.mark.parametrize(
    "role, status",
    [(Role.SITE_ADMIN, 200), (Role.SUPERVISOR, 200), (Role.CLINICIAN, 403), (Role.INTAKE, 403), (Role.DIRECTOR, 403)],
)
def test_role_matrix(client_as, role, status):
    assert client_as(role).get(URL).status_code == status


def test_anonymous_is_sent_to_sign_in(client):
    assert client.get(URL).status_code == 302


def test_it_lists_failures_with_codes_but_never_text_or_names(client_as, sms_patient):
    _failed(sms_patient)
    body = client_as(Role.SITE_ADMIN).get(URL).content.decode()
    assert "session_reminder" in body and "http_503" in body and "Failed" in body
    # Whole words: the signed-in staff member's own random name may contain the first name.
    for name in (sms_patient.legal_first_name, sms_patient.legal_last_name):
        assert re.search(rf"\b{re.escape(name)}\b", body) is None, name
    assert sms_patient.sms_number not in body


def test_another_sites_failures_are_not_shown(client_as, sms_patient, other_site):
    _failed(sms_patient)
    body = client_as(Role.SITE_ADMIN, at=other_site).get(URL).content.decode()
    assert "http_503" not in body


def test_the_query_count_does_not_grow_with_rows(client_as, sms_patient, django_assert_max_num_queries):
    client = client_as(Role.SUPERVISOR)
    _failed(sms_patient, 1)
    with django_assert_max_num_queries(20) as one:
        client.get(URL)
    for i in range(30):
        message, _ = outbox.enqueue(
            site=sms_patient.site, channel="email", template_key="x", cause=f"m{i}", kind="k", patient=sms_patient
        )
        OutboundMessage.objects.filter(pk=message.pk).update(status="suppressed", last_error="NO_EMAIL_CONSENT")
    with django_assert_max_num_queries(len(one.captured_queries)):
        client.get(URL)
