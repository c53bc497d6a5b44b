"""episode_admit / episode_discharge: one open episode (service and database), dates, length of stay."""

from datetime import timedelta

import pytest
from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.db import IntegrityError, transaction

from audit.models import Action, AuditEvent
from patients.models import Episode, site_today
from patients.services import episode_admit, episode_discharge
from users.models import Role

from .factories import EpisodeFactory

pytestmark = pytest.mark.django_db


def test_it_admits_and_audits(patient, intake):
    today = site_today(patient.site)
    episode = episode_admit(patient=patient, admission_date=today, by=intake, level_of_care="2.5")
    assert episode.is_open and episode.level_of_care == "2.5" and episode.level_of_care_edition == "3"
    event = AuditEvent.objects.get(action=Action.CREATE, object_id=str(episode.public_id))
    assert event.changes["after"]["level_of_care"] == "2.5"
    assert event.patient_ref == str(patient.public_id)


def test_it_refuses_a_second_open_episode(patient, intake):
    today = site_today(patient.site)
    episode_admit(patient=patient, admission_date=today - timedelta(days=3), by=intake)
    with pytest.raises(ValidationError) as exc:
        episode_admit(patient=patient, admission_date=today, by=intake)
    assert "already has an open episode" in exc.value.message_dict[NON_FIELD_ERRORS][0]
    assert Episode.objects.count() == 1


def test_the_database_itself_refuses_a_second_open_episode(patient):
    EpisodeFactory(patient=patient)
    with pytest.raises(IntegrityError), transaction.atomic():
        EpisodeFactory(patient=patient)
    # A discharged episode does not count.
    EpisodeFactory(patient=patient, discharge_date=site_today(patient.site), discharge_type="completed")


def test_the_database_refuses_a_discharge_before_admission(patient):
    with pytest.raises(IntegrityError), transaction.atomic():
        EpisodeFactory(
            patient=patient,
            discharge_date=site_today(patient.site) - timedelta(days=60),
            discharge_type="completed",
        )


def test_readmission_opens_a_new_episode(patient, intake, make_staff):
    counselor = make_staff(Role.CLINICIAN)
    today = site_today(patient.site)
    first = episode_admit(patient=patient, admission_date=today - timedelta(days=40), by=intake)
    episode_discharge(
        episode=first, discharge_date=today - timedelta(days=10), discharge_type="against_advice", by=counselor
    )
    second = episode_admit(patient=patient, admission_date=today, by=intake)
    assert second.pk != first.pk
    assert list(patient.episodes.open()) == [second]
    first.refresh_from_db()
    assert first.discharge_type == "against_advice" and first.length_of_stay == 30


def test_it_refuses_readmission_before_the_last_discharge(patient, intake, clinician):
    today = site_today(patient.site)
    first = episode_admit(patient=patient, admission_date=today - timedelta(days=40), by=intake)
    episode_discharge(
        episode=first, discharge_date=today - timedelta(days=10), discharge_type="completed", by=clinician
    )
    with pytest.raises(ValidationError) as exc:
        episode_admit(patient=patient, admission_date=today - timedelta(days=20), by=intake)
    assert "admission_date" in exc.value.message_dict


def test_it_refuses_an_admission_in_the_future(patient, intake):
    with pytest.raises(ValidationError) as exc:
        episode_admit(patient=patient, admission_date=site_today(patient.site) + timedelta(days=1), by=intake)
    assert "future" in exc.value.message_dict["admission_date"][0]


def test_it_refuses_a_level_from_the_wrong_edition(patient, intake):
    with pytest.raises(ValidationError) as exc:
        episode_admit(
            patient=patient,
            admission_date=site_today(patient.site),
            by=intake,
            level_of_care="3.3",
            level_of_care_edition="4",
        )
    assert "level_of_care" in exc.value.message_dict
    episode = episode_admit(
        patient=patient,
        admission_date=site_today(patient.site),
        by=intake,
        level_of_care="1.5",
        level_of_care_edition="4",
    )
    assert "4th edition" in episode.level_label


def test_it_refuses_a_counselor_from_another_site(patient, intake, make_staff, other_site):
    elsewhere = make_staff(Role.CLINICIAN, at=other_site)
    with pytest.raises(ValidationError) as exc:
        episode_admit(patient=patient, admission_date=site_today(patient.site), by=intake, primary_counselor=elsewhere)
    assert "primary_counselor" in exc.value.message_dict


def test_it_refuses_a_discharge_before_admission(patient, intake, clinician):
    today = site_today(patient.site)
    episode = episode_admit(patient=patient, admission_date=today - timedelta(days=5), by=intake)
    with pytest.raises(ValidationError) as exc:
        episode_discharge(
            episode=episode, discharge_date=today - timedelta(days=6), discharge_type="completed", by=clinician
        )
    assert "before the admission" in exc.value.message_dict["discharge_date"][0]
    episode.refresh_from_db()
    assert episode.is_open


