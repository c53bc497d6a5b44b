"""Audit of the placement code against DOMAIN.md §1–3 (levels of care, dimensions, IOP-RS-1).

Each test quotes the DOMAIN.md rule it checks. The rules are exercised through ``recommend``,
the placement services (``placement_decide`` / ``placement_sign``) and the REST API.
"""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from rest_framework.test import APIClient

from assessments import placement as rules
from assessments import services
from assessments.models import DIMENSION_LABELS, Placement, PlacementStatus
from tests.fixtures import sign_in


def ratings(**overrides: int) -> dict[int, int]:
    values = dict.fromkeys(range(1, 7), 0)
    values.update({int(key[1:]): value for key, value in overrides.items()})
    return values


def fields(**overrides: int) -> dict[str, int]:
    return {f"d{d}_rating": r for d, r in ratings(**overrides).items()}


def _draft(patient, by, rated: dict[str, int], **extra):
    return services.placement_create(patient=patient, by=by, placement_type="initial", **rated, **extra)


# --- §3.1 rule 6: the reason codes --------------------------------------------------------------

DOMAIN_REASON_CODES = {
    "LEVEL_NOT_AVAILABLE",
    "PATIENT_PREFERENCE",
    "PAYER_DECISION",
    "CLINICAL_JUDGMENT",
    "WAITLIST",
    "GEOGRAPHY/TRANSPORT",
    "LEGAL_MANDATE",
    "OTHER",
}


def test_override_reason_codes_are_the_domain_codes():
    """§3.1 rule 6: "Reason codes: `LEVEL_NOT_AVAILABLE`, `PATIENT_PREFERENCE`, `PAYER_DECISION`,
    `CLINICAL_JUDGMENT`, `WAITLIST`, `GEOGRAPHY/TRANSPORT`, `LEGAL_MANDATE`, `OTHER`."""
    assert {code for code, _ in rules.OVERRIDE_REASONS} == DOMAIN_REASON_CODES


@pytest.mark.django_db
def test_an_override_is_recorded_with_the_geography_transport_code(patient, counselor):
    """§3.1 rule 6: the code `GEOGRAPHY/TRANSPORT` is accepted and stored as written."""
    placement = _draft(patient, counselor, fields(d5=2))
    decided = services.placement_decide(
        placement=placement,
        by=counselor,
        actual_level="1",
        override_reason="GEOGRAPHY/TRANSPORT",
        override_note="No transport to IOP three times a week.",
    )
    assert decided.override_reason == "GEOGRAPHY/TRANSPORT"
    signed = services.placement_sign(placement=decided, by=counselor)
    assert Placement.objects.get(pk=signed.pk).override_reason == "GEOGRAPHY/TRANSPORT"


@pytest.mark.django_db
@pytest.mark.parametrize("code", ["GEOGRAPHY/TRANSPORT", "GEOGRAPHY_TRANSPORT"])
def test_the_api_takes_the_geography_transport_code(patient, counselor, code):
    """§3.1 rule 6 over the API; the earlier spelling GEOGRAPHY_TRANSPORT is still understood and
    stored under the DOMAIN.md code."""
    placement = _draft(patient, counselor, fields(d5=2))
    client = APIClient()
    sign_in(client, counselor)
    response = client.post(
        reverse("api:placement-decide", kwargs={"placement_id": placement.public_id}),
        {"actual_level": "1", "override_reason": code, "override_note": "Two buses each way."},
        format="json",
    )
    assert response.status_code == 200, response.json()
    assert response.json()["override_reason"] == "GEOGRAPHY/TRANSPORT"
    assert response.json()["is_override"] is True


# --- §3.1 rule 1: safety gate --------------------------------------------------------------------


