"""Relapse-prevention plans: sections, consented support contacts only, signing, versions."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from patients.models import (
    REDISCLOSURE_STATEMENT,
    REFUSAL_STATEMENT,
    REVOCATION_STATEMENT,
    Consent,
    ConsentKind,
    SupportContact,
    site_today,
)
from plans import services
from plans.models import DEFAULT_CRISIS_LINE, PlanStatus, RPSupportContact

from .helpers import fill_rp_plan

pytestmark = pytest.mark.django_db


def consent_naming(patient, by, name):
    return Consent.objects.create(
        patient=patient,
        kind=ConsentKind.STANDARD,
        disclosing_party="The program",
        categories=["attendance"],
        recipients=name,
        purposes=["care_coordination"],
        expires_on=site_today(patient.site) + timedelta(days=365),
        revocation_acknowledged=True,
        revocation_statement=REVOCATION_STATEMENT,
        redisclosure_acknowledged=True,
        redisclosure_statement=REDISCLOSURE_STATEMENT,
        refusal_acknowledged=True,
        refusal_statement=REFUSAL_STATEMENT,
        signer_name="Testperson Example",
        signed_at=timezone.now(),
        recorded_by=by,
    )


@pytest.fixture
def consented(patient, counselor):
    consent = consent_naming(patient, counselor, "Morgan Sponsor")
    return SupportContact.objects.create(
        patient=patient, name="Morgan Sponsor", relationship="sponsor", may_contact=True, consent=consent
    )


@pytest.fixture
def not_consented(patient):
    return SupportContact.objects.create(patient=patient, name="Riley Friend", relationship="friend")


def test_emergency_steps_and_lapse_plan_are_prefilled(episode, counselor):
    plan = services.rp_plan_start(episode=episode, by=counselor)
    assert plan.crisis_line == DEFAULT_CRISIS_LINE and "988" in plan.crisis_line
    assert "911" in plan.emergency_number
    assert "Stop" in plan.lapse_plan and "without shame" in plan.lapse_plan
    assert "Urge surfing" in plan.cravings_plan


def test_only_consented_support_contacts_may_be_listed(episode, counselor, consented, not_consented, other_patient):
    plan = services.rp_plan_start(episode=episode, by=counselor)
    with pytest.raises(ValidationError) as exc:
        services.rp_contact_add(plan=plan, by=counselor, contact=not_consented)
    assert "has not agreed" in exc.value.message_dict["contact"][0]
    stranger = SupportContact.objects.create(patient=other_patient, name="Morgan Sponsor", relationship="sponsor")
    with pytest.raises(ValidationError, match="not in this patient's support network"):
        services.rp_contact_add(plan=plan, by=counselor, contact=stranger)
    services.rp_contact_add(plan=plan, by=counselor, contact=consented)
    assert list(plan.support_contacts.all()) == [consented]


def test_a_revoked_consent_blocks_signing_and_is_not_carried_into_the_next_version(episode, counselor, consented):
    plan = services.rp_plan_start(episode=episode, by=counselor)
    fill_rp_plan(plan, counselor)
    services.rp_contact_add(plan=plan, by=counselor, contact=consented)
    services.rp_plan_sign(plan=plan, by=counselor, patient_signed_name="Testperson Example")
    consented.consent.revoked_on = site_today(episode.site)
    consented.consent.revocation_method = "letter"
    consented.consent.save(update_fields=["revoked_on", "revocation_method"])
    v2 = services.rp_plan_start(episode=episode, by=counselor)
    assert not v2.listed_contacts.exists() and plan.listed_contacts.count() == 1


def test_strategies_are_matched_to_triggers(episode, counselor):
    plan = services.rp_plan_start(episode=episode, by=counselor)
    other = services.rp_plan_start(episode=_second_episode(episode, counselor), by=counselor)
    foreign = services.rp_trigger_add(plan=other, by=counselor, category="places", description="The bar")
    with pytest.raises(ValidationError) as exc:
        services.rp_strategy_add(plan=plan, by=counselor, trigger=foreign, strategy="Walk away")
    assert "trigger" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        services.rp_strategy_add(plan=plan, by=counselor, trigger=None, strategy="Walk away")
    assert "trigger" in exc.value.message_dict


def _second_episode(episode, counselor):
    from .helpers import make_episode, make_patient

    return make_episode(make_patient(episode.site), admitted=episode.admission_date, by=counselor)


def test_an_incomplete_plan_cannot_be_signed(episode, counselor):
    plan = services.rp_plan_start(episode=episode, by=counselor)
    with pytest.raises(ValidationError) as exc:
        services.rp_plan_sign(plan=plan, by=counselor, patient_signed_name="Testperson Example")
    text = " ".join(exc.value.messages)
    assert "at least one trigger" in text and "review date" in text and "naloxone" in text
    trigger = services.rp_trigger_add(plan=plan, by=counselor, category="people", description="Old friends")
    with pytest.raises(ValidationError, match="coping strategy to every trigger"):
        services.rp_plan_sign(plan=plan, by=counselor, patient_signed_name="Testperson Example")
    assert trigger.strategies.count() == 0
    plan.refresh_from_db()
    assert plan.status == PlanStatus.DRAFT


def test_review_date_and_naloxone_rules(episode, counselor):
    plan = services.rp_plan_start(episode=episode, by=counselor)
    with pytest.raises(ValidationError) as exc:
        services.rp_plan_update(plan=plan, by=counselor, review_date=plan.plan_date)
    assert "review_date" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        services.rp_plan_update(plan=plan, by=counselor, naloxone_on_hand=False, naloxone_who_knows="My sister")
    assert "naloxone_who_knows" in exc.value.message_dict


def test_signing_locks_the_version_and_a_review_copies_it(episode, counselor):
    plan = services.rp_plan_start(episode=episode, by=counselor)
    trigger = fill_rp_plan(plan, counselor)
    plan = services.rp_plan_sign(plan=plan, by=counselor, patient_declined_reason="Will sign at the next session")
    assert plan.status == PlanStatus.SIGNED
    with pytest.raises(ValidationError, match="cannot be changed"):
        services.rp_plan_update(plan=plan, by=counselor, meetings="More meetings")
    with pytest.raises(ValidationError, match="cannot be changed"):
        services.plan_part_remove(part=trigger, by=counselor)
    v2 = services.rp_plan_start(episode=episode, by=counselor)
    assert v2.version == 2 and v2.review_date is None
    assert v2.strategies.get().trigger.copied_from == trigger
    fill_rp_plan(v2, counselor)
    services.rp_plan_sign(plan=v2, by=counselor, patient_signed_name="Testperson Example")
    plan.refresh_from_db()
    assert plan.status == PlanStatus.SUPERSEDED
    assert RPSupportContact.objects.count() == 0
