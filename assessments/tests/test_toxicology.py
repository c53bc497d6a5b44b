"""Specimen validity, expected/unexpected results against MOUD/MAUD, review, and the pages."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal as D

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from assessments import services
from assessments.models import Expectation, Specimen, Validity, expectation_for, specimen_validity
from users.models import Role


@pytest.mark.parametrize(
    ("creatinine", "sg", "ph", "nitrite", "expected"),
    [
        (D("100"), D("1.015"), D("6.0"), D("0"), Validity.VALID),
        (D("19.9"), D("1.002"), None, None, Validity.DILUTE),
        (D("20"), D("1.002"), None, None, Validity.VALID),  # dilute needs creatinine < 20
        (D("15"), D("1.003"), None, None, Validity.VALID),  # ...and SG < 1.003
        (D("1.9"), D("1.001"), None, None, Validity.SUBSTITUTED),
        (D("1.9"), D("1.020"), None, None, Validity.SUBSTITUTED),
        (D("1.9"), D("1.002"), None, None, Validity.DILUTE),  # SG between the substituted edges
        (D("100"), D("1.015"), D("3.9"), None, Validity.ADULTERATED),
        (D("100"), D("1.015"), D("11"), None, Validity.ADULTERATED),
        (D("100"), D("1.015"), D("6"), D("500"), Validity.ADULTERATED),
        (D("1"), D("1.000"), None, D("600"), Validity.ADULTERATED),  # adulterated wins
        (None, None, None, None, Validity.NOT_ASSESSED),
    ],
)
def test_urine_validity(creatinine, sg, ph, nitrite, expected):
    assert (
        specimen_validity(specimen_type="urine", creatinine=creatinine, specific_gravity=sg, ph=ph, nitrite=nitrite)
        == expected
    )


def test_other_specimen_types_are_not_assessed():
    assert (
        specimen_validity(
            specimen_type="oral_fluid", creatinine=D("1"), specific_gravity=D("1.000"), ph=None, nitrite=None
        )
        == Validity.NOT_ASSESSED
    )


@pytest.mark.parametrize(
    ("analyte", "result", "agents", "expected"),
    [
        ("buprenorphine", "presumptive_positive", {"buprenorphine"}, Expectation.EXPECTED),
        ("norbuprenorphine", "confirmed_positive", {"buprenorphine"}, Expectation.EXPECTED),
        ("buprenorphine", "negative", {"buprenorphine"}, Expectation.UNEXPECTED),
        ("buprenorphine", "presumptive_positive", set(), Expectation.UNEXPECTED),
        ("eddp", "confirmed_positive", {"methadone"}, Expectation.EXPECTED),
        ("methadone", "presumptive_positive", {"buprenorphine"}, Expectation.UNEXPECTED),
        ("fentanyl", "presumptive_positive", {"buprenorphine"}, Expectation.UNEXPECTED),
        ("fentanyl", "negative", {"buprenorphine"}, Expectation.EXPECTED),
        ("cocaine", "invalid", set(), Expectation.NOT_APPLICABLE),
    ],
)
def test_expected_or_unexpected(analyte, result, agents, expected):
    assert expectation_for(analyte=analyte, result=result, agents=agents) == expected


def _specimen(patient, by, **fields):
    data = {
        "specimen_type": "urine",
        "collected_at": timezone.now() - timedelta(hours=1),
        "observed": True,
        "creatinine": D("80"),
        "specific_gravity": D("1.012"),
        "ph": D("6.2"),
        "nitrite": None,
    }
    data.update(fields)
    return services.specimen_record(patient=patient, by=by, **data)


def test_results_are_judged_against_active_moud(patient, counselor):
    services.medication_add(
        patient=patient,
        by=counselor,
        name="Buprenorphine/naloxone 8/2 mg film",
        medication_class="moud",
        agent="buprenorphine",
        dose="16 mg daily",
        start_date=timezone.localdate() - timedelta(days=30),
        prescriber_name="Dr. External",
    )
    specimen = _specimen(patient, counselor)
    bup = services.analyte_result_add(
        specimen=specimen,
        by=counselor,
        analyte="buprenorphine",
        method="poc_ia",
        result="presumptive_positive",
        cutoff=D("10"),
    )
    fent = services.analyte_result_add(
        specimen=specimen, by=counselor, analyte="fentanyl", method="poc_ia", result="presumptive_positive"
    )
    assert (bup.expectation, fent.expectation) == (Expectation.EXPECTED, Expectation.UNEXPECTED)
    assert bup.expectation_basis == ["buprenorphine"]
    patient.refresh_from_db()
    assert patient.episodes.open().exists()  # never auto-discharge on a positive


def test_a_stopped_medication_no_longer_explains_a_result(patient, counselor):
    med = services.medication_add(
        patient=patient,
        by=counselor,
        name="Methadone",
        medication_class="moud",
        agent="methadone",
        start_date=timezone.localdate() - timedelta(days=60),
        prescriber_name="OTP clinic",
    )
    services.medication_update(medication=med, by=counselor, stop_date=timezone.localdate() - timedelta(days=10))
    result = services.analyte_result_add(
        specimen=_specimen(patient, counselor),
        by=counselor,
        analyte="methadone",
        method="lc_ms_ms",
        result="confirmed_positive",
    )
    assert result.expectation == Expectation.UNEXPECTED


def test_bad_result_input_is_refused_per_field(patient, counselor):
    specimen = _specimen(patient, counselor)
    with pytest.raises(ValidationError) as exc:
        services.analyte_result_add(
            specimen=specimen,
            by=counselor,
            analyte="other",
            method="poc_ia",
            result="confirmed_positive",
            concentration=D("5"),
            cutoff=D("10"),
        )
    assert {"analyte_other", "method", "concentration"} <= set(exc.value.message_dict)
    assert not specimen.results.exists()


def test_a_specimen_stores_its_validity(patient, counselor):
    assert _specimen(patient, counselor, creatinine=D("10"), specific_gravity=D("1.001")).validity == Validity.DILUTE


def test_review_needs_the_discussion_and_a_response(patient, counselor):
    specimen = _specimen(patient, counselor)
    with pytest.raises(ValidationError) as exc:
        services.specimen_review(specimen=specimen, by=counselor, discussed_with_patient=None, clinical_response=" ")
    assert set(exc.value.message_dict) == {"discussed_with_patient", "clinical_response"}
    services.specimen_review(
        specimen=specimen, by=counselor, discussed_with_patient=True, clinical_response="Discussed; plan adjusted."
    )
    specimen.refresh_from_db()
    assert specimen.reviewed_by == counselor and specimen.discussed_with_patient is True


@pytest.mark.parametrize(("role", "status"), [(Role.CLINICIAN, 200), (Role.DIRECTOR, 200), (Role.INTAKE, 403)])
def test_pages_role_matrix(client_as, patient, counselor, role, status):
    specimen = _specimen(patient, counselor)
    client = client_as(role)
    assert client.get(reverse("assessments:specimen_list", args=[patient.public_id])).status_code == status
    assert client.get(reverse("assessments:specimen_detail", args=[specimen.public_id])).status_code == (
        200 if status == 200 else 404
    )


def test_read_only_and_other_site(client_as, client, patient, counselor, other_site):
    specimen = _specimen(patient, counselor)
    director = client_as(Role.DIRECTOR)
    assert director.get(reverse("assessments:specimen_create", args=[patient.public_id])).status_code == 403
    assert (
        director.post(reverse("assessments:specimen_detail", args=[specimen.public_id]), {"form": "review"}).status_code
        == 403
    )
    other = client_as(Role.CLINICIAN, at=other_site)
    assert other.get(reverse("assessments:specimen_detail", args=[specimen.public_id])).status_code == 404
    assert client.get(reverse("assessments:specimen_list", args=[patient.public_id])).status_code == 302


def test_recording_through_the_pages(client_as, patient):
    client = client_as(Role.CLINICIAN)
    url = reverse("assessments:specimen_create", args=[patient.public_id])
    response = client.post(
        url,
        {
            "specimen_type": "urine",
            "collected_at": "2020-01-01T09:30",
            "observed": "on",
            "creatinine": "1.5",
            "specific_gravity": "1.0005",
        },
    )
    specimen = Specimen.objects.get()
    assert response.status_code == 302
    assert specimen.validity == Validity.SUBSTITUTED
    detail = reverse("assessments:specimen_detail", args=[specimen.public_id])
    bad = client.post(detail, {"form": "result", "result-analyte": "cocaine", "result-method": "poc_ia"})
    assert bad.status_code == 200 and "This field is required" in bad.content.decode()
    assert not specimen.results.exists()
    ok = client.post(
        detail,
        {
            "form": "result",
            "result-analyte": "cocaine",
            "result-method": "poc_ia",
            "result-result": "negative",
            "result-unit": "ng/mL",
        },
    )
    assert ok.status_code == 302
    assert specimen.results.get().expectation == Expectation.EXPECTED
    client.post(
        detail,
        {"form": "review", "review-discussed_with_patient": "no", "review-clinical_response": "Reviewed at group."},
    )
    specimen.refresh_from_db()
    assert specimen.discussed_with_patient is False
