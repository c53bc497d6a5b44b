"""Billable IOP days and what a claim needs for each (DOMAIN.md §10).

A day is billable per diem when, in the site's calendar day:

- the patient's attended minutes (present, late, left early, telehealth; sessions not cancelled)
  reach ``PER_DIEM_MIN_MINUTES``;
- the level of care is IOP 2.1 (the highest track level of that day's sessions, else the
  episode's level at admission);
- the episode had a signed, individualized treatment plan in effect that day: a version signed
  on or before the day (a later version supersedes an earlier one from its own signing date).

``billable_days`` is one grouped query (the plan rule is an EXISTS in WHERE; the version in
effect and its signed date are correlated subqueries inside the aggregate, which PostgreSQL
and SQLite both accept). ``claim_lines`` adds, in a fixed number of further queries whatever the
number of rows, the modalities delivered, the authorization covering the day (its reference and
the running count of units used), the service code for that payer from the catalogue and its
rate. Units used are never typed: they are these billable days, counted within an
authorization's dates.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from django.conf import settings
from django.db.models import Exists, F, Max, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce

from plans.models import PlanStatus, TreatmentPlan
from scheduling.models import LevelOfCare, SessionStatus
from sessions.models import ATTENDED_VALUES, Attendance
from users.expressions import LocalDate

from .models import Authorization, PayerRate, ServiceCode, UnitType, overlapping_q

IN_EFFECT = [PlanStatus.SIGNED, PlanStatus.SUPERSEDED]

FLAG_OVER_UNITS = "over authorized units"
FLAG_NOT_AUTHORIZED = "no authorization covers this day"
FLAG_NO_RATE = "no rate on file for this payer and code"
FLAG_BELOW_MINIMUM = "below the code's minimum minutes"


def default_service_code() -> str:
    return getattr(settings, "PER_DIEM_SERVICE_CODE", "H0015")


def _attended(*, site_id: int | None = None, episode_ids: Iterable[int] | None = None) -> QuerySet[Attendance]:
    rows = Attendance.objects.filter(
        session__status=SessionStatus.SCHEDULED,
        status__in=ATTENDED_VALUES,
        patient__deleted_at__isnull=True,
    )
    if site_id is not None:
        rows = rows.filter(session__site_id=site_id)
    if episode_ids is not None:
        rows = rows.filter(episode_id__in=list(episode_ids))
    return rows.annotate(day=LocalDate(F("session__starts_at"), "session__site__time_zone"))


def _plan_in_effect() -> QuerySet[TreatmentPlan]:
    """The episode's treatment-plan version in effect on the outer row's ``day``."""
    return TreatmentPlan.objects.filter(
        episode_id=OuterRef("episode_id"), status__in=IN_EFFECT, signed_on__lte=OuterRef("day")
    ).order_by("-version")


def billable_days(
    start: date, end: date, *, site_id: int | None = None, episode_ids: Iterable[int] | None = None
) -> QuerySet:
    """Rows of ``episode_id``, ``patient__mrn``, ``patient__public_id``, ``day``, ``minutes``,
    ``level``, ``plan_version``, ``plan_signed_on`` for every billable day in ``start``..``end``
    (inclusive), by MRN and day. One query."""
    plan = _plan_in_effect()
    return (
        _attended(site_id=site_id, episode_ids=episode_ids)
        .filter(day__range=(start, end))
        .filter(Exists(plan))
        .values("episode_id", "patient__mrn", "patient__public_id", "day")
        .annotate(
            minutes=Sum("minutes_attended"),
            level=Coalesce(Max("session__track__level_of_care"), Max("episode__level_of_care")),
            plan_version=Max(Subquery(plan.values("version")[:1])),
            plan_signed_on=Max(Subquery(plan.values("signed_on")[:1])),
        )
        .filter(minutes__gte=settings.PER_DIEM_MIN_MINUTES, level=LevelOfCare.IOP)
        .order_by("patient__mrn", "day")
    )


def modalities_by_day(start: date, end: date, *, site_id: int) -> dict[tuple[int, date], list[str]]:
    """(episode id, day) → the kinds of sessions attended that day (``group``, ``individual`` …),
    sorted. One query."""
    found: dict[tuple[int, date], set[str]] = defaultdict(set)
    rows = (
        _attended(site_id=site_id)
        .filter(day__range=(start, end))
        .order_by()
        .values_list("episode_id", "day", "session__kind")
        .distinct()
    )
    for episode_id, day, kind in rows:
        found[(episode_id, day)].add(kind)
    return {key: sorted(kinds) for key, kinds in found.items()}


def _days_by_episode(rows: Iterable[dict]) -> dict[int, list[date]]:
    days: dict[int, list[date]] = defaultdict(list)
    for row in rows:
        days[row["episode_id"]].append(row["day"])
    for listed in days.values():
        listed.sort()
    return days


def units_used(authorizations: Iterable[Authorization]) -> dict[int, int]:
    """Authorization pk → billable per-diem days of its episode within its dates. One query for
    any number of authorizations (none for an empty list)."""
    auths = list(authorizations)
    if not auths:
        return {}
    days = _days_by_episode(
        billable_days(
            min(a.start_date for a in auths),
            max(a.end_date for a in auths),
            episode_ids={a.episode_id for a in auths},
        )
    )
    return {a.pk: sum(1 for d in days.get(a.episode_id, []) if a.covers(d)) for a in auths}


def with_units_used(authorizations: Iterable[Authorization]) -> list[Authorization]:
    """The authorizations with ``units_used`` filled in (one query)."""
    auths = list(authorizations)
    counts = units_used(auths)
    for a in auths:
        a._units_used = counts[a.pk]
    return auths


# --- claim lines (the per-diem export) ---------------------------------------------------------------


@dataclass
class ClaimLine:
    """One billable day, with what a claim needs. No names: the MRN identifies the patient."""

    mrn: str
    patient_public_id: str
    episode_id: int
    day: date
    minutes: int
    level: str
    plan_version: int
    plan_signed_on: date
    modalities: list[str] = field(default_factory=list)
    code: str = ""
    modifier: str = ""
    revenue_code: str = ""
    condition_code: str = ""
    rate: Decimal | None = None
    payer: str = ""
    authorization: Authorization | None = None
    units_used: int | None = None  # this day's unit under the authorization (1 = its first)
    over_units: bool = False  # beyond the authorized units: flagged, still exported
    flags: list[str] = field(default_factory=list)


def _pick_code(auth: Authorization, day: date, rates: list[PayerRate]) -> tuple[ServiceCode | None, PayerRate | None]:
    """The catalogue entry to bill a day under ``auth``: the one it authorized, else the payer's
    per-diem code in effect that day (the program's default code first when the payer pays
    several); with the payer's rate for it that day, if any."""
    applying = [r for r in rates if r.payer_id == auth.payer_id and r.applies_on(day)]
    if auth.service_code_id is not None:
        code = auth.service_code
    else:
        default = default_service_code()
        codes = sorted(
            {
                r.service_code
                for r in applying
                if r.service_code.unit_type == UnitType.PER_DIEM and r.service_code.is_active
            },
            key=lambda c: (c.code != default, c.code, c.modifier, c.claim_type),
        )
        code = codes[0] if codes else None
    rate = next((r for r in applying if code is not None and r.service_code_id == code.pk), None)
    return code, rate