@pytest.mark.parametrize(("given", "danger"), [(ratings(), True), (ratings(d3=4), False), (ratings(d1=4, d3=4), True)])
def test_the_safety_gate_result_is_emergency_eval(given, danger):
    """§3.1 rule 1: "If `imminent_danger` or D3 = 4: result = `EMERGENCY_EVAL` (same-day crisis or
    psychiatric evaluation; Level 4). Stop." The result names EMERGENCY_EVAL, at Level 4 (4.0)."""
    result = rules.recommend(given, imminent_danger=danger)
    assert "EMERGENCY_EVAL" in result.flags
    assert "EMERGENCY_EVAL" in result.to_dict()["flags"]
    assert (result.treatment_level, result.treatment_level_4th, result.iop_fit) == ("4", "4.0", "EMERGENCY")
    assert result.rules_fired == ("SAFETY_GATE",)
    assert result.withdrawal_step is None


def test_d3_of_4_sets_the_imminent_danger_flag():
    """§3.1 inputs: "Set the flag when the C-SSRS screener is high risk …, or when homicidal intent
    is documented, or when D3 = 4." The output's imminent_danger is true for D3 = 4."""
    result = rules.recommend(ratings(d3=4), imminent_danger=False)
    assert result.imminent_danger is True
    assert result.to_dict()["imminent_danger"] is True
    assert rules.recommend(ratings(d3=3)).imminent_danger is False


# --- §3.1 rule 2: withdrawal gate at the decision --------------------------------------------------


@pytest.mark.django_db
def test_plain_iop_while_d1_is_2_or_more_needs_an_override_reason(patient, counselor):
    """§3.1 rule 2: "Attach it to the result and do not admit to plain IOP until D1 ≤ 1." With a
    withdrawal step attached, deciding plain Level 2.1 departs from the recommendation: it needs a
    reason code and a note (rule 6), like any other override."""
    placement = _draft(patient, counselor, fields(d1=2, d5=2))
    assert (placement.recommended_level, placement.recommendation["withdrawal_step"]) == ("2.1", "2-WM")
    with pytest.raises(ValidationError) as exc:
        services.placement_decide(placement=placement, by=counselor, actual_level="2.1")
    assert {"override_reason", "override_note"} <= set(exc.value.message_dict)
    placement.refresh_from_db()
    assert placement.actual_level == ""
    decided = services.placement_decide(
        placement=placement,
        by=counselor,
        actual_level="2.1",
        override_reason="CLINICAL_JUDGMENT",
        override_note="Concurrent ambulatory WM arranged with the MOUD clinic.",
    )
    assert decided.is_override is True
    assert decided.override_reason == "CLINICAL_JUDGMENT"


@pytest.mark.django_db
def test_signing_plain_iop_while_d1_is_2_or_more_needs_an_override_reason(patient, counselor):
    """§3.1 rule 2 on the page path (save, then sign): the signature is refused without a reason."""
    placement = _draft(patient, counselor, fields(d1=3, d5=2), actual_level="2.1")
    with pytest.raises(ValidationError) as exc:
        services.placement_sign(placement=placement, by=counselor)
    assert {"override_reason", "override_note"} <= set(exc.value.message_dict)
    assert Placement.objects.get(pk=placement.pk).status == PlacementStatus.DRAFT


@pytest.mark.django_db
def test_plain_iop_against_a_withdrawal_step_is_reported_as_a_discrepancy(patient, counselor, settings):
    """§3.1 rule 6: "Report recommended-vs-actual discrepancies" — including plain IOP decided while the
    recommendation holds IOP back for withdrawal management (rule 2)."""
    settings.PLACEMENT_COSIGN = "never"
    agreed = services.placement_sign(
        placement=_draft(patient, counselor, fields(d5=2), actual_level="2.1"), by=counselor
    )
    against_gate = _draft(
        patient,
        counselor,
        fields(d1=2, d5=2),
        actual_level="2.1",
        override_reason="CLINICAL_JUDGMENT",
        override_note="Concurrent ambulatory WM.",
    )
    against_gate = services.placement_sign(placement=against_gate, by=counselor)
    assert list(Placement.objects.discrepant()) == [against_gate]
    assert agreed.is_override is False


