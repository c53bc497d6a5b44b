"""The REST API: visibility and roles as on the pages, audited reads, 400 by field, 409 on a
booking conflict, ETag/If-Match on notes and plans, and FHIR disclosure refusal and logging."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse

from audit.models import Action, AuditEvent
from patients.models import Disclosure
from users.models import Role

from .test_api_world import build_world

pytestmark = pytest.mark.django_db

C, S, INTAKE, D, A = Role.CLINICIAN, Role.SUPERVISOR, Role.INTAKE, Role.DIRECTOR, Role.SITE_ADMIN


@pytest.fixture
def world(db):
    return build_world()


def url(name, **kwargs):
    return reverse(f"api:{name}", kwargs=kwargs)


# --- patients -------------------------------------------------------------------------------------


def test_patient_list_is_scoped_to_the_users_sites_and_audited(world):
    client = world.api(world.staff[C])
    body = client.get(url("patient-list")).json()
    ids = [row["id"] for row in body["results"]]
    assert ids == [str(world.objects["patient"].public_id)]
    event = AuditEvent.objects.filter(action=Action.VIEW, object_type="patients.Patient").first()
    assert event.changes["patients"] == ids
    assert event.actor == world.staff[C]


def test_patient_list_refuses_a_role_without_patient_access(world):
    assert world.api(world.staff[A]).get(url("patient-list")).status_code == 403


def test_search_by_name_travels_in_the_body_and_is_audited_without_the_terms(world):
    client = world.api(world.staff[INTAKE])
    response = client.post(url("patient-search"), {"q": "avery"}, format="json")
    assert response.status_code == 200
    assert [r["id"] for r in response.json()["results"]] == [str(world.objects["patient"].public_id)]
    event = AuditEvent.objects.filter(action=Action.SEARCH).first()
    assert event.changes["criteria"] == ["name_or_mrn"]
    assert "avery" not in str(event.changes).lower()


def test_other_sites_patient_is_404_and_detail_is_audited(world):
    client = world.api(world.staff[C])
    other = world.objects["other_patient"]
    assert client.get(url("patient-detail", patient_id=other.public_id)).status_code == 404
    patient = world.objects["patient"]
    assert client.get(url("patient-detail", patient_id=patient.public_id)).status_code == 200
    assert AuditEvent.objects.filter(action=Action.VIEW, patient_ref=str(patient.public_id)).count() == 1


def test_read_only_role_may_read_but_not_change(world):
    client = world.api(world.staff[D])
    patient = world.objects["patient"]
    assert client.get(url("patient-detail", patient_id=patient.public_id)).status_code == 200
    response = client.patch(
        url("patient-update", patient_id=patient.public_id), {"pronouns": "they/them"}, format="json"
    )
    assert response.status_code == 403


def test_bad_input_is_400_with_field_names_never_500(world):
    client = world.api(world.staff[INTAKE])
    response = client.post(
        url("patient-create"),
        {"site": str(world.site.public_id), "legal_first_name": "", "date_of_birth": "not a date"},
        format="json",
    )
    assert response.status_code == 400
    assert {"legal_first_name", "legal_last_name", "date_of_birth"} <= set(response.json())
    # A service refusal (a birth date in the future) is 400 on the field too.
    response = client.post(
        url("patient-create"),
        {
            "site": str(world.site.public_id),
            "legal_first_name": "Casey",
            "legal_last_name": "Example",
            "date_of_birth": "2999-01-01",
        },
        format="json",
    )
    assert response.status_code == 400
    assert "date_of_birth" in response.json()


def test_register_and_update_go_through_the_services(world):
    client = world.api(world.staff[INTAKE])
    response = client.post(
        url("patient-create"),
        {
            "site": str(world.site.public_id),
            "legal_first_name": "Casey",
            "legal_last_name": "Newperson",
            "date_of_birth": "1985-02-03",
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    pid = response.json()["id"]
    assert AuditEvent.objects.filter(action=Action.CREATE, patient_ref=pid).exists()
    response = client.patch(url("patient-update", patient_id=pid), {"pronouns": "they/them"}, format="json")
    assert response.status_code == 200
    assert response.json()["pronouns"] == "they/them"


def test_consent_revoke_and_disclosure_refused_with_the_reason(world):
    client = world.api(world.staff[C])
    patient, consent = world.objects["patient"], world.objects["consent"]
    payload = {"recipient": "Dr. Quinn Example", "purpose": "treatment", "categories": ["attendance"]}
    ok = client.post(
        url("disclosure-create", patient_id=patient.public_id), {**payload, "channel": "fax"}, format="json"
    )
    assert ok.status_code == 201, ok.json()
    assert ok.json()["notice_statement"]
    revoke = client.post(
        url("consent-revoke", patient_id=patient.public_id, consent_id=consent.public_id),
        {"revoked_on": str(world.objects["today"]), "method": "letter"},
        format="json",
    )
    assert revoke.status_code == 200
    assert revoke.json()["status"] == "revoked"
    refused = client.post(
        url("disclosure-create", patient_id=patient.public_id), {**payload, "channel": "fax"}, format="json"
    )
    assert refused.status_code == 400
    assert "revoked" in str(refused.json()["consent"])


# --- FHIR disclosure ---------------------------------------------------------------------------------


def test_fhir_disclosure_is_refused_without_a_covering_consent(world):
    client = world.api(world.staff[C])
    patient = world.objects["patient"]
    response = client.post(
        url("patient-fhir-disclosure", patient_id=patient.public_id),
        {"recipient": "Someone Unnamed", "purpose": "employment", "categories": ["attendance"]},
        format="json",
    )
    assert response.status_code == 400
    assert set(response.json()) & {"purpose", "recipient", "consent"}
    assert not Disclosure.objects.exists()
    assert not AuditEvent.objects.filter(action__in=[Action.DISCLOSE, Action.EXPORT]).exists()


def test_fhir_disclosure_bundle_validates_and_is_logged_with_the_notice(world):
    from fhir.resources.R4B.bundle import Bundle

    client = world.api(world.staff[C])
    patient = world.objects["patient"]
    response = client.post(
        url("patient-fhir-disclosure", patient_id=patient.public_id),
        {
            "recipient": "Springfield Probation Office",
            "purpose": "legal",
            "categories": ["attendance", "treatment_plan"],
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    bundle = response.json()
    Bundle.model_validate(bundle)
    kinds = {e["resource"]["resourceType"] for e in bundle["entry"]}
    assert {"Patient", "EpisodeOfCare", "Appointment", "Encounter", "CarePlan", "Consent", "Provenance"} <= kinds
    assert "QuestionnaireResponse" not in kinds  # assessments were not released
    assert {"42CFRPart2", "NORDSCLCD"} <= {label["code"] for label in bundle["meta"]["security"]}
    disclosure = Disclosure.objects.get()
    assert disclosure.channel == "electronic"
    provenance = next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Provenance")
    assert disclosure.notice.short_statement in provenance["text"]["div"]
    assert AuditEvent.objects.filter(action=Action.DISCLOSE, patient_ref=str(patient.public_id)).exists()
    assert AuditEvent.objects.filter(action=Action.EXPORT, patient_ref=str(patient.public_id)).exists()


def test_every_resource_builder_output_parses(world):
    from fhir.resources.R4B import get_fhir_model_class

    from assessments.fhir import questionnaire_response_resource
    from patients.fhir import consent_resource, episode_of_care_resource, patient_resource
    from plans.fhir import care_plan_resource
    from scheduling.fhir import appointment_resource
    from sessions.fhir import encounter_resource

    o = world.objects
    built = [
        patient_resource(o["patient"]),
        episode_of_care_resource(o["episode"]),
        consent_resource(o["consent"]),
        appointment_resource(o["session"], o["patient"]),
        encounter_resource(o["attendance"]),
        questionnaire_response_resource(o["response"]),
        care_plan_resource(o["plan"]),
    ]
    for resource in built:
        get_fhir_model_class(resource["resourceType"]).model_validate(resource)


# --- scheduling ------------------------------------------------------------------------------------


def test_sessions_filter_by_date_range(world):
    client = world.api(world.staff[A])
    day = world.objects["day"]
    response = client.get(
        url("session-list"), {"starts_after": f"{day}T00:00:00Z", "starts_before": f"{day}T23:59:00Z"}
    )
    assert response.status_code == 200
    assert str(world.objects["session"].public_id) in [r["id"] for r in response.json()["results"]]
    bad = client.get(url("session-list"), {"starts_after": "yesterday"})
    assert bad.status_code == 400 and "starts_after" in bad.json()


def test_booking_conflict_is_409(world):
    clinician = world.staff[C]
    client = world.api(world.staff[S])
    day = world.objects["today"] + timedelta(days=7)
    payload = {
        "site": str(world.site.public_id),
        "kind": "individual",
        "day": str(day),
        "start_time": "14:00",
        "end_time": "15:00",
        "facilitators": [str(clinician.public_id)],
    }
    assert client.post(url("session-book"), payload, format="json").status_code == 201
    clash = client.post(url("session-book"), {**payload, "start_time": "14:30", "end_time": "15:30"}, format="json")
    assert clash.status_code == 409
    assert "already booked" in clash.json()["detail"]


def test_enrollment_list_needs_patient_access_and_is_audited(world):
    assert world.api(world.staff[A]).get(url("enrollment-list")).status_code == 403
    response = world.api(world.staff[INTAKE]).get(url("enrollment-list"))
    assert response.status_code == 200
    assert AuditEvent.objects.filter(object_type="scheduling.Enrollment").exists()


# --- notes and plans: ETag / If-Match ---------------------------------------------------------------


def test_note_etag_if_match(world):
    client = world.api(world.staff[C])
    note = world.objects["note"]
    get = client.get(url("note-detail", note_id=note.public_id))
    etag = get["ETag"]
    assert etag == f'"{note.version}"'
    edit = {"sections": {"subjective": "Better today."}}
    assert client.patch(url("note-update", note_id=note.public_id), edit, format="json").status_code == 428
    ok = client.patch(url("note-update", note_id=note.public_id), edit, format="json", HTTP_IF_MATCH=etag)
    assert ok.status_code == 200 and ok["ETag"] != etag
    stale = client.patch(url("note-update", note_id=note.public_id), edit, format="json", HTTP_IF_MATCH=etag)
    assert stale.status_code == 412


def test_intake_never_reads_notes(world):
    note = world.objects["note"]
    assert world.api(world.staff[INTAKE]).get(url("note-detail", note_id=note.public_id)).status_code == 403
    assert world.api(world.other_clinician).get(url("note-detail", note_id=note.public_id)).status_code == 404


def test_plan_etag_if_match(world):
    client = world.api(world.staff[C])
    plan = world.objects["plan"]
    etag = client.get(url("plan-detail", plan_id=plan.public_id))["ETag"]
    edit = {"strengths": "Supportive sister."}
    assert client.patch(url("plan-update", plan_id=plan.public_id), edit, format="json").status_code == 428
    ok = client.patch(url("plan-update", plan_id=plan.public_id), edit, format="json", HTTP_IF_MATCH=etag)
    assert ok.status_code == 200, ok.json()
    assert ok.json()["strengths"] == "Supportive sister."
    stale = client.patch(url("plan-update", plan_id=plan.public_id), edit, format="json", HTTP_IF_MATCH=etag)
    assert stale.status_code == 412


# --- attendance, assessments, alerts --------------------------------------------------------------------


def test_bulk_roll_call_reports_row_errors_by_index(world):
    client = world.api(world.staff[C])
    session = world.objects["session"]
    patient = world.objects["patient"]
    bad = client.post(
        url("attendance-record", session_id=session.public_id),
        {"rows": [{"patient": str(patient.public_id), "status": "late"}]},
        format="json",
    )
    assert bad.status_code == 400
    assert "minutes" in bad.json()["rows"]["0"]
    good = client.post(
        url("attendance-record", session_id=session.public_id),
        {"rows": [{"patient": str(patient.public_id), "status": "late", "minutes": 120}]},
        format="json",
    )
    assert good.status_code == 200
    assert good.json()[0]["minutes_attended"] == 120


def test_scoring_endpoint_scores_without_saving(world):
    from assessments.models import AssessmentResponse

    before = AssessmentResponse.objects.count()
    response = world.api(world.staff[INTAKE]).post(
        url("assessment-score"), {"instrument": "PHQ-9", "answers": [1, 1, 1, 1, 1, 1, 1, 1, 0]}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["total"] == 8
    assert AssessmentResponse.objects.count() == before
    bad = world.api(world.staff[INTAKE]).post(
        url("assessment-score"), {"instrument": "PHQ-9", "answers": [9]}, format="json"
    )
    assert bad.status_code == 400


def test_recommend_endpoint(world):
    response = world.api(world.staff[C]).post(
        url("placement-recommend"),
        {"ratings": {"D1": 0, "D2": 1, "D3": 1, "D4": 2, "D5": 2, "D6": 1}},
        format="json",
    )
    assert response.status_code == 200, response.json()
    assert response.json()["treatment_level"]
    assert world.api(world.staff[D]).post(url("placement-recommend"), {}, format="json").status_code == 403


def test_alert_acknowledge(world):
    alert = world.objects["alert"]
    assert (
        world.api(world.staff[D])
        .post(url("alert-acknowledge", alert_id=alert.public_id), {}, format="json")
        .status_code
        == 403
    )
    response = world.api(world.staff[C]).post(
        url("alert-acknowledge", alert_id=alert.public_id),
        {"action_taken": "reviewed", "action_note": "Called, doing fine."},
        format="json",
    )
    assert response.status_code == 200
    assert response.json()["is_open"] is False


def test_session_auth_works_for_the_browser(world):
    client = world.api(world.staff[C], token=False)
    assert client.get(url("patient-list")).status_code == 200
