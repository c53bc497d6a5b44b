"""The patient's assessments page: role matrix, audit, trend charts, due list, constant queries."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from assessments import services
from audit.models import Action, AuditEvent
from users.models import Role

from .answers import BAM, GAD7, PHQ9_CLEAN


def _url(patient):
    return reverse("assessments:patient", args=[patient.public_id])


@pytest.mark.parametrize("role", [Role.CLINICIAN, Role.SUPERVISOR, Role.DIRECTOR, Role.INTAKE])
def test_it_shows_the_page_to_clinical_and_intake_staff(client_as, patient, role):
    assert client_as(role).get(_url(patient)).status_code == 200


def test_a_site_admin_gets_404(client_as, patient):
    # A site admin holds no patient.view: the patient does not exist for them.
    assert client_as(Role.SITE_ADMIN).get(_url(patient)).status_code == 404


def test_another_sites_clinician_gets_404(client_as, patient, other_site):
    assert client_as(Role.CLINICIAN, at=other_site).get(_url(patient)).status_code == 404


def test_anonymous_is_sent_to_sign_in(client, patient):
    response = client.get(_url(patient))
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_it_records_one_view_event(client_as, patient):
    client = client_as(Role.CLINICIAN)
    before = AuditEvent.objects.filter(action=Action.VIEW).count()
    client.get(_url(patient))
    events = AuditEvent.objects.filter(action=Action.VIEW)
    assert events.count() == before + 1
    assert events.first().patient_ref == str(patient.public_id)


def test_intake_sees_screening_results_only_and_no_placements(client_as, patient, counselor):
    services.assessment_record(patient=patient, instrument_code="PHQ-9", answers=PHQ9_CLEAN, by=counselor)
    services.assessment_record(patient=patient, instrument_code="BAM", answers=BAM, by=counselor)
    page = client_as(Role.INTAKE).get(_url(patient)).content.decode()
    assert "Responses (1)" in page
    assert 'id="placements-heading"' not in page
    assert reverse("assessments:administer", args=[patient.public_id, "phq-9"]) in page
    assert reverse("assessments:administer", args=[patient.public_id, "bam"]) not in page


def test_trend_charts_render_as_svg_with_a_table(client_as, patient, counselor):
    now = timezone.now()
    for weeks, values in enumerate(([3] * 9, [2] * 9, [1] * 8 + [0])):
        services.assessment_record(
            patient=patient,
            instrument_code="PHQ-9",
            answers=list(values),
            by=counselor,
            administered_at=now - timedelta(weeks=3 - weeks),
        )
    services.assessment_record(patient=patient, instrument_code="BAM", answers=BAM, by=counselor)
    page = client_as(Role.CLINICIAN).get(_url(patient)).content.decode()
    assert '<svg class="trend-svg"' in page
    assert '<title id="chart-phq9-title">PHQ-9 total over time</title>' in page
    assert "<caption>PHQ-9 total: values by date</caption>" in page
    assert "10: moderate" in page  # a band threshold line label
    assert ">27<" in page and ">18<" in page and ">8<" in page  # the totals as point labels
    assert "<caption>BAM subscales: values by date</caption>" in page
    assert "style=" not in page.split("<main", 1)[1]
    assert "<script" not in page.split("<main", 1)[1]


def test_it_shows_when_each_instrument_is_next_due(client_as, patient, counselor):
    services.assessment_record(patient=patient, instrument_code="GAD-7", answers=GAD7, by=counselor)
    page = client_as(Role.CLINICIAN).get(_url(patient)).content.decode()
    assert 'id="due-heading"' in page
    assert "Not yet due" in page  # GAD-7 was just given
    assert "overdue" in page  # PHQ-9 and BAM were due at admission, 20 days ago


def _queries(client, url) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def test_query_count_is_the_same_for_1_and_20_responses(client_as, make_patient, counselor):
    client = client_as(Role.SUPERVISOR)
    one, many = make_patient(), make_patient()
    services.assessment_record(patient=one, instrument_code="PHQ-9", answers=PHQ9_CLEAN, by=counselor)
    now = timezone.now()
    for n in range(20):
        services.assessment_record(
            patient=many,
            instrument_code=("PHQ-9", "GAD-7", "BAM")[n % 3],
            answers=(PHQ9_CLEAN, GAD7, BAM)[n % 3],
            by=counselor,
            administered_at=now - timedelta(days=n),
        )
    _queries(client, _url(one))  # warm per-user caches
    assert _queries(client, _url(one)) == _queries(client, _url(many))


def test_the_patients_open_alerts_and_the_users_badge_both_show(client_as, patient, counselor):
    from notifications.models import Alert

    alert = Alert.objects.create(
        site=patient.site, patient=patient, kind="safety", severity="high", title_code="safety_plan"
    )
    alert.recipients.add(counselor)
    page = client_as(user=counselor).get(_url(patient)).content.decode()
    assert "Open safety alerts for this patient" in page and str(alert.public_id) in page
    assert 'nav-count">1<' in page  # the signed-in user's own badge, not this patient's list