@pytest.mark.django_db
def test_plain_iop_with_d1_of_1_is_not_an_override(patient, counselor):
    """§3.1 rule 2: D1 0 or 1 → no withdrawal step, so Level 2.1 agrees with a 2.1 recommendation."""
    placement = _draft(patient, counselor, fields(d1=1, d5=2))
    decided = services.placement_decide(placement=placement, by=counselor, actual_level="2.1")
    assert decided.is_override is False


# --- §3.1 rule 7: recovery residence --------------------------------------------------------------


def test_a_recovery_residence_is_not_the_default_for_d6_of_3():
    """§3.1 rule 7: "Do not make it the default." D6 = 3 alone still recommends Level 3.1."""
    result = rules.recommend(ratings(d6=3))
    assert (result.treatment_level, result.iop_fit) == ("3.1", "STEP_UP")


@pytest.mark.parametrize(
    ("given", "allowed"),
    [
        (ratings(d6=3), True),
        (ratings(d2=1, d3=2, d4=3, d5=1, d6=3), True),  # the rest alone is 2.1
        (ratings(d6=4), False),  # D6 = 4 is not the D6 = 3 case
        (ratings(d6=2), False),
        (ratings(d5=3, d6=3), False),  # D5 needs 2.5 by itself
        (ratings(d2=3, d6=3), False),
        (ratings(d2=2, d3=2, d4=2, d6=3), False),  # without D6 the rest is unstable (2.5)
        (ratings(d1=2, d6=3), False),  # withdrawal step: no plain IOP until D1 <= 1
    ],
)
def test_a_recovery_residence_is_offered_where_d6_of_3_is_the_only_reason(given, allowed):
    """§3.1 rule 7: "Where D6 = 3 only, the common real-world answer is '2.1 services plus a recovery
    residence'." Allowed only when D6 = 3 and nothing else needs more than 2.1."""
    assert rules.recovery_residence_allowed(given) is allowed
    assert rules.recovery_residence_allowed(given, imminent_danger=True) is False


@pytest.mark.django_db
def test_a_recovery_residence_override_is_recorded_with_a_housing_plan(patient, counselor):
    """§3.1 rule 7: "Allow it as an override with reason `CLINICAL_JUDGMENT` and a linked housing plan."""
    placement = _draft(patient, counselor, fields(d6=3))
    assert placement.recommended_level == "3.1"
    decided = services.placement_decide(
        placement=placement,
        by=counselor,
        actual_level="2.1",
        override_reason="CLINICAL_JUDGMENT",
        override_note="IOP services while living in a recovery residence.",
        recovery_residence=True,
        housing_plan="Bed at Oak Street recovery residence from Monday; house manager confirmed.",
    )
    assert decided.is_override is True
    assert decided.recovery_residence is True
    assert decided.housing_plan.startswith("Bed at Oak Street")
    signed = services.placement_sign(placement=decided, by=counselor)
    fresh = Placement.objects.get(pk=signed.pk)
    assert (fresh.recovery_residence, fresh.actual_level, fresh.override_reason) == (True, "2.1", "CLINICAL_JUDGMENT")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("rated", "decision", "field"),
    [
        (fields(d6=3), {"override_reason": "CLINICAL_JUDGMENT", "housing_plan": ""}, "housing_plan"),
        (fields(d6=3), {"override_reason": "PATIENT_PREFERENCE", "housing_plan": "Oak St."}, "override_reason"),
        (
            fields(d6=3),
            {"actual_level": "1", "override_reason": "CLINICAL_JUDGMENT", "housing_plan": "Oak St."},
            "actual_level",
        ),
        (fields(d6=4), {"override_reason": "CLINICAL_JUDGMENT", "housing_plan": "Oak St."}, "recovery_residence"),
        (fields(d2=3, d6=3), {"override_reason": "CLINICAL_JUDGMENT", "housing_plan": "Oak St."}, "recovery_residence"),
    ],
)
def test_a_recovery_residence_override_is_refused_outside_rule_7(patient, counselor, rated, decision, field):
    """§3.1 rule 7: only where D6 = 3 only, as Level 2.1 services, with CLINICAL_JUDGMENT and a housing plan."""
    placement = _draft(patient, counselor, rated)
    decision = {"actual_level": "2.1", "override_note": "Recovery residence.", **decision}
    with pytest.raises(ValidationError) as exc:
        services.placement_decide(placement=placement, by=counselor, recovery_residence=True, **decision)
    assert field in exc.value.message_dict
    placement.refresh_from_db()
    assert (placement.actual_level, placement.recovery_residence) == ("", False)


