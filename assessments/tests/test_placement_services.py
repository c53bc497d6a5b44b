"""Placement records: drafts, the stored recommendation, overrides, signing, co-sign, immutability."""

from __future__ import annotations

from types import MappingProxyType

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction

from assessments import placement as rules
from assessments import services
from assessments.models import ImmutableRecord, NeverDeleted, Placement, PlacementStatus
from audit.models import Action, AuditEvent
from users.models import Role

IOP_PROFILE = {"d1_rating": 1, "d2_rating": 1, "d3_rating": 2, "d4_rating": 2, "d5_rating": 2, "d6_rating": 1}


@pytest.fixture
def supervisor(make_staff):
    return make_staff(Role.SUPERVISOR)


def _draft(patient, by, **fields):
    return services.placement_create(patient=patient, by=by, placement_type="initial", **{**IOP_PROFILE, **fields})


def test_a_draft_stores_the_recommendation(patient, counselor):
    placement = _draft(patient, counselor)
    expected = rules.recommend({1: 1, 2: 1, 3: 2, 4: 2, 5: 2, 6: 1}).to_dict()
    assert placement.recommendation == expected
    assert placement.recommended_level == "2.1"
    assert placement.rule_set == rules.RULE_SET_VERSION == "IOP-RS-1"
    assert placement.status == PlacementStatus.DRAFT


def test_a_partly_rated_draft_has_no_recommendation(patient, counselor):
    placement = services.placement_create(patient=patient, by=counselor, placement_type="initial", d1_rating=1)
    assert placement.recommendation == {}
    assert placement.recommended_level == ""


def test_an_out_of_range_rating_is_refused_per_dimension(patient, counselor):
    with pytest.raises(ValidationError) as exc:
        _draft(patient, counselor, d3_rating=5)
    assert "d3_rating" in exc.value.message_dict
    assert not Placement.objects.exists()


def test_signing_with_the_recommended_level_needs_no_reason(patient, counselor):
    placement = _draft(patient, counselor, actual_level="2.1")
    placement = services.placement_sign(placement=placement, by=counselor)
    assert placement.status == PlacementStatus.SIGNED
    assert placement.signed_by == counselor
    assert placement.signed_at is not None
    assert AuditEvent.objects.filter(action=Action.SIGN, object_id=str(placement.public_id)).exists()


def test_signing_needs_every_rating_and_the_actual_level(patient, counselor):
    placement = services.placement_create(patient=patient, by=counselor, placement_type="initial", d1_rating=1)
    with pytest.raises(ValidationError) as exc:
        services.placement_sign(placement=placement, by=counselor)
    assert {"d2_rating", "d6_rating", "actual_level"} <= set(exc.value.message_dict)
    placement.refresh_from_db()
    assert placement.status == PlacementStatus.DRAFT


@pytest.mark.parametrize(
    ("reason", "note", "missing"),
    [
        ("", "", {"override_reason", "override_note"}),
        ("PATIENT_PREFERENCE", "", {"override_note"}),
        ("", "Prefers evenings.", {"override_reason"}),
    ],
)
def test_an_override_needs_a_reason_and_text(patient, counselor, reason, note, missing):
    placement = _draft(patient, counselor, actual_level="1", override_reason=reason, override_note=note)
    with pytest.raises(ValidationError) as exc:
        services.placement_sign(placement=placement, by=counselor)
    assert set(exc.value.message_dict) == missing
    placement.refresh_from_db()
    assert placement.status == PlacementStatus.DRAFT


def test_the_database_refuses_an_unexplained_override(patient, counselor):
    placement = _draft(patient, counselor, actual_level="1")
    with pytest.raises(IntegrityError), transaction.atomic():
        Placement.objects.filter(pk=placement.pk).update(
            status="signed", signed_by=counselor, signed_at=placement.created_at
        )


