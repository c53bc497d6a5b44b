"""Demo assessments for ``manage.py seed_demo``: scores over time for the admitted demo patients
(so the trend charts have data), one signed placement and one acknowledged safety alert.
Built through the services; idempotent (a patient who already has responses is left alone)."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from notifications.models import Alert
from notifications.services import alert_acknowledge
from patients.models import Episode
from users.models import Membership, Role

from . import services

# Weekly PHQ-9 / GAD-7 / BAM answer sets, improving over the stay (fake data).
PHQ9_WEEKS = [
    [2, 2, 2, 2, 1, 2, 1, 1, 0],
    [2, 1, 2, 1, 1, 1, 1, 1, 0],
    [1, 1, 1, 1, 1, 1, 0, 0, 0],
    [1, 0, 1, 1, 0, 0, 0, 0, 0],
]
GAD7_WEEKS = [[2, 2, 2, 1, 1, 2, 1], [1, 1, 1, 1, 0, 1, 1]]
BAM_WEEKS = [
    [2, 3, 3, 2, 1, 2, 1, 0, 0, 0, 0, 0, 0, 3, 1, 1, 2, 1, 1, 0, 3, 1, 1],
    [1, 2, 2, 1, 0, 0, *([None] * 7), 2, 2, 2, 1, 2, 2, 4, 2, 2, 2],
    [1, 1, 1, 0, None, 0, *([None] * 7), 1, 3, 3, 0, 2, 3, 4, 1, 3, 3],
]
ITEM9_POSITIVE = [1, 1, 1, 1, 0, 1, 0, 0, 1]
CSSRS_LOW = [True, False, None, None, None, False, None]
IOP_RATINGS = {"d1_rating": 1, "d2_rating": 1, "d3_rating": 2, "d4_rating": 2, "d5_rating": 2, "d6_rating": 1}


def seed(stdout, context: dict) -> dict:
    episodes = (
        Episode.objects.open()
        .filter(patient__deleted_at__isnull=True, primary_counselor__isnull=False)
        .select_related("patient__site", "primary_counselor")
        .order_by("patient__site__name", "patient__legal_last_name")
    )
    seeded = 0
    for index, episode in enumerate(episodes):
        patient, counselor = episode.patient, episode.primary_counselor
        if patient.assessment_responses.exists():
            continue
        seeded += 1
        admitted = timezone.make_aware(
            timezone.datetime.combine(episode.admission_date, timezone.datetime.min.time()).replace(hour=10),
            patient.site.zone,
        )
        for week, answers in enumerate(PHQ9_WEEKS):
            at = admitted + timedelta(days=7 * week)
            if at < timezone.now():
                services.assessment_record(
                    patient=patient,
                    instrument_code="PHQ-9",
                    answers=answers,
                    by=counselor,
                    administered_at=at,
                    context="intake" if week == 0 else "weekly",
                )
        for week, answers in enumerate(GAD7_WEEKS):
            services.assessment_record(
                patient=patient,
                instrument_code="GAD-7",
                answers=answers,
                by=counselor,
                administered_at=admitted + timedelta(days=14 * week),
                context="intake" if week == 0 else "weekly",
            )
        for week, answers in enumerate(BAM_WEEKS):
            services.assessment_record(
                patient=patient,
                instrument_code="BAM",
                answers=answers,
                by=counselor,
                administered_at=admitted + timedelta(days=7 * week + 1),
                context="weekly",
            )
        if index == 0:
            placement = services.placement_create(
                patient=patient,
                by=counselor,
                placement_type="initial",
                actual_level="2.1",
                d3_note="Depressed mood, no safety concerns at intake.",
                **IOP_RATINGS,
            )
            services.placement_sign(placement=placement, by=counselor)
        if index == 1:
            flagged = services.assessment_record(
                patient=patient,
                instrument_code="PHQ-9",
                answers=ITEM9_POSITIVE,
                by=counselor,
                administered_at=admitted + timedelta(days=3),
                context="ad_hoc",
            )
            services.assessment_record(
                patient=patient,
                instrument_code="C-SSRS",
                answers=CSSRS_LOW,
                by=counselor,
                administered_at=admitted + timedelta(days=3, minutes=20),
                context="ad_hoc",
            )
            supervisor = (
                Membership.objects.active()
                .filter(site=patient.site, role=Role.SUPERVISOR)
                .select_related("user")
                .first()
            )
            alert = Alert.objects.about("assessments.AssessmentResponse", flagged.public_id).get()
            alert_acknowledge(
                alert=alert,
                by=supervisor.user if supervisor else counselor,
                action_taken="cssrs_administered",
                action_note="Demo: C-SSRS screen given the same session (low risk); safety plan reviewed.",
            )
            services.assessment_close(response=flagged, by=counselor)
    stdout.write(f"  assessments: responses over time for {seeded} admitted demo patients")
    return {}