def claim_lines(site_id: int, start: date, end: date) -> list[ClaimLine]:
    """Every billable day at the site in ``start``..``end`` with its modalities, treatment plan
    version, authorization (reference, running units used, over-units flag), service code,
    modifier, revenue code and rate. At most four queries, whatever the number of rows.

    A day beyond the authorized units is kept and flagged, never dropped; a day of an episode
    that has authorizations, none of which covers it, is flagged too. Without a covering
    authorization the code is ``PER_DIEM_SERVICE_CODE``."""
    auths = list(
        Authorization.objects.filter(site_id=site_id, episode__admission_date__lte=end)
        .filter(Q(episode__discharge_date__isnull=True) | Q(episode__discharge_date__gte=start))
        .select_related("payer", "service_code")
        .order_by("episode_id", "start_date", "pk")
    )
    covering = [a for a in auths if a.start_date <= end and a.end_date >= start]
    # Units used count from each authorization's first day, which may precede the range.
    first = min([start, *(a.start_date for a in covering)])
    rows = list(billable_days(first, end, site_id=site_id))
    days = _days_by_episode(rows)
    unit_of: dict[tuple[int, date], int] = {}
    for a in covering:
        for n, d in enumerate((d for d in days.get(a.episode_id, []) if a.covers(d)), start=1):
            unit_of[(a.pk, d)] = n
    rates: list[PayerRate] = []
    if covering:
        rates = list(
            PayerRate.objects.filter(payer_id__in={a.payer_id for a in covering})
            .filter(overlapping_q(start, end, start_field="effective_from", end_field="effective_to"))
            .select_related("service_code")
        )
    modalities = modalities_by_day(start, end, site_id=site_id)
    by_episode: dict[int, list[Authorization]] = defaultdict(list)
    for a in auths:
        by_episode[a.episode_id].append(a)

    lines = []
    for row in rows:
        if row["day"] < start:
            continue
        line = ClaimLine(
            mrn=row["patient__mrn"],
            patient_public_id=str(row["patient__public_id"]),
            episode_id=row["episode_id"],
            day=row["day"],
            minutes=row["minutes"],
            level=row["level"],
            plan_version=row["plan_version"],
            plan_signed_on=row["plan_signed_on"],
            modalities=modalities.get((row["episode_id"], row["day"]), []),
        )
        episode_auths = by_episode.get(line.episode_id, [])
        auth = next((a for a in episode_auths if a.covers(line.day)), None)
        if auth is None:
            line.code = default_service_code()
            if episode_auths:
                line.flags.append(FLAG_NOT_AUTHORIZED)
        else:
            code, rate = _pick_code(auth, line.day, rates)
            line.authorization = auth
            line.payer = auth.payer.name
            line.units_used = unit_of.get((auth.pk, line.day))
            if code is None:
                line.code = default_service_code()
            else:
                line.code, line.modifier = code.code, code.modifier
                line.revenue_code, line.condition_code = code.revenue_code, code.condition_code
                if code.minimum_minutes and line.minutes < code.minimum_minutes:
                    line.flags.append(f"{FLAG_BELOW_MINIMUM} ({code.minimum_minutes})")
            line.rate = rate.rate if rate is not None else None
            if rate is None:
                line.flags.append(FLAG_NO_RATE)
            if line.units_used is not None and line.units_used > auth.units_authorized:
                line.over_units = True
                line.flags.append(f"{FLAG_OVER_UNITS} ({line.units_used} of {auth.units_authorized})")
        lines.append(line)
    return lines