def test_an_explained_override_by_a_counselor_awaits_cosign(patient, counselor, supervisor):
    placement = _draft(
        patient, counselor, actual_level="1", override_reason="PAYER_DECISION", override_note="Payer approved OP only."
    )
    placement = services.placement_sign(placement=placement, by=counselor)
    assert placement.status == PlacementStatus.AWAITING_COSIGN
    assert placement.cosign_required is True
    placement = services.placement_cosign(placement=placement, by=supervisor)
    assert placement.status == PlacementStatus.SIGNED
    assert placement.cosigned_by == supervisor


def test_a_supervisor_signature_needs_no_cosign(patient, supervisor):
    placement = _draft(
        patient, supervisor, actual_level="1", override_reason="PAYER_DECISION", override_note="Payer approved OP only."
    )
    assert services.placement_sign(placement=placement, by=supervisor).status == PlacementStatus.SIGNED


def test_cosign_policy_always(patient, counselor, settings):
    settings.PLACEMENT_COSIGN = "always"
    placement = services.placement_sign(placement=_draft(patient, counselor, actual_level="2.1"), by=counselor)
    assert placement.status == PlacementStatus.AWAITING_COSIGN


def test_cosign_policy_never(patient, counselor, settings):
    settings.PLACEMENT_COSIGN = "never"
    placement = _draft(patient, counselor, actual_level="1", override_reason="WAITLIST", override_note="No IOP seat.")
    assert services.placement_sign(placement=placement, by=counselor).status == PlacementStatus.SIGNED


def test_a_counselor_cannot_cosign_and_nobody_cosigns_their_own(patient, counselor, make_staff, settings):
    settings.PLACEMENT_COSIGN = "always"
    other = make_staff(Role.SUPERVISOR)
    placement = services.placement_sign(placement=_draft(patient, counselor, actual_level="2.1"), by=counselor)
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        services.placement_cosign(placement=placement, by=make_staff(Role.CLINICIAN))
    supervisor_draft = _draft(patient, other, actual_level="2.1")
    settings.PLACEMENT_COSIGN = "always"
    signed = services.placement_sign(placement=supervisor_draft, by=other)
    assert signed.status == PlacementStatus.SIGNED  # a supervisor's own signature is enough
    with pytest.raises(ValidationError):
        services.placement_cosign(placement=signed, by=other)


def test_signing_makes_it_immutable_in_the_service_and_the_model(patient, counselor):
    placement = services.placement_sign(placement=_draft(patient, counselor, actual_level="2.1"), by=counselor)
    with pytest.raises(ValidationError):
        services.placement_update(placement=placement, by=counselor, d1_rating=3)
    with pytest.raises(ValidationError):
        services.placement_sign(placement=placement, by=counselor)
    fresh = Placement.objects.get(pk=placement.pk)
    fresh.d1_rating = 3
    with pytest.raises(ImmutableRecord):
        fresh.save()
    with pytest.raises(ImmutableRecord):
        Placement.objects.filter(pk=placement.pk).update(d1_rating=3)
    with pytest.raises(NeverDeleted):
        fresh.delete()
    assert Placement.objects.get(pk=placement.pk).d1_rating == 1


def test_awaiting_cosign_only_the_cosign_fields_change(patient, counselor):
    placement = _draft(patient, counselor, actual_level="1", override_reason="WAITLIST", override_note="No IOP seat.")
    placement = services.placement_sign(placement=placement, by=counselor)
    fresh = Placement.objects.get(pk=placement.pk)
    fresh.actual_level = "2.1"
    with pytest.raises(ImmutableRecord):
        fresh.save(update_fields=["actual_level"])


@pytest.mark.postgres
def test_postgres_refuses_a_raw_update_of_a_signed_placement(patient, counselor):
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL trigger")
    placement = services.placement_sign(placement=_draft(patient, counselor, actual_level="2.1"), by=counselor)
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE assessments_placement SET d1_rating = 3 WHERE id = %s", [placement.pk])
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM assessments_placement WHERE id = %s", [placement.pk])
    assert Placement.objects.get(pk=placement.pk).d1_rating == 1


