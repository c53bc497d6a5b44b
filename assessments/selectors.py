"""Reads across patients and assessments: re-assessments due and decision-support queries."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db.models import Max, Q
from django.utils import timezone

from patients.models import Episode, Patient

DEFAULT_CADENCE_DAYS = {"PHQ-9": 30, "GAD-7": 30, "BAM": 7}


def cadence_days() -> dict[str, int]:
    """``REASSESSMENT_CADENCE_DAYS``: instrument code → days between administrations."""
    return dict(getattr(settings, "REASSESSMENT_CADENCE_DAYS", DEFAULT_CADENCE_DAYS))


@dataclass(frozen=True)
class DueItem:
    patient: Patient
    episode: Episode
    instrument: str
    cadence_days: int
    last_at: datetime | None
    due_on: date
    today: date

    @property
    def overdue_days(self) -> int:
        return (self.today - self.due_on).days

    @property
    def is_due(self) -> bool:
        return self.due_on <= self.today

    @property
    def slug(self) -> str:
        return self.instrument.lower()


def assessments_due(
    site_ids: Iterable[int],
    today: date,
    *,
    counselor=None,
    patient: Patient | None = None,
    include_upcoming: bool = False,
) -> list[DueItem]:
    """Re-assessments due for patients with an open episode at ``site_ids``, one query.

    For each instrument in the cadence, the next administration is due ``cadence`` days after
    the last one (in the site's calendar), or on the admission day when it was never given.
    ``counselor`` keeps the patients whose primary counselor (patient's or episode's) is that
    user; ``patient`` keeps one patient. Without ``include_upcoming`` only items due on or
    before ``today`` are returned. Sorted most overdue first.
    """
    cadence = cadence_days()
    codes = sorted(cadence)
    episodes = Episode.objects.open().filter(site_id__in=list(site_ids), patient__deleted_at__isnull=True)
    if counselor is not None:
        episodes = episodes.filter(Q(primary_counselor=counselor) | Q(patient__primary_counselor=counselor))
    if patient is not None:
        episodes = episodes.filter(patient=patient)
    annotations = {
        f"last_{index}": Max(
            "patient__assessment_responses__administered_at",
            filter=Q(patient__assessment_responses__instrument=code),
        )
        for index, code in enumerate(codes)
    }
    rows = episodes.annotate(**annotations).select_related("patient", "site").order_by("patient_id")
    items: list[DueItem] = []
    for episode in rows:
        zone = episode.site.zone
        for index, code in enumerate(codes):
            last = getattr(episode, f"last_{index}")
            if last is None:
                due_on = episode.admission_date
            else:
                due_on = timezone.localtime(last, zone).date() + timedelta(days=cadence[code])
            item = DueItem(
                patient=episode.patient,
                episode=episode,
                instrument=code,
                cadence_days=cadence[code],
                last_at=last,
                due_on=due_on,
                today=today,
            )
            if include_upcoming or item.is_due:
                items.append(item)
    items.sort(key=lambda i: (i.due_on, i.patient.legal_last_name, i.instrument))
    return items
