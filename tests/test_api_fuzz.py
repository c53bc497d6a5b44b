"""Schemathesis over every API operation, in-process, as each role (and anonymously).

The schema comes from the running app (drf-spectacular); every operation is exercised with a
handful of generated requests (valid and invalid) carrying that role's token, against a
clinic that has one of every record. Checks: no 5xx, and every documented response matches
its schema. Bounded: ``MAX_EXAMPLES`` per operation and role. The clinic also holds a signed
group note awaiting co-signature (with an addendum) and a signed placement awaiting its
co-sign, so the lists and the co-sign queue answer with real rows to check against the schema.
"""

from __future__ import annotations

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from users.models import Role

from .test_api_world import ROLES, api_key_for, build_world

MAX_EXAMPLES = 5
CHECKS = [not_a_server_error, response_schema_conformance]

pytestmark = pytest.mark.django_db


@pytest.fixture
def in_process(monkeypatch):
    """The test client's trick: keep the test's database connection open across requests,
    and lift the per-user rate limit (the fuzzer is one very busy user)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    from rest_framework.throttling import UserRateThrottle

    monkeypatch.setattr(UserRateThrottle, "THROTTLE_RATES", {"user": "1000000/min"})
    yield get_wsgi_application()
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def add_signed_records(world) -> None:
    """A supervisee's signed group note (with an addendum about one part) and a counselor's
    override placement, both awaiting a supervisor."""
    from assessments import services as assessment_services
    from sessions import services as session_services

    clinician, supervisor = world.staff[Role.CLINICIAN], world.staff[Role.SUPERVISOR]
    session_services.cosign_requirement_set(user=clinician, site=world.site, required=True, by=supervisor)
    note = session_services.group_note_start(session=world.objects["session"], by=clinician)
    parts = {
        str(e.public_id): {f: "Observed." for f in ("participation", "response", "progress", "risk_observations")}
        for e in note.entries.all()
    }
    note = session_services.group_note_update(
        note=note, by=clinician, version=note.version, shared={"interventions": "MI"}, entries=parts
    )
    note = session_services.note_sign(note=note, by=clinician)
    session_services.note_add_addendum(
        note=note, by=clinician, reason="Late entry", text="Follow-up call made.", entry=note.entries.first()
    )
    ratings = {"d1_rating": 0, "d2_rating": 1, "d3_rating": 1, "d4_rating": 2, "d5_rating": 2, "d6_rating": 1}
    placement = assessment_services.placement_create(
        patient=world.objects["patient"], by=clinician, placement_type="initial", **ratings
    )
    placement = assessment_services.placement_decide(
        placement=placement,
        by=clinician,
        actual_level="2.5",
        override_reason="CLINICAL_JUDGMENT",
        override_note="Two recent lapses.",
    )
    assessment_services.placement_sign(placement=placement, by=clinician)


@pytest.mark.parametrize("role", [*ROLES, "anonymous", "other_site"])
def test_every_operation_as(role, in_process):
    world = build_world()
    add_signed_records(world)
    if role == "anonymous":
        headers = {}
        schema_user = world.staff[Role.CLINICIAN]
    else:
        user = world.other_clinician if role == "other_site" else world.staff[role]
        schema_user = user
        headers = {"Authorization": f"Token {api_key_for(user)}"}
    schema_key = api_key_for(schema_user)
    schema = schemathesis.openapi.from_wsgi(
        "/api/schema/?format=json", in_process, headers={"Authorization": f"Token {schema_key}"}
    )
    failures: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1

        @settings(
            max_examples=MAX_EXAMPLES,
            deadline=None,
            database=None,
            derandomize=True,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy())
        def run(case):
            case.call_and_validate(headers=headers, checks=CHECKS)

        try:
            run()
        except Exception as exc:  # one line per failing operation, all reported together
            failures.append(f"{operation.method.upper()} {operation.path}: {str(exc)[:700]}")
    assert operations > 30
    assert not failures, "\n\n".join(failures)