@pytest.mark.postgres
def test_postgres_lets_a_cosign_through_but_nothing_else(patient, counselor, make_staff):
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL trigger")
    placement = _draft(patient, counselor, actual_level="1", override_reason="WAITLIST", override_note="No IOP seat.")
    placement = services.placement_sign(placement=placement, by=counselor)
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE assessments_placement SET actual_level = '2.1' WHERE id = %s", [placement.pk])
    services.placement_cosign(placement=placement, by=make_staff(Role.SUPERVISOR))
    assert Placement.objects.get(pk=placement.pk).status == PlacementStatus.SIGNED


def test_the_stored_recommendation_is_not_recomputed_when_the_rule_set_changes(patient, counselor, monkeypatch):
    signed = services.placement_sign(placement=_draft(patient, counselor, actual_level="2.1"), by=counselor)
    stored = dict(signed.recommendation)
    draft = _draft(patient, counselor)
    # A stricter table: D3 = 2 now floors at 2.5 under a new id.
    floors = dict(rules.IOP_RS_1.floors)
    floors[3] = MappingProxyType({0: "1", 1: "1", 2: "2.5", 3: "3.5"})
    stricter = rules.RuleSet(
        id="IOP-RS-2-TEST",
        withdrawal_steps=rules.IOP_RS_1.withdrawal_steps,
        floors=MappingProxyType(floors),
        floor_flags=rules.IOP_RS_1.floor_flags,
    )
    monkeypatch.setattr(rules, "IOP_RS_1", stricter)
    draft = services.placement_update(placement=draft, by=counselor, d6_rating=1)
    assert draft.recommended_level == "2.5"
    assert draft.rule_set == "IOP-RS-2-TEST"
    signed = Placement.objects.get(pk=signed.pk)
    assert signed.recommendation == stored
    assert signed.recommended_level == "2.1"
    assert signed.rule_set == "IOP-RS-1"


def test_suggestions_come_from_the_latest_withdrawal_scores(patient, counselor):
    services.assessment_record(patient=patient, instrument_code="CIWA-Ar", answers=[2] * 6 + [0] * 4, by=counselor)
    placement = services.placement_create(patient=patient, by=counselor, placement_type="initial")
    assert placement.suggestions["D1"] == 2  # CIWA-Ar 12 -> D1 = 2
    assert placement.suggestions["sources"][0]["instrument"] == "CIWA-Ar"
    assert placement.d1_rating is None  # a suggestion, never an automatic rating


def test_other_types_need_an_open_episode(make_patient, counselor):
    patient = make_patient(admitted=False)
    with pytest.raises(ValidationError) as exc:
        services.placement_create(patient=patient, by=counselor, placement_type="continued_stay")
    assert "placement_type" in exc.value.message_dict
    initial = services.placement_create(patient=patient, by=counselor, placement_type="initial")
    assert initial.episode is None


def test_discrepancies_list_decided_overrides_only(patient, counselor, supervisor):
    services.placement_sign(placement=_draft(patient, counselor, actual_level="2.1"), by=counselor)
    override = services.placement_sign(
        placement=_draft(
            patient,
            supervisor,
            actual_level="2.5",
            override_reason="CLINICAL_JUDGMENT",
            override_note="Unstable housing; more structure.",
        ),
        by=supervisor,
    )
    _draft(patient, counselor, actual_level="1")  # an unsigned draft is not a decision
    assert list(Placement.objects.discrepant()) == [override]


# --- placement_decide ------------------------------------------------------------------------------


