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
    """Methadone MOUD is recorded via the OTP that doses the patient (DOMAIN.md §9), so the page
    refuses a prescriber on staff for it and asks for the OTP instead."""
    client = client_as(Role.CLINICIAN)
    url = reverse("assessments:medication_create", args=[patient.public_id])
    bad = client.post(
        url, {"name": "Methadone", "medication_class": "moud", "agent": "other", "start_date": "2024-01-01"}
    )
    assert bad.status_code == 200 and "Choose the agent" in bad.content.decode()
    methadone = {"name": "Methadone", "medication_class": "moud", "agent": "methadone", "start_date": "2024-01-01"}
    internal = client.post(url, {**methadone, "prescriber": client.user.pk, "dose": "80 mg"})
    assert internal.status_code == 200
    assert "dispensed only by an opioid treatment program" in internal.content.decode()
    assert not Medication.objects.exists()
    ok = client.post(url, {**methadone, "otp_name": "Harbor Test OTP", "dose": "80 mg"})
    assert ok.status_code == 302
    saved = Medication.objects.get()
    assert (saved.otp_name, saved.prescriber, saved.prescriber_name) == ("Harbor Test OTP", None, "")
    listed = client.get(reverse("assessments:medication_list", args=[patient.public_id]))
    assert "OTP: Harbor Test OTP" in listed.content.decode()


def test_naloxone_through_the_page_needs_dispensed_or_prescribed(client_as, patient):
    client = client_as(Role.CLINICIAN)
    url = reverse("assessments:medication_create", args=[patient.public_id])
    naloxone = {
        "name": "Naloxone 4 mg nasal spray",
        "medication_class": "naloxone",
        "agent": "naloxone",
        "formulation": "nasal",
        "start_date": "2024-01-01",
        "prescriber": client.user.pk,
    }
    bad = client.post(url, naloxone)
    assert bad.status_code == 200 and "dispensed by the program or prescribed" in bad.content.decode()
    assert client.post(url, {**naloxone, "dispensed_or_prescribed": "dispensed"}).status_code == 302
    assert Medication.objects.get().dispensed_or_prescribed == "dispensed"


# --- DOMAIN.md §9: the class and its agents, the prescriber, methadone via an OTP, naloxone ------------


@pytest.mark.parametrize(
    ("medication_class", "agent", "extra"),
    [
        ("moud", "buprenorphine", {}),
        ("moud", "methadone", {"otp_name": "Harbor Test OTP", "prescriber_name": ""}),
        ("moud", "naltrexone", {"formulation": "extended_release"}),
        ("maud", "acamprosate", {}),
        ("maud", "naltrexone", {"formulation": "oral"}),
        ("maud", "disulfiram", {}),
        ("naloxone", "naloxone", {"dispensed_or_prescribed": "prescribed"}),
        ("other", "buprenorphine", {}),
        ("other", "lorazepam", {}),
        ("other", "other", {}),
    ],
)
def test_the_listed_agents_are_accepted_in_their_class(patient, counselor, medication_class, agent, extra):
    med = _add(patient, counselor, medication_class=medication_class, agent=agent, **extra)
    assert (med.medication_class, med.agent) == (medication_class, agent)


@pytest.mark.parametrize(
    ("medication_class", "agent"),
    [
        ("moud", "acamprosate"),
        ("moud", "disulfiram"),
        ("moud", "naloxone"),
        ("moud", "oxycodone"),
        ("maud", "buprenorphine"),
        ("maud", "methadone"),
        ("maud", "diazepam"),
        ("naloxone", "buprenorphine"),
        ("naloxone", "other"),
        ("other", "naloxone"),
    ],
)
def test_an_agent_outside_its_class_is_refused(patient, counselor, medication_class, agent):
    extra = {"dispensed_or_prescribed": "prescribed"} if medication_class == "naloxone" else {}
    with pytest.raises(ValidationError) as exc:
        _add(patient, counselor, medication_class=medication_class, agent=agent, **extra)
    assert "agent" in exc.value.message_dict
    assert not Medication.objects.exists()


