from datetime import date

import pytest
from django.urls import reverse

from audit.models import AuditEvent
from scheduling import services
from users.models import Role

from .factories import make_episode, upcoming_monday

pytestmark = pytest.mark.django_db


def test_a_patients_week_lists_their_sessions_and_is_audited(client_as, enrolled, track):
    patient = enrolled.episode.patient
    client = client_as(Role.CLINICIAN)
    response = client.get(
        reverse("scheduling:patient_schedule", args=[patient.public_id]) + f"?week={upcoming_monday()}"
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert "09:00–10:30" in page and "Group room" in page
    event = AuditEvent.objects.order_by("-id").first()
    assert event.action == "view" and event.patient_ref == str(patient.public_id)


def test_the_printable_week_names_no_other_patient(site, client_as, enrolled, track, supervisor):
    other = make_episode(site, first="Sage", last="Otherpatient")
    services.enrollment_create(track=track, episode=other, start_date=date(2026, 11, 23), by=supervisor)
    patient = enrolled.episode.patient
    response = client_as(Role.CLINICIAN).get(
        reverse("scheduling:patient_schedule_print", args=[patient.public_id]) + f"?week={upcoming_monday()}"
    )
    page = response.content.decode()
    assert "Quillfeather" in page and "Otherpatient" not in page
    assert "print.css" in page
    assert AuditEvent.objects.order_by("-id").first().action == "print"


def test_the_patient_chart_links_to_the_schedule(client_as, episode):
    patient = episode.patient
    page = client_as(Role.CLINICIAN).get(reverse("patients:detail", args=[patient.public_id])).content.decode()
    assert reverse("scheduling:patient_schedule", args=[patient.public_id]) in page
