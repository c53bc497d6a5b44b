"""The per-diem (H0015) export: one row per patient per billable day (DOMAIN.md §10).

A day is billable when, in the site's calendar day, the patient's attended clinical minutes
reach ``PER_DIEM_MIN_MINUTES`` (present, late, left early, telehealth; sessions not cancelled),
the level of care is IOP 2.1 (the highest track level of that day's sessions, else the
episode's level at admission), and the episode had a signed, individualized treatment plan in
effect that day (a version signed on or before it; later versions supersede earlier ones).
The rules and the queries live in ``billing.selectors`` (authorizations count their units used
with them); this module shapes the CSV.

Each row documents the day as H0015's descriptor asks: the date, the total service time, the
modalities delivered (the kinds of sessions attended), the treatment plan in effect (version and
signed date; no names), and for the claim the service code (from the catalogue for the payer of
the authorization covering the day, else ``PER_DIEM_SERVICE_CODE``), modifier, revenue and
condition codes, rate, payer, authorization reference, units authorized and this day's unit
under it. A day beyond the authorized units is flagged, never dropped. The first five columns
keep their place from the earlier export.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

from django.db.models import QuerySet

from billing.selectors import ClaimLine, billable_days, claim_lines, default_service_code

COLUMNS = [
    "MRN",
    "Date",
    "Attended minutes",
    "Service code",
    "Level of care",
    "Modalities",
    "Treatment plan version",
    "Treatment plan signed on",
    "Modifier",
    "Revenue code",
    "Condition code",
    "Rate",
    "Payer",
    "Authorization reference",
    "Authorized level of care",
    "Units authorized",
    "Units used",
    "Flags",
]


def service_code() -> str:
    """The per-diem code used when no authorization covers a day."""
    return default_service_code()


def per_diem_days(site_id: int, start: date, end: date) -> QuerySet:
    """Rows of ``patient__mrn``, ``patient__public_id``, ``episode_id``, ``day``, ``minutes``,
    ``level``, ``plan_version``, ``plan_signed_on`` for the site's billable days. One query."""
    return billable_days(start, end, site_id=site_id)


def per_diem_lines(site_id: int, start: date, end: date) -> list[ClaimLine]:
    """The billable days with everything the export shows (a fixed number of queries)."""
    return claim_lines(site_id, start, end)


def csv_row(line: ClaimLine) -> list:
    auth = line.authorization
    return [
        line.mrn,
        line.day.isoformat(),
        line.minutes,
        line.code,
        line.level,
        "; ".join(line.modalities),
        line.plan_version,
        line.plan_signed_on.isoformat(),
        line.modifier,
        line.revenue_code,
        line.condition_code,
        "" if line.rate is None else f"{line.rate:.2f}",
        line.payer,
        auth.reference_number if auth else "",
        auth.authorized_level if auth else "",
        auth.units_authorized if auth else "",
        "" if line.units_used is None else line.units_used,
        "; ".join(line.flags),
    ]


def csv_rows(lines: list[ClaimLine]) -> Iterator[list]:
    return (csv_row(line) for line in lines)
