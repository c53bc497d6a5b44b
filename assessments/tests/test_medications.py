"""The medication list: services, the active property, and the pages."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from assessments import services
from assessments.models import Medication
from audit.models import Action, AuditEvent
from patients.models import site_today
from users.models import Role


def _add(patient, by, **fields):
    data = {
        "name": "Naltrexone ER 380 mg",
        "medication_class": "maud",
        "agent": "naltrexone",
        "start_date": site_today(patient.site) - timedelta(days=3),
        "prescriber_name": "Dr. Outside",
    }
    data.update(fields)
    return services.medication_add(patient=patient, by=by, **data)


def test_active_follows_start_and_stop_dates(patient, counselor):
    med = _add(patient, counselor)
    assert med.active
    med = services.medication_update(
        medication=med, by=counselor, stop_date=site_today(patient.site) - timedelta(days=1)
    )
    assert not med.active
    assert AuditEvent.objects.filter(action=Action.UPDATE, object_id=str(med.public_id)).get().changes["before"] == {
        "stop_date": None
    }


def test_bad_input_is_refused_per_field(patient, counselor):
    with pytest.raises(ValidationError) as exc:
        _add(
            patient,
            counselor,
            agent="other",
            stop_date=site_today(patient.site) - timedelta(days=10),
            prescriber=counselor,
        )
    assert {"agent", "stop_date", "prescriber_name"} <= set(exc.value.message_dict)
    assert not Medication.objects.exists()


def test_an_internal_prescriber_must_work_at_the_site(patient, counselor, make_staff, other_site):
    with pytest.raises(ValidationError) as exc:
        _add(patient, counselor, prescriber=make_staff(Role.CLINICIAN, at=other_site), prescriber_name="")
    assert "prescriber" in exc.value.message_dict


@pytest.mark.parametrize(("role", "status"), [(Role.CLINICIAN, 200), (Role.DIRECTOR, 200), (Role.INTAKE, 403)])
def test_list_role_matrix(client_as, patient, role, status):
    assert client_as(role).get(reverse("assessments:medication_list", args=[patient.public_id])).status_code == status


def test_write_pages_role_matrix(client_as, client, patient, counselor, other_site):
    med = _add(patient, counselor)
    assert (
        client_as(Role.DIRECTOR).get(reverse("assessments:medication_create", args=[patient.public_id])).status_code
        == 403
    )
    assert client_as(Role.DIRECTOR).get(reverse("assessments:medication_edit", args=[med.public_id])).status_code == 403
    assert (
        client_as(Role.CLINICIAN, at=other_site)
        .get(reverse("assessments:medication_edit", args=[med.public_id]))
        .status_code
        == 404
    )
    assert client.get(reverse("assessments:medication_list", args=[patient.public_id])).status_code == 302


def test_adding_through_the_page(client_as, patient):
    client = client_as(Role.CLINICIAN)
    url = reverse("assessments:medication_create", args=[patient.public_id])
    bad = client.post(
        url, {"name": "Methadone", "medication_class": "moud", "agent": "other", "start_date": "2024-01-01"}
    )
    assert bad.status_code == 200 and "Choose the agent" in bad.content.decode()
    ok = client.post(
        url,
        {
            "name": "Methadone",
            "medication_class": "moud",
            "agent": "methadone",
            "start_date": "2024-01-01",
            "prescriber": client.user.pk,
            "dose": "80 mg",
        },
    )
    assert ok.status_code == 302
    assert Medication.objects.get().prescriber == client.user