@pytest.mark.parametrize("formulation", ["", "oral"])
def test_moud_naltrexone_is_the_extended_release_one(patient, counselor, formulation):
    with pytest.raises(ValidationError) as exc:
        _add(patient, counselor, medication_class="moud", formulation=formulation)
    assert {"agent", "formulation"} <= set(exc.value.message_dict)
    assert "extended-release" in exc.value.message_dict["formulation"][0]


def test_the_prescriber_is_required_and_only_one_kind(patient, counselor):
    with pytest.raises(ValidationError) as exc:
        _add(patient, counselor, prescriber_name="  ")
    assert "prescriber" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        _add(patient, counselor, prescriber=counselor)
    assert "prescriber_name" in exc.value.message_dict
    assert _add(patient, counselor, prescriber=counselor, prescriber_name="").prescriber == counselor


def test_methadone_moud_is_recorded_via_its_otp(patient, counselor):
    methadone = {"medication_class": "moud", "agent": "methadone", "name": "Methadone 80 mg"}
    with pytest.raises(ValidationError) as exc:
        _add(patient, counselor, **methadone, prescriber=counselor, prescriber_name="")
    assert {"prescriber", "otp_name"} <= set(exc.value.message_dict)
    with pytest.raises(ValidationError) as exc:
        _add(patient, counselor, **methadone, otp_name="Harbor Test OTP", prescriber=counselor, prescriber_name="")
    assert set(exc.value.message_dict) == {"prescriber"}
    # The OTP's own prescriber may be named as the external prescriber.
    med = _add(patient, counselor, **methadone, otp_name="Harbor Test OTP", prescriber_name="Dr. OTP Example")
    assert med.prescriber_display == "OTP: Harbor Test OTP, Dr. OTP Example"
    # Methadone for pain (not MOUD) is an ordinary prescription, with no OTP.
    with pytest.raises(ValidationError) as exc:
        _add(patient, counselor, medication_class="other", agent="methadone", otp_name="Harbor Test OTP")
    assert "otp_name" in exc.value.message_dict
    assert _add(patient, counselor, medication_class="other", agent="methadone", prescriber_name="Dr. Pain").pk


def test_naloxone_is_dispensed_or_prescribed_and_nothing_else_is(patient, counselor):
    with pytest.raises(ValidationError) as exc:
        _add(patient, counselor, medication_class="naloxone", agent="naloxone")
    assert "dispensed_or_prescribed" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        _add(patient, counselor, dispensed_or_prescribed="dispensed")
    assert "dispensed_or_prescribed" in exc.value.message_dict
    # The agent of the class is filled in when not given.
    med = services.medication_add(
        patient=patient,
        by=counselor,
        name="Naloxone 4 mg nasal spray",
        medication_class="naloxone",
        start_date=site_today(patient.site),
        prescriber=counselor,
        dispensed_or_prescribed="dispensed",
    )
    assert med.agent == "naloxone"


def test_changing_a_medication_keeps_the_rules(patient, counselor):
    med = _add(patient, counselor, medication_class="moud", agent="buprenorphine")
    with pytest.raises(ValidationError) as exc:
        services.medication_update(medication=med, by=counselor, agent="disulfiram")
    assert "agent" in exc.value.message_dict
    with pytest.raises(ValidationError):
        services.medication_update(medication=med, by=counselor, prescriber_name="")
    med.refresh_from_db()
    assert (med.agent, med.prescriber_name) == ("buprenorphine", "Dr. Outside")


def test_the_database_refuses_what_the_model_refuses(patient, counselor):
    from django.db import IntegrityError, transaction

    med = _add(patient, counselor, medication_class="moud", agent="buprenorphine")
    for change in (
        {"agent": "disulfiram"},
        {"prescriber_name": ""},
        {"agent": "methadone"},
        {"dispensed_or_prescribed": "dispensed"},
        {"agent": "naltrexone"},
    ):
        with pytest.raises(IntegrityError), transaction.atomic():
            Medication.objects.filter(pk=med.pk).update(**change)