def test_it_refuses_a_discharge_in_the_future(patient, intake, clinician):
    today = site_today(patient.site)
    episode = episode_admit(patient=patient, admission_date=today - timedelta(days=5), by=intake)
    with pytest.raises(ValidationError) as exc:
        episode_discharge(
            episode=episode, discharge_date=today + timedelta(days=1), discharge_type="completed", by=clinician
        )
    assert "future" in exc.value.message_dict["discharge_date"][0]


def test_it_needs_a_discharge_type(patient, intake, clinician):
    today = site_today(patient.site)
    episode = episode_admit(patient=patient, admission_date=today - timedelta(days=5), by=intake)
    with pytest.raises(ValidationError) as exc:
        episode_discharge(episode=episode, discharge_date=today, discharge_type="", by=clinician)
    assert "discharge_type" in exc.value.message_dict


def test_it_discharges_once_with_before_and_after(patient, intake, clinician):
    today = site_today(patient.site)
    episode = episode_admit(patient=patient, admission_date=today - timedelta(days=5), by=intake)
    episode_discharge(episode=episode, discharge_date=today, discharge_type="step_down", by=clinician, summary="Done.")
    event = AuditEvent.objects.filter(action=Action.UPDATE, object_id=str(episode.public_id)).get()
    assert event.changes["before"]["discharge_date"] is None
    assert event.changes["after"]["discharge_type"] == "step_down"
    with pytest.raises(ValidationError, match="already discharged"):
        episode_discharge(episode=episode, discharge_date=today, discharge_type="completed", by=clinician)


@pytest.mark.parametrize("role", [Role.INTAKE, Role.DIRECTOR, Role.SITE_ADMIN, None])
def test_only_a_clinician_discharges(patient, intake, make_staff, role):
    """DOMAIN.md §6: "The system proposes; a clinician signs." The service checks the signer's
    ``episode.discharge`` capability itself (not only the page): intake, a director, a site
    admin and the system (``by=None``) are refused, and nothing changes."""
    today = site_today(patient.site)
    episode = episode_admit(patient=patient, admission_date=today - timedelta(days=5), by=intake)
    by = make_staff(role) if role else None
    with pytest.raises(PermissionDenied, match="counselor or clinical supervisor"):
        episode_discharge(episode=episode, discharge_date=today, discharge_type="completed", by=by, summary="x")
    episode.refresh_from_db()
    assert episode.is_open and not AuditEvent.objects.filter(action=Action.UPDATE).exists()


def test_a_counselor_at_another_site_cannot_discharge(patient, intake, make_staff, other_site):
    today = site_today(patient.site)
    episode = episode_admit(patient=patient, admission_date=today - timedelta(days=5), by=intake)
    elsewhere = make_staff(Role.CLINICIAN, at=other_site)
    with pytest.raises(PermissionDenied):
        episode_discharge(episode=episode, discharge_date=today, discharge_type="completed", by=elsewhere)
    episode.refresh_from_db()
    assert episode.is_open


def test_an_administrative_discharge_goes_through_the_signed_discharge(patient, intake, clinician):
    """DOMAIN.md §6: an administrative discharge "needs … referral and re-admission information,
    and a letter to the patient if contact is allowed". Those live on the aftercare plan
    (``plans.services.discharge_sign``), so this service alone refuses the type, naming it."""
    today = site_today(patient.site)
    episode = episode_admit(patient=patient, admission_date=today - timedelta(days=5), by=intake)
    with pytest.raises(ValidationError) as exc:
        episode_discharge(episode=episode, discharge_date=today, discharge_type="administrative", by=clinician)
    assert "re-admission" in exc.value.message_dict["discharge_type"][0]
    episode.refresh_from_db()
    assert episode.is_open


def test_length_of_stay_is_a_property_and_an_annotation(patient, site):
    today = site_today(site)
    open_ = EpisodeFactory(patient=patient, admission_date=today - timedelta(days=12))
    closed = EpisodeFactory(
        patient=patient,
        admission_date=today - timedelta(days=100),
        discharge_date=today - timedelta(days=58),
        discharge_type="completed",
    )
    assert open_.length_of_stay == 12 and closed.length_of_stay == 42
    rows = {e.pk: e.stay_length.days for e in Episode.objects.with_length_of_stay(today)}
    assert rows == {open_.pk: 12, closed.pk: 42}
    long_stays = Episode.objects.with_length_of_stay(today).filter(stay_length__gte=timedelta(days=30))
    assert list(long_stays) == [closed]
