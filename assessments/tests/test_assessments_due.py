"""Re-assessment due dates: the selector and the clinician's list."""

from __future__ import annotations

from datetime import timedelta

from django.urls import reverse
from django.utils import timezone

from assessments import services
from assessments.selectors import assessments_due
from patients.models import site_today
from users.models import Role

from .answers import BAM, GAD7, PHQ9_CLEAN


def test_never_given_is_due_from_admission(patient, site):
    today = site_today(site)
    items = {i.instrument: i for i in assessments_due([site.pk], today)}
    assert set(items) == {"PHQ-9", "GAD-7", "BAM"}
    assert items["PHQ-9"].due_on == patient.episodes.get().admission_date
    assert items["PHQ-9"].overdue_days == 20


def test_the_cadence_counts_from_the_last_administration(patient, counselor, site, settings):
    settings.REASSESSMENT_CADENCE_DAYS = {"PHQ-9": 30, "GAD-7": 14, "BAM": 7}
    now = timezone.now()
    services.assessment_record(
        patient=patient,
        instrument_code="PHQ-9",
        answers=PHQ9_CLEAN,
        by=counselor,
        administered_at=now - timedelta(days=31),
    )
    services.assessment_record(
        patient=patient, instrument_code="GAD-7", answers=GAD7, by=counselor, administered_at=now - timedelta(days=2)
    )
    services.assessment_record(
        patient=patient, instrument_code="BAM", answers=BAM, by=counselor, administered_at=now - timedelta(days=7)
    )
    today = site_today(site)
    due = {i.instrument: i for i in assessments_due([site.pk], today)}
    assert set(due) == {"PHQ-9", "BAM"}
    assert due["PHQ-9"].overdue_days == 1
    everything = {i.instrument: i for i in assessments_due([site.pk], today, include_upcoming=True)}
    assert everything["GAD-7"].due_on == today + timedelta(days=12)


def test_only_open_episodes_the_counselors_patients_and_the_given_sites(
    make_patient, counselor, site, other_site, make_staff
):
    mine = make_patient()
    make_patient(admitted=False)  # no open episode: nothing due
    theirs = make_patient(with_counselor=False)
    elsewhere = make_patient(at=other_site)
    today = site_today(site)
    assert {i.patient for i in assessments_due([site.pk], today, counselor=counselor)} == {mine}
    assert {i.patient for i in assessments_due([site.pk], today)} == {mine, theirs}
    assert elsewhere not in {i.patient for i in assessments_due([site.pk], today)}


def test_the_due_page(client_as, patient, counselor, site):
    client = client_as(user=counselor)
    page = client.get(reverse("assessments:due")).content.decode()
    assert patient.legal_last_name in page
    assert reverse("assessments:administer", args=[patient.public_id, "phq-9"]) in page
    assert client_as(Role.INTAKE).get(reverse("assessments:due")).status_code == 403
    supervisor_page = client_as(Role.SUPERVISOR).get(reverse("assessments:due"), {"scope": "site"}).content.decode()
    assert patient.legal_last_name in supervisor_page


def test_the_due_page_query_count_is_constant(client_as, make_patient, counselor, django_assert_max_num_queries):
    client = client_as(user=counselor)
    make_patient()
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.get(reverse("assessments:due"))
    with CaptureQueriesContext(connection) as one:
        client.get(reverse("assessments:due"))
    for _ in range(5):
        make_patient()
    with CaptureQueriesContext(connection) as six:
        client.get(reverse("assessments:due"))
    assert len(one.captured_queries) == len(six.captured_queries)
