"""The alert list and the acknowledge page; the home page list and the navigation badge."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from audit.models import Action, AuditEvent
from notifications.models import AlertKind, Severity
from notifications.services import alert_raise
from users.models import Role


@pytest.fixture
def make_alert():
    n = iter(range(10_000))

    def make(patient):
        return alert_raise(
            site=patient.site,
            kind=AlertKind.SAFETY,
            severity=Severity.CRITICAL,
            title_code="PHQ9_ITEM9",
            patient=patient,
            object_type="assessments.AssessmentResponse",
            object_id=f"00000000-0000-4000-8000-{next(n):012d}",
        )

    return make


@pytest.fixture
def alert(make_alert, patient):
    return make_alert(patient)


def _detail(alert):
    return reverse("notifications:alert_detail", args=[alert.public_id])


@pytest.mark.parametrize("role", [Role.CLINICIAN, Role.SUPERVISOR, Role.DIRECTOR])
def test_clinical_staff_see_the_list_and_the_alert(client_as, alert, role):
    client = client_as(role)
    assert client.get(reverse("notifications:alert_list")).status_code == 200
    assert client.get(_detail(alert)).status_code == 200


@pytest.mark.parametrize("role", [Role.INTAKE, Role.SITE_ADMIN])
def test_non_clinical_staff_get_403_on_the_list_and_404_on_an_alert(client_as, alert, role):
    client = client_as(role)
    assert client.get(reverse("notifications:alert_list")).status_code == 403
    assert client.get(_detail(alert)).status_code == 404


def test_another_site_gets_404_and_anonymous_is_sent_to_sign_in(client_as, client, alert, other_site):
    assert client_as(Role.SUPERVISOR, at=other_site).get(_detail(alert)).status_code == 404
    assert client.get(_detail(alert)).status_code == 302


def test_a_director_cannot_acknowledge(client_as, alert):
    response = client_as(Role.DIRECTOR).post(_detail(alert), {"action_taken": "other", "action_note": "x"})
    assert response.status_code == 403
    alert.refresh_from_db()
    assert alert.is_open


def test_acknowledging_needs_the_action_and_a_note(client_as, alert):
    client = client_as(Role.CLINICIAN)
    response = client.post(_detail(alert), {"action_taken": "safety_plan", "action_note": ""})
    assert response.status_code == 200
    assert "never dismissed without a note" in response.content.decode()
    alert.refresh_from_db()
    assert alert.is_open
    response = client.post(_detail(alert), {"action_taken": "safety_plan", "action_note": "Safety plan with patient."})
    assert response.status_code == 302
    alert.refresh_from_db()
    assert alert.acknowledged_by == client.user
    page = client.get(_detail(alert)).content.decode()
    assert "Safety plan completed" in page and "Acknowledge alert" not in page


def test_viewing_an_alert_is_audited_with_the_patient(client_as, alert, patient):
    client_as(Role.CLINICIAN).get(_detail(alert))
    event = AuditEvent.objects.filter(action=Action.VIEW).first()
    assert event.patient_ref == str(patient.public_id)


def test_the_home_page_shows_open_alerts_without_naming_the_patient(client_as, alert, counselor, patient):
    page = client_as(user=counselor).get(reverse("home")).content.decode()
    assert "Alerts for you" in page
    assert _detail(alert) in page
    assert patient.legal_last_name not in page
    assert 'class="badge danger nav-count">1' in page


def test_the_home_page_of_someone_not_addressed_shows_no_alert(client_as, alert):
    page = client_as(Role.CLINICIAN).get(reverse("home")).content.decode()
    assert "Alerts for you" not in page


def test_an_acknowledged_alert_leaves_the_home_page(client_as, alert, counselor):
    client = client_as(user=counselor)
    client.post(_detail(alert), {"action_taken": "reviewed", "action_note": "Seen today."})
    assert "Alerts for you" not in client.get(reverse("home")).content.decode()


def _count(client, url):
    with CaptureQueriesContext(connection) as ctx:
        client.get(url)
    return len(ctx.captured_queries)


def test_alert_queries_are_constant(client_as, counselor, make_patient, make_alert):
    client = client_as(user=counselor)
    make_alert(make_patient())
    client.get(reverse("home"))
    home_1, list_1 = _count(client, reverse("home")), _count(client, reverse("notifications:alert_list"))
    for _ in range(6):
        make_alert(make_patient())
    assert _count(client, reverse("home")) == home_1
    assert _count(client, reverse("notifications:alert_list")) == list_1


def test_the_navigation_badge_counts_without_loading_the_alerts(client_as, counselor, make_patient, make_alert):
    from notifications.context_processors import CAP

    client = client_as(user=counselor)
    patient = make_patient()
    for _ in range(3):
        make_alert(patient)
    my_day = reverse("scheduling:my_day")
    client.get(my_day)
    with CaptureQueriesContext(connection) as ctx:
        page = client.get(my_day).content.decode()
    assert 'class="badge danger nav-count">3<' in page
    alert_queries = [q["sql"] for q in ctx.captured_queries if "notifications_alert" in q["sql"]]
    assert len(alert_queries) == 1 and "COUNT(" in alert_queries[0]
    # Past the cap the badge says "100+"; the home page lists at most the cap.
    for _ in range(CAP - 2):
        make_alert(patient)
    assert f'nav-count">{CAP}+<' in client.get(my_day).content.decode()
    home = client.get(reverse("home")).content.decode()
    assert f'nav-count">{CAP}+<' in home and home.count("/alerts/") >= CAP
