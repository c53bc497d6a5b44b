"""Reads across patients and assessments: re-assessments due and decision-support queries."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db.models import Max, Q
from django.utils import timezone

from patients.models import Episode, Patient

from .instruments import INSTRUMENTS
from .models import InstrumentSetting

DEFAULT_CADENCE_DAYS = {"PHQ-9": 30, "GAD-7": 30, "BAM": 7}


def cadence_days() -> dict[str, int]:
    """The built-in cadence, ``REASSESSMENT_CADENCE_DAYS``: instrument code → days between
    administrations. A site's instrument settings adjust it (``site_cadences``)."""
    return dict(getattr(settings, "REASSESSMENT_CADENCE_DAYS", DEFAULT_CADENCE_DAYS))


def _settings_by_site(site_ids: Iterable[int]) -> dict[int, dict[str, InstrumentSetting]]:
    found: dict[int, dict[str, InstrumentSetting]] = {site_id: {} for site_id in site_ids}
    for row in InstrumentSetting.objects.filter(site_id__in=list(found)):
        found[row.site_id][row.instrument] = row
    return found


def site_cadences(site_ids: Iterable[int]) -> dict[int, dict[str, int]]:
    """Per site: instrument code → days between administrations, one query.

    The built-in cadence, with each site's interval where it set one (which also schedules an
    instrument the built-in cadence leaves out); instruments the site turned off are left out,
    since they cannot be administered there.
    """
    cadences = {}
    for site_id, rows in _settings_by_site(site_ids).items():
        cadence = cadence_days()
        for code, row in rows.items():
            if not row.enabled:
                cadence.pop(code, None)
            elif row.reassessment_interval_days:
                cadence[code] = row.reassessment_interval_days
        cadences[site_id] = cadence
    return cadences


def cadence_codes(cadences: dict[int, dict[str, int]]) -> list[str]:
    """Every instrument scheduled at any of the sites, sorted: the order of ``last_<i>`` annotations."""
    return sorted({code for cadence in cadences.values() for code in cadence})


def offered_instruments(site_id: int) -> list[str]:
    """Codes of the instruments offered for new administrations at the site, in library order."""
    off = set(InstrumentSetting.objects.filter(site_id=site_id, enabled=False).values_list("instrument", flat=True))
    return [code for code in INSTRUMENTS if code not in off]


def instrument_offered(site_id: int, code: str) -> bool:
    return not InstrumentSetting.objects.filter(site_id=site_id, instrument=code, enabled=False).exists()


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
    """Re-assessments due for patients with an open episode at ``site_ids``, two queries.

    For each instrument in the site's cadence (``site_cadences``), the next administration is
    due ``cadence`` days after the last one (in the site's calendar), or on the admission day
    when it was never given.
    ``counselor`` keeps the patients whose primary counselor (patient's or episode's) is that
    user; ``patient`` keeps one patient. Without ``include_upcoming`` only items due on or
    before ``today`` are returned. Sorted most overdue first.
    """
    site_ids = list(site_ids)
    cadences = site_cadences(site_ids)
    codes = cadence_codes(cadences)
    if not codes:
        return []  # every scheduled instrument is turned off at these sites
    episodes = Episode.objects.open().filter(site_id__in=site_ids, patient__deleted_at__isnull=True)
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
        cadence = cadences[episode.site_id]
        for index, code in enumerate(codes):
            if code not in cadence:
                continue
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