# --- utilization reviews due ---------------------------------------------------------------------

# The object type of a "utilization review due" task; its id is "<patient public id>:ur<authorization>:<due date>".
REVIEW_DUE_OBJECT = "billing.ReviewDue"


# How a pending review is shown (the page's badge; "due soon" is the alert's window).
OVERDUE, DUE_SOON, SCHEDULED = "overdue", "due soon", "scheduled"


def superseded(authorizations: Iterable[Authorization]) -> set[int]:
    """The pks of the authorizations another one of the list replaces: the same episode and payer,
    starting later. Its reviews are over: the later authorization carries the next one."""
    latest: dict[tuple[int, int], Authorization] = {}
    for auth in authorizations:
        key = (auth.episode_id, auth.payer_id)
        if key not in latest or (auth.start_date, auth.pk) > (latest[key].start_date, latest[key].pk):
            latest[key] = auth
    current = {a.pk for a in latest.values()}
    return {a.pk for a in authorizations if a.pk not in current}


def review_state(auth: Authorization, today: date, *, replaced: set[int]) -> str:
    """Overdue, due soon (within ``UR_REVIEW_ALERT_DAYS``, when the in-app task is raised) or
    scheduled, for the review pending on an open episode's authorization that no later one of
    the same payer replaced; "" when none is pending."""
    due = auth.next_review_date
    if due is None or not auth.episode.is_open or auth.pk in replaced:
        return ""
    if due < today:
        return OVERDUE
    if due <= today + timedelta(days=settings.UR_REVIEW_ALERT_DAYS):
        return DUE_SOON
    return SCHEDULED


@dataclass(frozen=True)
class ReviewDue:
    """The next utilization review pending on an open episode's authorization."""

    authorization: Authorization
    due_on: date

    @property
    def patient(self):
        return self.authorization.episode.patient

    def overdue(self, today: date) -> bool:
        return self.due_on < today


def reviews_due(site_ids: Iterable[int], today: date, *, horizon_days: int = 0) -> list[ReviewDue]:
    """The reviews pending (``review_state``) on or before ``today + horizon_days``, by due date.
    Two queries, whatever the number of rows; soft-deleted patients are left out."""
    auths = list(
        Authorization.objects.filter(
            site_id__in=list(site_ids),
            episode__discharge_date__isnull=True,
            episode__patient__deleted_at__isnull=True,
        )
        .select_related("episode__patient", "payer")
        .prefetch_related("reviews")
    )
    replaced = superseded(auths)
    horizon = today + timedelta(days=horizon_days)
    due = [
        ReviewDue(authorization=auth, due_on=auth.next_review_date)
        for auth in auths
        if review_state(auth, today, replaced=replaced) and auth.next_review_date <= horizon
    ]
    return sorted(due, key=lambda d: (d.due_on, d.patient.mrn))
