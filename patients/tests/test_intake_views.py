"""Intake board and referral pages: counts, waitlist order, transitions through the buttons."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from audit.models import Action, AuditEvent
from patients.models import Referral, Stage, site_today
from patients.services import referral_advance, referral_create
from users.models import Role

from .factories import PatientFactory
from .helpers import count_queries

pytestmark = pytest.mark.django_db
BOARD = "/intake/"


def new_referral(site, by, days_ago=0, **kwargs):
    return referral_create(
        patient=PatientFactory(site=site, **kwargs),
        source="self",
        received_on=site_today(site) - timedelta(days=days_ago),
        reason="Test",
        by=by,
    )


def test_the_board_counts_stages_and_orders_the_waitlist(client_as, site, other_site, intake):
    client = client_as(Role.INTAKE, user=intake)
    new_referral(site, intake, days_ago=9)
    screening = referral_advance(referral=new_referral(site, intake), to_stage=Stage.SCREENING_SCHEDULED, by=intake)
    waiting = [
        referral_advance(referral=new_referral(site, intake, 3), to_stage=Stage.WAITLISTED, by=intake) for _ in range(3)
    ]
    Referral.objects.filter(pk=waiting[0].pk).update(waitlisted_at=timezone.now() + timedelta(minutes=5))
    new_referral(other_site, intake)  # another site's referral stays off this board
    response = client.get(BOARD)
    counts = {c["stage"]: c["count"] for c in response.context["columns"]}
    assert counts[Stage.RECEIVED] == 1 and counts[Stage.SCREENING_SCHEDULED] == 1 and counts[Stage.WAITLISTED] == 3
    assert [r.pk for r in response.context["waitlist"]] == [waiting[1].pk, waiting[2].pk, waiting[0].pk]
    active = response.context["active"]
    assert [r.days for r in active] == [9, 0] and active[1].pk == screening.pk
    assert AuditEvent.objects.filter(action=Action.VIEW, object_type="patients.IntakeBoard").count() == 1


def test_the_board_query_count_does_not_grow(client_as, site, intake):
    client = client_as(Role.INTAKE, user=intake)
    new_referral(site, intake)
    referral_advance(referral=new_referral(site, intake), to_stage=Stage.WAITLISTED, by=intake)
    one = count_queries(lambda: client.get(BOARD))
    for n in range(19):
        referral = new_referral(site, intake, days_ago=n)
        if n % 2:
            referral_advance(referral=referral, to_stage=Stage.WAITLISTED, by=intake)
    twenty = count_queries(lambda: client.get(BOARD))
    assert one == twenty


def test_the_board_is_for_intake_managers(client_as):
    assert client_as(Role.CLINICIAN).get(BOARD).status_code == 200
    assert client_as(Role.DIRECTOR).get(BOARD).status_code == 403


def test_the_referral_page_moves_the_referral(client_as, site, intake):
    client = client_as(Role.INTAKE, user=intake)
    referral = new_referral(site, intake)
    url = reverse("intake:referral", args=[referral.public_id])
    page = client.get(url)
    assert [value for value, _ in page.context["advance_form"].fields["to_stage"].choices][
        0
    ] == Stage.SCREENING_SCHEDULED
    response = client.post(
        reverse("intake:referral_advance", args=[referral.public_id]), {"to_stage": "screening_scheduled"}
    )
    assert response.status_code == 302
    referral.refresh_from_db()
    assert referral.stage == Stage.SCREENING_SCHEDULED


def test_an_invalid_transition_shows_the_message_and_changes_nothing(client_as, site, intake):
    client = client_as(Role.INTAKE, user=intake)
    referral = new_referral(site, intake)
    response = client.post(reverse("intake:referral_advance", args=[referral.public_id]), {"to_stage": "admitted"})
    assert response.status_code == 200
    assert "cannot move to “Admitted”" in " ".join(response.context["advance_form"].errors["to_stage"])
    referral.refresh_from_db()
    assert referral.stage == Stage.RECEIVED
    response = client.post(reverse("intake:referral_advance", args=[referral.public_id]), {"to_stage": "assessed"})
    assert "to_stage" in response.context["advance_form"].errors


def test_intake_staff_admit_through_the_referral(client_as, site, intake, make_staff):
    counselor = make_staff(Role.CLINICIAN)
    client = client_as(Role.INTAKE, user=intake)
    referral = new_referral(site, intake)
    for stage in (Stage.SCREENING_SCHEDULED, Stage.SCREENED, Stage.ASSESSED, Stage.PLACEMENT_DECIDED):
        referral = referral_advance(referral=referral, to_stage=stage, by=intake)
    url = reverse("intake:referral_advance", args=[referral.public_id])
    response = client.post(
        url, {"to_stage": "admitted", "admission_date": "", "level_of_care": "2.1", "level_of_care_edition": "3"}
    )
    assert "admission_date" in response.context["admit_form"].errors
    response = client.post(
        url,
        {
            "to_stage": "admitted",
            "admission_date": site_today(site).isoformat(),
            "level_of_care": "2.1",
            "level_of_care_edition": "3",
            "primary_counselor": counselor.pk,
        },
    )
    assert response.status_code == 302
    referral.refresh_from_db()
    assert referral.stage == Stage.ADMITTED and referral.episode.primary_counselor == counselor


def test_a_second_open_episode_is_refused_on_the_admit_page(client_as, patient, intake):
    client = client_as(Role.INTAKE, user=intake)
    url = reverse("patients:episode_admit", args=[patient.public_id])
    data = {
        "admission_date": site_today(patient.site).isoformat(),
        "level_of_care": "2.1",
        "level_of_care_edition": "3",
    }
    assert client.post(url, data).status_code == 302
    response = client.post(url, data)
    assert "already has an open episode" in " ".join(response.context["form"].non_field_errors())
    assert patient.episodes.count() == 1


def test_a_clinician_discharges_through_the_page(client_as, patient, intake):
    from patients.services import episode_admit

    episode = episode_admit(patient=patient, admission_date=site_today(patient.site) - timedelta(days=3), by=intake)
    client = client_as(Role.CLINICIAN)
    url = reverse("patients:episode_discharge", args=[patient.public_id, episode.public_id])
    response = client.post(
        url,
        {"discharge_date": (site_today(patient.site) - timedelta(days=5)).isoformat(), "discharge_type": "completed"},
    )
    assert "discharge_date" in response.context["form"].errors
    response = client.post(url, {"discharge_date": site_today(patient.site).isoformat(), "discharge_type": "completed"})
    assert response.status_code == 302
    episode.refresh_from_db()
    assert not episode.is_open
