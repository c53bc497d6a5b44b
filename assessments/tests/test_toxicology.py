"""Specimen validity and custody, cut-offs, expected/unexpected results against the whole
medication list, review, and the pages."""

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
        specimen=specimen,
        by=counselor,
        analyte="fentanyl",
        method="poc_ia",
        result="presumptive_positive",
        cutoff=D("1"),
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
        otp_name="Harbor Test OTP",
    )
    services.medication_update(medication=med, by=counselor, stop_date=timezone.localdate() - timedelta(days=10))
    result = services.analyte_result_add(
        specimen=_specimen(patient, counselor),
        by=counselor,
        analyte="methadone",
        method="lc_ms_ms",
        result="confirmed_positive",
        cutoff=D("100"),
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
    negative = {
        "form": "result",
        "result-analyte": "cocaine",
        "result-method": "poc_ia",
        "result-result": "negative",
        "result-unit": "ng/mL",
    }
    no_cutoff = client.post(detail, negative)
    assert no_cutoff.status_code == 200 and "Give the cut-off" in no_cutoff.content.decode()
    above = client.post(detail, {**negative, "result-concentration": "150", "result-cutoff": "150"})
    assert above.status_code == 200 and "At or above the cut-off" in above.content.decode()
    assert not specimen.results.exists()
    ok = client.post(detail, {**negative, "result-concentration": "20", "result-cutoff": "150"})
    assert ok.status_code == 302
    assert specimen.results.get().expectation == Expectation.EXPECTED
    client.post(
        detail,
        {"form": "review", "review-discussed_with_patient": "no", "review-clinical_response": "Reviewed at group."},
    )
    specimen.refresh_from_db()
    assert specimen.discussed_with_patient is False


# --- DOMAIN.md §8: cut-offs, chain of custody, expected against the whole medication list -------------


@pytest.mark.parametrize("result", ["negative", "presumptive_positive", "confirmed_positive"])
def test_a_negative_or_positive_result_needs_its_cutoff(patient, counselor, result):
    specimen = _specimen(patient, counselor)
    with pytest.raises(ValidationError) as exc:
        services.analyte_result_add(specimen=specimen, by=counselor, analyte="thc", method="lc_ms_ms", result=result)
    assert "cutoff" in exc.value.message_dict
    assert not specimen.results.exists()


@pytest.mark.parametrize("result", ["invalid", "not_tested"])
def test_an_invalid_or_untested_analyte_needs_no_cutoff(patient, counselor, result):
    stored = services.analyte_result_add(
        specimen=_specimen(patient, counselor), by=counselor, analyte="thc", method="poc_ia", result=result
    )
    assert stored.cutoff is None and stored.expectation == Expectation.NOT_APPLICABLE


@pytest.mark.parametrize(
    ("result", "concentration", "refused"),
    [
        ("negative", D("49.99"), None),
        ("negative", D("50"), "result"),  # positive means at or above the cut-off
        ("negative", D("60"), "result"),
        ("presumptive_positive", D("50"), None),
        ("presumptive_positive", D("49.99"), "concentration"),
    ],
)
def test_the_result_agrees_with_the_concentration_and_cutoff(patient, counselor, result, concentration, refused):
    def add():
        return services.analyte_result_add(
            specimen=_specimen(patient, counselor),
            by=counselor,
            analyte="thc",
            method="lab_ia",
            result=result,
            concentration=concentration,
            cutoff=D("50"),
        )

    if refused is None:
        assert add().cutoff == D("50")
    else:
        with pytest.raises(ValidationError) as exc:
            add()
        assert refused in exc.value.message_dict


def test_a_forensic_specimen_records_its_chain_of_custody(patient, counselor):
    with pytest.raises(ValidationError) as exc:
        _specimen(patient, counselor, forensic=True)
    assert "chain_of_custody_id" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        _specimen(patient, counselor, chain_of_custody_id="CCF-0001")
    assert "chain_of_custody_id" in exc.value.message_dict
    assert not Specimen.objects.exists()
    specimen = _specimen(patient, counselor, forensic=True, chain_of_custody_id=" CCF-0002 ")
    assert (specimen.forensic, specimen.chain_of_custody_id, specimen.observed) == (True, "CCF-0002", True)
    assert _specimen(patient, counselor).forensic is False


def test_a_forensic_specimen_through_the_pages(client_as, patient):
    client = client_as(Role.CLINICIAN)
    url = reverse("assessments:specimen_create", args=[patient.public_id])
    data = {"specimen_type": "urine", "collected_at": "2020-01-01T09:30", "observed": "on", "forensic": "on"}
    bad = client.post(url, data)
    assert bad.status_code == 200 and "chain-of-custody form number" in bad.content.decode()
    assert client.post(url, {**data, "chain_of_custody_id": "CCF-0003"}).status_code == 302
    specimen = Specimen.objects.get()
    assert "CCF-0003" in client.get(reverse("assessments:specimen_detail", args=[specimen.public_id])).content.decode()


def _medication(patient, by, agent, medication_class="other", **fields):
    data = {
        "name": f"{agent} (test)",
        "medication_class": medication_class,
        "agent": agent,
        "start_date": timezone.localdate() - timedelta(days=30),
        "prescriber_name": "Dr. External",
    }
    return services.medication_add(patient=patient, by=by, **{**data, **fields})


@pytest.mark.parametrize(
    ("agent", "analyte", "result", "expected"),
    [
        ("buprenorphine", "buprenorphine", "presumptive_positive", Expectation.EXPECTED),  # for pain
        ("buprenorphine", "norbuprenorphine", "negative", Expectation.UNEXPECTED),
        ("diazepam", "benzodiazepines", "presumptive_positive", Expectation.EXPECTED),
        ("diazepam", "benzodiazepines", "negative", Expectation.UNEXPECTED),
        ("lorazepam", "benzodiazepines", "presumptive_positive", Expectation.EXPECTED),
        ("lorazepam", "benzodiazepines", "negative", Expectation.EXPECTED),  # screens often miss it
        ("amphetamine", "amphetamine", "presumptive_positive", Expectation.EXPECTED),
        ("amphetamine", "methamphetamine", "presumptive_positive", Expectation.UNEXPECTED),
        ("methylphenidate", "amphetamine", "presumptive_positive", Expectation.UNEXPECTED),
        ("oxycodone", "oxycodone", "confirmed_positive", Expectation.EXPECTED),
        ("oxycodone", "opiates", "presumptive_positive", Expectation.EXPECTED),
        ("oxycodone", "opiates", "negative", Expectation.EXPECTED),
        ("oxycodone", "fentanyl", "presumptive_positive", Expectation.UNEXPECTED),
        ("codeine", "opiates", "negative", Expectation.UNEXPECTED),
        ("codeine", "6-mam", "confirmed_positive", Expectation.UNEXPECTED),
        ("dronabinol", "thc", "presumptive_positive", Expectation.EXPECTED),
        ("phenobarbital", "barbiturates", "presumptive_positive", Expectation.EXPECTED),
        ("other", "benzodiazepines", "presumptive_positive", Expectation.UNEXPECTED),
    ],
)
def test_results_are_judged_against_the_whole_medication_list(patient, counselor, agent, analyte, result, expected):
    _medication(patient, counselor, agent)
    method = "lc_ms_ms" if result == "confirmed_positive" else "poc_ia"
    stored = services.analyte_result_add(
        specimen=_specimen(patient, counselor),
        by=counselor,
        analyte=analyte,
        method=method,
        result=result,
        cutoff=D("10"),
    )
    assert stored.expectation == expected
    assert stored.expectation_basis == ([] if agent == "other" else [agent])


def test_the_basis_lists_every_active_medication(patient, counselor):
    _medication(patient, counselor, "methadone", "moud", otp_name="Harbor Test OTP", prescriber_name="")
    _medication(patient, counselor, "naloxone", "naloxone", dispensed_or_prescribed="dispensed")
    _medication(patient, counselor, "clonazepam")
    stored = services.analyte_result_add(
        specimen=_specimen(patient, counselor),
        by=counselor,
        analyte="benzodiazepines",
        method="poc_ia",
        result="presumptive_positive",
        cutoff=D("200"),
    )
    assert stored.expectation == Expectation.EXPECTED
    assert stored.expectation_basis == ["clonazepam", "methadone", "naloxone"]


def test_the_migration_makes_existing_medications_follow_the_rules(patient, counselor):
    """0007 on rows the earlier rules allowed: afterwards each passes the model and (PostgreSQL)
    0008's constraints can be added over them."""
    import importlib

    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    from assessments.models import Medication

    fill = importlib.import_module("assessments.migrations.0007_fill_medication_rules").fill
    base = {
        "patient": patient,
        "site": patient.site,
        "created_by": counselor,
        "start_date": timezone.localdate() - timedelta(days=5),
    }
    old = [
        {"name": "Disulfiram", "medication_class": "moud", "agent": "disulfiram", "prescriber_name": "Dr. A"},
        {"name": "Methadone", "medication_class": "maud", "agent": "methadone", "prescriber": counselor},
        {"name": "Naloxone kit", "medication_class": "naloxone", "agent": "other"},
        {"name": "Naltrexone", "medication_class": "moud", "agent": "naltrexone", "prescriber_name": "Dr. B"},
        {"name": "Sertraline", "medication_class": "other", "prescriber": counselor, "prescriber_name": "Dr. C"},
        {"name": "Narcan", "medication_class": "other", "agent": "naloxone", "prescriber_name": "Dr. D"},
        {"name": "Suboxone", "medication_class": "naloxone", "agent": "buprenorphine", "prescriber_name": "Dr. E"},
        {"name": "Acamprosate", "medication_class": "maud", "agent": "acamprosate", "prescriber_name": "Dr. F"},
    ]
    constraints = [c for c in Medication._meta.constraints if c.name != "medication_stop_not_before_start"]
    if connection.vendor == "postgresql":
        with connection.schema_editor(atomic=False) as editor:
            for constraint in constraints:
                editor.remove_constraint(Medication, constraint)
    else:
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA ignore_check_constraints = ON")
    try:
        Medication.objects.bulk_create([Medication(**base, **row) for row in old])
    finally:
        if connection.vendor != "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("PRAGMA ignore_check_constraints = OFF")
    apps = MigrationExecutor(connection).loader.project_state(("assessments", "0007_fill_medication_rules")).apps
    fill(apps, None)

    rows = {m.name: m for m in Medication.objects.all()}
    for med in rows.values():
        med.full_clean()
    assert (rows["Disulfiram"].medication_class, rows["Methadone"].medication_class) == ("maud", "moud")
    assert (rows["Methadone"].prescriber, rows["Methadone"].otp_name) == (None, "Not recorded")
    assert "Casey Counselor" in rows["Methadone"].notes
    kit = rows["Naloxone kit"]
    assert (kit.agent, kit.dispensed_or_prescribed, kit.prescriber_name) == ("naloxone", "prescribed", "Not recorded")
    assert rows["Naltrexone"].formulation == "extended_release"
    assert (rows["Sertraline"].prescriber, rows["Sertraline"].prescriber_name) == (counselor, "")
    assert "Dr. C" in rows["Sertraline"].notes
    assert rows["Narcan"].medication_class == "naloxone"
    assert (rows["Suboxone"].medication_class, rows["Suboxone"].agent) == ("other", "buprenorphine")
    assert rows["Acamprosate"].notes == ""  # already valid: untouched
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        with connection.schema_editor(atomic=False) as editor:
            for constraint in constraints:
                editor.add_constraint(Medication, constraint)


def test_the_admin_shows_the_new_fields_read_only(make_staff, patient, counselor):
    from django.test import Client

    from assessments.models import AnalyteResult, Medication
    from tests.fixtures import sign_in

    med = _medication(patient, counselor, "naloxone", "naloxone", dispensed_or_prescribed="dispensed")
    specimen = _specimen(patient, counselor, forensic=True, chain_of_custody_id="CCF-0004")
    result = services.analyte_result_add(
        specimen=specimen, by=counselor, analyte="thc", method="poc_ia", result="negative", cutoff=D("50")
    )
    client = Client()
    # A superuser sees clinical rows in the admin only where they also read clinical records.
    sign_in(client, make_staff(Role.CLINICIAN, is_staff=True, is_superuser=True))
    for model, obj, shown in (
        (Medication, med, "Dispensed (handed to the patient by the program)"),
        (Specimen, specimen, "CCF-0004"),
        (AnalyteResult, result, "50.00"),
    ):
        name = model._meta.model_name
        listing = client.get(reverse(f"admin:assessments_{name}_changelist"))
        assert listing.status_code == 200
        page = client.get(reverse(f"admin:assessments_{name}_change", args=[obj.pk]))
        assert page.status_code == 200 and shown in page.content.decode()
        assert client.post(reverse(f"admin:assessments_{name}_change", args=[obj.pk]), {}).status_code == 403
    assert client.get(reverse("admin:assessments_medication_changelist") + "?agent=naloxone").status_code == 200