@pytest.mark.django_db
def test_the_api_records_a_recovery_residence_override(patient, counselor):
    """§3.1 rule 7 over the API: the decision takes and returns recovery_residence and housing_plan."""
    placement = _draft(patient, counselor, fields(d6=3))
    client = APIClient()
    sign_in(client, counselor)
    url = reverse("api:placement-decide", kwargs={"placement_id": placement.public_id})
    refused = client.post(
        url,
        {
            "actual_level": "2.1",
            "override_reason": "CLINICAL_JUDGMENT",
            "override_note": "Recovery residence.",
            "recovery_residence": True,
        },
        format="json",
    )
    assert refused.status_code == 400 and "housing_plan" in refused.json()
    response = client.post(
        url,
        {
            "actual_level": "2.1",
            "override_reason": "CLINICAL_JUDGMENT",
            "override_note": "Recovery residence.",
            "recovery_residence": True,
            "housing_plan": "Oak Street recovery residence.",
        },
        format="json",
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["recovery_residence"], body["housing_plan"]) == (True, "Oak Street recovery residence.")
    assert body["is_override"] is True


# --- §2: dimension names ------------------------------------------------------------------------


def test_the_dimension_labels_use_the_3rd_edition_names():
    """§2: D3 (3rd edition) is "Emotional, Behavioral, or Cognitive Conditions and Complications"."""
    assert DIMENSION_LABELS[3].lower() == "d3 emotional, behavioral, or cognitive conditions and complications"


# --- The pages (save and sign in one step) -----------------------------------------------------------


@pytest.mark.django_db
def test_the_page_refuses_plain_iop_against_a_withdrawal_step_and_saves_nothing(client_as, patient):
    """§3.1 rule 2 on the placement page: plain 2.1 with D1 = 2 is not signed without a reason."""
    client = client_as()
    rated = {k: str(v) for k, v in fields(d1=2, d5=2).items()}
    data = {"placement_type": "initial", **rated, "actual_level": "2.1", "sign": "1"}
    response = client.post(reverse("assessments:placement_create", args=[patient.public_id]), data)
    assert response.status_code == 200
    assert "holds back plain IOP" in response.content.decode()
    assert not Placement.objects.exists()


@pytest.mark.django_db
def test_the_page_signs_a_recovery_residence_override_and_shows_it(client_as, patient, settings):
    """§3.1 rule 7 on the placement page: the override is signed with its housing plan and shown."""
    settings.PLACEMENT_COSIGN = "never"
    client = client_as()
    rated = {k: str(v) for k, v in fields(d6=3).items()}
    data = {
        "placement_type": "initial",
        **rated,
        "actual_level": "2.1",
        "override_reason": "CLINICAL_JUDGMENT",
        "override_note": "IOP while in a recovery residence.",
        "recovery_residence": "on",
        "housing_plan": "Oak Street recovery residence.",
        "sign": "1",
    }
    response = client.post(reverse("assessments:placement_create", args=[patient.public_id]), data)
    assert response.status_code == 302
    placement = Placement.objects.get()
    assert (placement.status, placement.recovery_residence) == (PlacementStatus.SIGNED, True)
    page = client.get(reverse("assessments:placement_detail", args=[placement.public_id])).content.decode()
    assert "recovery residence" in page and "Oak Street recovery residence." in page
