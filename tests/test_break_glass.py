"""Break-glass across the apps: with a live grant, a counselor of another site reads the chart
and every record it links to (pages and API), read-only; nothing anywhere accepts a write from
them; and when the grant expires every one of those URLs answers 404 again.

The clinic is the authorization matrix's: one of every record at site A, the grant goes to the
clinician of site B (``other_clinician``).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse

from audit.models import Action, AuditEvent
from patients import services
from patients.models import EmergencyAccess
from users.api.tokens import api_token_create

from .test_authorization_matrix import ALLAUTH_PREFIXES, all_routes, build_matrix_world, kwargs_for

pytestmark = pytest.mark.django_db

REASON = "Found unresponsive in our waiting room; need medications and allergies now."

# What the grant opens: the chart, the records it lists and links to, and the same through the API.
READABLE = [
    "patients:detail",
    "patients:consent_list",
    "patients:consent_detail",
    "patients:disclosure_list",
    "patients:disclosure_accounting",
    "patients:support_list",
    "intake:referral",
    "scheduling:patient_schedule",
    "assessments:patient",
    "assessments:response_detail",
    "assessments:placement_list",
    "assessments:placement_detail",
    "assessments:specimen_list",
    "assessments:specimen_detail",
    "assessments:medication_list",
    "plans:overview",
    "plans:treatment_plan",
    "plans:rp_plan",
    "plans:recovery",
    "plans:aftercare",
    "sessions:patient_notes",
    "sessions:progress_note",
    "sessions:patient_group_note",
    "sessions:patient_hours",
    "sessions:patient_followup",
    "api:patient-detail",
    "api:episode-list",
    "api:consent-list",
    "api:consent-detail",
    "api:disclosure-list",
    "api:assessment-detail",
    "api:placement-detail",
    "api:note-detail",
    "api:plan-detail",
]

# Pages that answer a POST by showing themselves (the same read as a GET) or that are the
# user's own, not the patient's (their home, their tokens, their own site's lists).
RENDERS_ON_POST = {
    "patients:detail",
    "patients:consent_list",
    "patients:consent_detail",
    "patients:disclosure_list",
    "patients:disclosure_accounting",
    "patients:support_list",
    "intake:referral",
    "scheduling:patient_schedule",
    "scheduling:patient_schedule_print",
    "assessments:patient",
    "assessments:response_detail",
    "assessments:placement_list",
    "assessments:placement_detail",
    "assessments:specimen_list",
    "assessments:medication_list",
    "plans:overview",
    "plans:treatment_plan",
    "plans:rp_plan_print",
    "sessions:patient_notes",
    "sessions:patient_group_note",
    "sessions:patient_hours",
}

WRITES = {Action.CREATE, Action.UPDATE, Action.DELETE, Action.SIGN, Action.DISCLOSE, Action.EXPORT}


@pytest.fixture
def world():
    return build_matrix_world()


def _grant(world):
    patient = world.objects["patient"]
    access, _ = services.emergency_access_open(
        by=world.other_clinician, mrn=patient.mrn, date_of_birth=patient.date_of_birth, reason=REASON
    )
    return access


def _client(world, name: str) -> Client:
    client = Client()
    if name.startswith("api:"):
        if not getattr(world, "api_secret", None):
            world.api_secret = api_token_create(
                user=world.other_clinician, name="Break-glass probe", expires_at=None, by=world.other_clinician
            )[1]
        client.defaults["HTTP_AUTHORIZATION"] = f"Token {world.api_secret}"
    else:
        client.force_login(world.other_clinician)
    return client


def _url(world, name: str) -> str:
    return reverse(name, kwargs=kwargs_for(name, all_routes()[name], world))


def test_the_grant_opens_the_chart_and_its_records_then_closes_them(world):
    for name in READABLE:  # before: nothing
        assert _client(world, name).get(_url(world, name)).status_code == 404, name
    access = _grant(world)
    patient_ref = str(world.objects["patient"].public_id)
    for name in READABLE:
        response = _client(world, name).get(_url(world, name))
        assert response.status_code == 200, name
        if not name.startswith("api:"):
            assert "Emergency access</strong>" in response.content.decode(), name
    seen = AuditEvent.objects.filter(actor=world.other_clinician, action=Action.VIEW, patient_ref=patient_ref)
    assert set(seen.values_list("reason", flat=True)) == {REASON}
    assert {e.changes["emergency_access"] for e in seen} == {str(access.public_id)}
    # Time passes: the grant is over and every one of them is closed again.
    EmergencyAccess.objects.filter(pk=access.pk).update(
        started_at=access.started_at - timedelta(hours=2), expires_at=access.expires_at - timedelta(hours=2)
    )
    for name in READABLE:
        assert _client(world, name).get(_url(world, name)).status_code == 404, name


def test_the_whole_group_note_and_other_patients_stay_closed(world):
    _grant(world)
    client = _client(world, "sessions:group_note")
    assert client.get(reverse("sessions:group_note", args=[world.objects["group_note"].public_id])).status_code == 404
    other = world.objects["discharged_patient"]  # another patient of the same site
    assert client.get(reverse("patients:detail", args=[other.public_id])).status_code == 404


def _every_route():
    for name, converters in sorted(all_routes().items()):
        if name.startswith("admin:") or name.startswith(ALLAUTH_PREFIXES):
            continue
        yield name, converters


def _post(world, name: str):
    client = _client(world, name)
    url = _url(world, name)
    if name in {"api:patient-update", "api:note-update", "api:plan-update"}:
        return client.patch(url, "{}", content_type="application/json")
    return client.post(url, {})


def test_no_route_accepts_a_write_under_the_grant(world):
    """Every URL of the product, POSTed as the grant holder: the grant adds no write anywhere.

    A route refuses (403/404/405), or answers exactly as it does without the grant (it is about
    the user's own site or account), or only shows the same page as its GET."""
    before = {name: _post(world, name).status_code for name, _ in _every_route()}
    _grant(world)
    since = AuditEvent.objects.latest("id").id  # the grant and its alert are written: nothing after
    wrong = []
    for name, _ in _every_route():
        status = _post(world, name).status_code
        if status in (403, 404, 405) or status == before[name] or name in RENDERS_ON_POST:
            continue
        wrong.append(f"{name}: {before[name]} without the grant, {status} with it")
    assert not wrong, "\n".join(wrong)
    writes = AuditEvent.objects.filter(
        id__gt=since,
        actor=world.other_clinician,
        action__in=WRITES,
        patient_ref=str(world.objects["patient"].public_id),
    )
    assert not writes.exists(), list(writes.values_list("action", "object_type"))


def test_api_writes_with_a_valid_body_are_refused(world):
    _grant(world)
    since = AuditEvent.objects.latest("id").id
    o = world.objects
    patient = o["patient"]
    api = _client(world, "api:")
    attempts = [
        (
            "api:assessment-create",
            {},
            {"patient": str(patient.public_id), "instrument": "PHQ-9", "answers": [0] * 9},
        ),
        ("api:consent-revoke", {"patient_id": patient.public_id, "consent_id": o["consent"].public_id}, {}),
        (
            "api:disclosure-create",
            {"patient_id": patient.public_id},
            {"recipient": "Dr. Quinn Example", "purpose": "treatment", "categories": ["attendance"], "channel": "fax"},
        ),
        ("api:patient-fhir-disclosure", {"patient_id": patient.public_id}, {"recipient": "Dr. Quinn Example"}),
        ("api:plan-create", {}, {"episode": str(o["episode"].public_id)}),
        ("api:note-sign", {"note_id": o["note"].public_id}, {}),
    ]
    for name, kwargs, body in attempts:
        response = api.post(reverse(name, kwargs=kwargs), body, content_type="application/json")
        assert response.status_code in (400, 403, 404), (name, response.status_code)
    response = api.patch(
        reverse("api:patient-update", kwargs={"patient_id": patient.public_id}),
        {"preferred_name": "Changed"},
        content_type="application/json",
    )
    assert response.status_code == 403
    writes = AuditEvent.objects.filter(
        id__gt=since, actor=world.other_clinician, action__in=WRITES, patient_ref=str(patient.public_id)
    )
    assert not writes.exists(), list(writes.values_list("action", "object_type"))