def test_deciding_an_override_needs_its_reason_and_note_at_once(patient, counselor):
    placement = _draft(patient, counselor)
    with pytest.raises(ValidationError) as exc:
        services.placement_decide(placement=placement, by=counselor, actual_level="2.5")
    assert set(exc.value.message_dict) == {"override_reason", "override_note"}
    placement.refresh_from_db()
    assert placement.actual_level == ""
    decided = services.placement_decide(
        placement=placement,
        by=counselor,
        actual_level="2.5",
        override_reason="CLINICAL_JUDGMENT",
        override_note="  Two lapses this month.  ",
    )
    assert (decided.actual_level, decided.override_note) == ("2.5", "Two lapses this month.")
    assert decided.is_override and decided.status == PlacementStatus.DRAFT
    event = AuditEvent.objects.filter(action=Action.UPDATE, object_id=str(placement.public_id)).latest("id")
    assert event.reason == "decision" and event.changes["after"]["actual_level"] == "2.5"


def test_deciding_the_recommended_level_clears_an_earlier_override(patient, counselor):
    placement = _draft(patient, counselor)
    services.placement_decide(
        placement=placement, by=counselor, actual_level="2.5", override_reason="WAITLIST", override_note="Waitlist."
    )
    agreed = services.placement_decide(
        placement=placement, by=counselor, actual_level="2.1", override_reason="WAITLIST", override_note="Waitlist."
    )
    assert (agreed.override_reason, agreed.override_note, agreed.is_override) == ("", "", False)


def test_deciding_needs_all_ratings_and_a_known_level(patient, counselor):
    placement = services.placement_create(patient=patient, by=counselor, placement_type="initial", d1_rating=1)
    with pytest.raises(ValidationError) as exc:
        services.placement_decide(placement=placement, by=counselor, actual_level="7")
    assert {"d2_rating", "d6_rating", "actual_level"} <= set(exc.value.message_dict)


def test_a_signed_placement_is_not_decided_again(patient, counselor, make_staff):
    placement = services.placement_sign(placement=_draft(patient, counselor, actual_level="2.1"), by=counselor)
    with pytest.raises(ValidationError):
        services.placement_decide(placement=placement, by=counselor, actual_level="1")
    director = make_staff(Role.DIRECTOR)
    with pytest.raises(PermissionDenied):
        services.placement_decide(placement=_draft(patient, counselor), by=director, actual_level="2.1")


def _continued_stay(patient, by, **fields):
    episode = patient.episodes.get(discharge_date__isnull=True)
    return services.placement_create(
        patient=patient, by=by, placement_type="continued_stay", episode=episode, **{**IOP_PROFILE, **fields}
    )


def test_a_continued_stay_at_another_level_makes_the_plans_review_due(patient, counselor, supervisor):
    """DOMAIN.md §7 "Review whenever the level of care changes": a continued-stay placement that
    takes effect at another level than the episode's current one requests a plan review, once,
    when it takes effect (after the co-sign when one is needed)."""
    from plans.models import PlanReviewTrigger, TriggerReason

    episode = patient.episodes.get(discharge_date__isnull=True)
    assert episode.level_of_care == "2.1"
    same = services.placement_sign(placement=_continued_stay(patient, counselor, actual_level="2.1"), by=counselor)
    assert same.status == PlacementStatus.SIGNED and not PlanReviewTrigger.objects.filter(episode=episode).exists()

    step_down = _continued_stay(
        patient, counselor, actual_level="1", override_reason="PAYER_DECISION", override_note="Payer approved OP only."
    )
    step_down = services.placement_sign(placement=step_down, by=counselor)
    assert step_down.status == PlacementStatus.AWAITING_COSIGN
    assert not PlanReviewTrigger.objects.filter(episode=episode).exists()  # not in effect yet
    services.placement_cosign(placement=step_down, by=supervisor)
    (trigger,) = PlanReviewTrigger.objects.filter(episode=episode)
    assert trigger.reason == TriggerReason.LEVEL_OF_CARE_CHANGE and trigger.note == "Placement: level of care 2.1 → 1."

    # The next continued stay at the new level changes nothing.
    services.placement_sign(
        placement=_continued_stay(
            patient, supervisor, actual_level="1", override_reason="PAYER_DECISION", override_note="Still OP."
        ),
        by=supervisor,
    )
    assert PlanReviewTrigger.objects.filter(episode=episode).count() == 1
