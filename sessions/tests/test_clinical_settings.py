"""The supervisor's clinical settings page: follow-up thresholds and co-signature requirements."""

import pytest
from django.urls import reverse

from audit.models import AuditEvent
from sessions.models import CosignRequirement, FollowUpPolicy
from users.models import Role

pytestmark = pytest.mark.django_db
URL = reverse("sessions:clinical_settings")


def test_a_supervisor_sets_the_follow_up_thresholds(client_as, site):
    client = client_as(Role.SUPERVISOR)
    response = client.post(
        URL,
        {
            "policy-save": "1",
            "policy-consecutive_no_shows_for_review": "3",
            "policy-weekly_attendance_percent": "80",
            "policy-consecutive_absences_for_discharge_review": "4",
            "policy-days_without_contact": "21",
        },
    )
    assert response.status_code == 302
    policy = FollowUpPolicy.objects.get(site=site)
    assert (policy.consecutive_no_shows_for_review, policy.weekly_attendance_percent) == (3, 80)
    assert (policy.consecutive_absences_for_discharge_review, policy.days_without_contact) == (4, 21)
    assert AuditEvent.objects.filter(object_type__icontains="followuppolicy").exists()


def test_a_supervisor_sets_the_outreach_attempts_before_a_no_contact_review(client_as, site):
    client = client_as(Role.SUPERVISOR)
    data = {
        "policy-save": "1",
        "policy-consecutive_no_shows_for_review": "2",
        "policy-weekly_attendance_percent": "75",
        "policy-consecutive_absences_for_discharge_review": "3",
        "policy-days_without_contact": "14",
    }
    assert client.post(URL, {**data, "policy-outreach_attempts_for_discharge_review": "3"}).status_code == 302
    assert FollowUpPolicy.objects.get(site=site).outreach_attempts_for_discharge_review == 3
    # A form posted without it (an older page) keeps the value.
    assert client.post(URL, data).status_code == 302
    assert FollowUpPolicy.objects.get(site=site).outreach_attempts_for_discharge_review == 3
    response = client.post(URL, {**data, "policy-outreach_attempts_for_discharge_review": "0"})
    assert (
        response.status_code == 200
        and FollowUpPolicy.objects.get(site=site).outreach_attempts_for_discharge_review == 3
    )


def test_an_impossible_threshold_is_refused_on_the_field(client_as, site):
    client = client_as(Role.SUPERVISOR)
    response = client.post(
        URL,
        {
            "policy-save": "1",
            "policy-consecutive_no_shows_for_review": "0",
            "policy-weekly_attendance_percent": "150",
            "policy-consecutive_absences_for_discharge_review": "3",
            "policy-days_without_contact": "14",
        },
    )
    assert response.status_code == 200
    assert "Please correct" in response.content.decode()
    assert not FollowUpPolicy.objects.filter(site=site).exists()


def test_a_supervisor_marks_a_supervisee_for_co_signature(client_as, make_staff, site):
    intern = make_staff(Role.CLINICIAN)
    client = client_as(Role.SUPERVISOR)
    response = client.post(
        URL, {"cosign-save": "1", "cosign-user": intern.pk, "cosign-required": "on", "cosign-reason": "intern"}
    )
    assert response.status_code == 302
    assert CosignRequirement.objects.get(user=intern, site=site).is_active
    assert intern.full_name in client.get(URL).content.decode()


def test_a_clinician_reads_but_cannot_change(client_as, site):
    client = client_as(Role.CLINICIAN)
    page = client.get(URL)
    assert page.status_code == 200
    assert "Only a clinical supervisor" in page.content.decode()
    refused = client.post(URL, {"policy-save": "1", "policy-consecutive_no_shows_for_review": "9"})
    assert refused.status_code == 403
    assert not FollowUpPolicy.objects.filter(site=site).exists()


def test_intake_staff_are_refused(client_as):
    assert client_as(Role.INTAKE).get(URL).status_code == 403


def test_anonymous_visitors_are_sent_to_sign_in(client):
    assert client.get(URL).status_code == 302
