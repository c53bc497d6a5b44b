"""The intake pipeline: allowed transitions, history, admission, waitlist order."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError

from audit.models import Action, AuditEvent
from patients.models import TRANSITIONS, Referral, Stage, site_today
from patients.services import referral_advance, referral_create

pytestmark = pytest.mark.django_db

TO_PLACEMENT = [Stage.SCREENING_SCHEDULED, Stage.SCREENED, Stage.ASSESSED, Stage.PLACEMENT_DECIDED]


@pytest.fixture
def referral(patient, intake):
    return referral_create(
        patient=patient,
        source="hospital",
        received_on=site_today(patient.site) - timedelta(days=4),
        reason="Step-down after a hospital stay",
        by=intake,
    )


def walk(referral, stages, by):
    for stage in stages:
        referral = referral_advance(referral=referral, to_stage=stage, by=by)
    return referral


def test_it_records_each_step_with_who_and_when(referral, intake):
    referral = walk(referral, TO_PLACEMENT, intake)
    assert referral.stage == Stage.PLACEMENT_DECIDED
    steps = list(referral.events.values_list("from_stage", "to_stage", "by"))
    assert steps[0] == ("", Stage.RECEIVED, intake.pk)
    assert steps[-1] == (Stage.ASSESSED, Stage.PLACEMENT_DECIDED, intake.pk)
    assert len(steps) == 5
    event = AuditEvent.objects.filter(action=Action.UPDATE, object_id=str(referral.public_id)).first()
    assert event.changes == {
        "before": {"stage": "assessed", "waitlisted_at": None, "episode": None},
        "after": {"stage": "placement_decided", "waitlisted_at": None, "episode": None},
    }


def test_it_refuses_an_invalid_transition_with_a_clear_message(referral, intake):
    with pytest.raises(ValidationError) as exc:
        referral_advance(referral=referral, to_stage=Stage.ASSESSED, by=intake)
    message = exc.value.message_dict["to_stage"][0]
    assert "cannot move to “Assessed”" in message and "screening scheduled" in message
    referral.refresh_from_db()
    assert referral.stage == Stage.RECEIVED and referral.events.count() == 1


def test_it_refuses_an_unknown_stage(referral, intake):
    with pytest.raises(ValidationError):
        referral_advance(referral=referral, to_stage="teleported", by=intake)


def test_closed_referrals_go_nowhere(referral, intake):
    referral = referral_advance(referral=referral, to_stage=Stage.DECLINED, by=intake, note="Chose another program")
    for stage in Stage.values:
        with pytest.raises(ValidationError):
            referral_advance(referral=referral, to_stage=stage, by=intake)
    assert all(not TRANSITIONS[s] for s in (Stage.ADMITTED, Stage.DECLINED, Stage.CLOSED_NO_CONTACT))


def test_admission_opens_the_episode(referral, intake):
    referral = walk(referral, TO_PLACEMENT, intake)
    today = site_today(referral.site)
    referral = referral_advance(
        referral=referral, to_stage=Stage.ADMITTED, by=intake, admission_date=today, level_of_care="2.1"
    )
    assert referral.stage == Stage.ADMITTED
    assert referral.episode.is_open and referral.episode.admission_date == today
    assert referral.patient.episodes.open().get() == referral.episode


def test_admission_needs_a_date_and_saves_nothing_without_it(referral, intake):
    referral = walk(referral, TO_PLACEMENT, intake)
    with pytest.raises(ValidationError) as exc:
        referral_advance(referral=referral, to_stage=Stage.ADMITTED, by=intake)
    assert "admission_date" in exc.value.message_dict
    referral.refresh_from_db()
    assert referral.stage == Stage.PLACEMENT_DECIDED and not referral.patient.episodes.exists()


def test_admission_from_the_waitlist_needs_a_placement_decision(referral, intake):
    referral = referral_advance(referral=referral, to_stage=Stage.WAITLISTED, by=intake)
    with pytest.raises(ValidationError, match="placement decision"):
        referral_advance(
            referral=referral, to_stage=Stage.ADMITTED, by=intake, admission_date=site_today(referral.site)
        )
    referral = walk(referral, [Stage.SCREENING_SCHEDULED], intake)
    assert referral.waitlisted_at is None


def test_admission_refuses_a_second_open_episode(referral, intake):
    from patients.services import episode_admit

    episode_admit(patient=referral.patient, admission_date=site_today(referral.site), by=intake)
    referral = walk(referral, TO_PLACEMENT, intake)
    with pytest.raises(ValidationError, match="open episode"):
        referral_advance(
            referral=referral, to_stage=Stage.ADMITTED, by=intake, admission_date=site_today(referral.site)
        )
    referral.refresh_from_db()
    assert referral.stage == Stage.PLACEMENT_DECIDED


def test_the_waitlist_is_in_order_of_waiting(site, intake):
    from .factories import PatientFactory

    made = []
    for _ in range(3):
        r = referral_create(
            patient=PatientFactory(site=site), source="self", received_on=site_today(site), reason="x", by=intake
        )
        made.append(referral_advance(referral=r, to_stage=Stage.WAITLISTED, by=intake))
    assert list(Referral.objects.waitlist()) == made


def test_it_refuses_a_referral_dated_in_the_future(patient, intake):
    with pytest.raises(ValidationError) as exc:
        referral_create(
            patient=patient,
            source="self",
            received_on=site_today(patient.site) + timedelta(days=2),
            reason="x",
            by=intake,
        )
    assert "received_on" in exc.value.message_dict
