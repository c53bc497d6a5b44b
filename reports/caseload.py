"""The caseload: a clinician's open episodes with what needs doing, most urgent first.

The open episodes with their plans' status (``plans.selectors.with_plan_status``) and one
grouped query per kind of flag over them, after one read of the site's instrument settings, so the page costs the same
number of queries for 1 patient as for 500. Flags:

- ``safety``: open (unacknowledged) safety alerts about the patient at this site;
- ``no_shows``: no-show attendance in the last ``CASELOAD_NO_SHOW_DAYS`` days;
- ``under_last_week``: last ISO week (complete, in the site's zone) flagged under the minimum by
  ``sessions.selectors.weekly_hours``, the rules of the patient's hours page: the level of the
  week's latest enrollment (IOP adult 9 h, adolescent 6 h, PHP 20 h), not when a transition
  taper was active that week. This week's hours are shown beside it but not flagged: the week
  is not over;
- ``plan_due``: a treatment or relapse-prevention plan due on or before today (the rules of
  ``plans.selectors.plans_due``);
- ``reassess_due``: a re-assessment due on or before today (the site's cadence, as in
  ``assessments.selectors.assessments_due``: never given, or last given ≥ cadence days ago);
- ``unsigned``: draft progress notes of the episode and draft group notes the patient attended.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.db.models import (
    Count,
    DateTimeField,
    F,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
)

from assessments.models import AssessmentResponse
from assessments.selectors import cadence_codes, site_cadences
from notifications.models import Alert, AlertKind
from patients.models import Episode
from plans.selectors import open_episodes, plan_due_by, with_plan_status
from sessions.models import Attendance, AttendanceStatus, GroupNote, NoteStatus, ProgressNote
from sessions.selectors import UNDER_MINIMUM, PatientWeek, week_of, weekly_hours
from users.expressions import LocalDate

NO_SHOW_DAYS_DEFAULT = 14
FLAGS = ("safety", "no_shows", "under_last_week", "plan_due", "reassess_due", "unsigned")


def no_show_days() -> int:
    return int(getattr(settings, "CASELOAD_NO_SHOW_DAYS", NO_SHOW_DAYS_DEFAULT))


def plan_due_q(horizon: date) -> Q:
    """Open episodes with a plan due on or before ``horizon`` (over the annotations of
    ``episodes_with_plan_status``; the same rules as ``plans.selectors.plans_due``)."""
    initial_cutoff = horizon - timedelta(days=settings.PLAN_INITIAL_DUE_DAYS)
    review_cutoff = horizon - timedelta(days=settings.PLAN_REVIEW_INTERVAL_DAYS)
    return (
        Q(tp_trigger_on__isnull=False, tp_trigger_on__lte=horizon)
        | Q(rp_trigger_on__isnull=False, rp_trigger_on__lte=horizon)
        | Q(tp_signed_on__isnull=True, admission_date__lte=initial_cutoff)
        | Q(rp_signed_on__isnull=True, admission_date__lte=initial_cutoff)
        | Q(tp_signed_on__lte=review_cutoff)
        | Q(rp_review_date__lte=horizon)
    )


def reassessment_due_q(horizon: date, cadences: dict[int, dict[str, int]], prefix: str = "last_") -> Q:
    """Episodes with an instrument of their site's cadence (``site_cadences``) never given, or
    last given (in the site's calendar) at least its cadence before ``horizon``: due on or
    before ``horizon``. Over the annotations of ``with_last_administrations(…, cadences)``."""
    codes = cadence_codes(cadences)
    q = Q(pk__in=[])  # matches nothing: no site schedules anything
    for site_id, cadence in cadences.items():
        if not cadence:
            continue
        due = Q()
        for code, days in cadence.items():
            index = codes.index(code)
            due |= Q(**{f"{prefix}{index}__isnull": True}) | Q(
                **{f"{prefix}{index}_day__lte": horizon - timedelta(days=days)}
            )
        q |= Q(site_id=site_id) & due
    return q


def with_last_administrations(
    episodes: QuerySet[Episode], cadences: dict[int, dict[str, int]], prefix: str = "last_"
) -> QuerySet[Episode]:
    """Annotate ``last_<i>`` (timestamp) and ``last_<i>_day`` (site-local date) of the patient's
    latest administration of each instrument scheduled at any of the sites, in
    ``cadence_codes(cadences)`` order."""
    annotations = {}
    for index, code in enumerate(cadence_codes(cadences)):
        latest = (
            AssessmentResponse.objects.filter(patient=OuterRef("patient"), instrument=code)
            .order_by("-administered_at")
            .values("administered_at")[:1]
        )
        annotations[f"{prefix}{index}"] = Subquery(latest, output_field=DateTimeField())
    episodes = episodes.annotate(**annotations)
    return episodes.annotate(
        **{f"{name}_day": LocalDate(F(name), "site__time_zone") for name in annotations},
    )


@dataclass(frozen=True)
class Window:
    """The dates a caseload is computed for, in the site's zone."""

    today: date
    this_monday: date
    last_monday: date
    this_week_start: datetime
    next_week_start: datetime
    last_week_start: datetime
    no_show_since: datetime


def window_for(site, today: date, now: datetime) -> Window:
    zone = site.zone
    this_monday = today - timedelta(days=today.weekday())
    last_monday = this_monday - timedelta(days=7)

    def at(day: date) -> datetime:
        return datetime.combine(day, time.min, tzinfo=zone)

    return Window(
        today=today,
        this_monday=this_monday,
        last_monday=last_monday,
        this_week_start=at(this_monday),
        next_week_start=at(this_monday + timedelta(days=7)),
        last_week_start=at(last_monday),
        no_show_since=now - timedelta(days=no_show_days()),
    )


def caseload(site, window: Window, *, counselor=None) -> list[Episode]:
    """Open episodes at ``site`` (``counselor``'s own when given: the episode's primary
    counselor, or the patient's when the episode names none), each carrying the flags, and
    sorted by urgency: safety first, then no-shows, under-dosed weeks, plans, re-assessments
    and unsigned notes; then by name.

    A fixed number of queries however many patients: the site's instrument settings, the
    episodes, their plans and review requests, then one grouped query per kind of flag over
    those episodes, joined and sorted here. (One query with a correlated subquery per flag cost
    ~90 ms of query compilation per request and repeated the weekly-minutes subqueries in
    the sort; grouping reads each table once.)"""
    cadences = site_cadences([site.pk])
    episodes = open_episodes([site.pk])
    if counselor is not None:
        episodes = episodes.filter(
            Q(primary_counselor=counselor) | Q(primary_counselor__isnull=True, patient__primary_counselor=counselor)
        )
    rows = with_plan_status(episodes)
    for e in rows:
        e.plan_due = plan_due_by(e, window.today)
    if rows:
        _attach_flags(site, window, rows, cadences.get(site.pk, {}))
    rows.sort(key=_urgency)
    return rows


def _urgency(e: Episode) -> tuple:
    return (
        -e.safety,
        -e.no_shows,
        not e.under_last_week,
        not e.plan_due,
        not e.reassess_due,
        -e.unsigned,
        e.patient.legal_last_name.casefold(),
        e.patient.legal_first_name.casefold(),
        e.pk,
    )


def _attach_flags(site, window: Window, rows: list[Episode], cadence: dict[str, int]) -> None:
    """Set the flag attributes on ``rows`` (open episodes of ``site``): a fixed number of
    grouped queries, however many rows."""
    episode_ids = [e.pk for e in rows]
    patient_ids = {e.patient_id for e in rows}

    safety_count: dict[int, int] = {}
    safety_first: dict[int, object] = {}
    for patient_id, public_id in (
        Alert.objects.open()
        .filter(site=site, kind=AlertKind.SAFETY, patient_id__in=patient_ids)
        .by_urgency()
        .values_list("patient_id", "public_id")
    ):
        safety_count[patient_id] = safety_count.get(patient_id, 0) + 1
        safety_first.setdefault(patient_id, public_id)

    no_shows = dict(
        Attendance.objects.filter(
            episode_id__in=episode_ids,
            status=AttendanceStatus.NO_SHOW,
            session__starts_at__gte=window.no_show_since,
        )
        .order_by()
        .values("episode_id")
        .annotate(n=Count("pk"))
        .values_list("episode_id", "n")
    )
    # Weekly minutes, threshold and taper by the hours page's own rules (sessions.selectors), so
    # the caseload's "under the minimum" and the patient's hours page never disagree.
    last_week, this_week = week_of(window.last_monday), week_of(window.this_monday)
    hours = {
        (w.patient_id, (w.iso_year, w.week)): w
        for weeks in weekly_hours(patient_ids, [last_week, this_week]).values()
        for w in weeks
    }

    drafts = dict(
        ProgressNote.objects.filter(episode_id__in=episode_ids, status=NoteStatus.DRAFT)
        .order_by()
        .values("episode_id")
        .annotate(n=Count("pk"))
        .values_list("episode_id", "n")
    )
    # From the (few) draft group notes to the attendance of these episodes at their sessions.
    group_drafts = dict(
        Attendance.objects.filter(
            episode_id__in=episode_ids,
            session_id__in=GroupNote.objects.filter(status=NoteStatus.DRAFT).values("session_id"),
        )
        .order_by()
        .values("episode_id")
        .annotate(n=Count("session_id", distinct=True))
        .values_list("episode_id", "n")
    )

    codes = sorted(cadence)
    latest: dict[tuple[int, str], datetime] = {}
    if codes:
        latest = {
            (r["patient_id"], r["instrument"]): r["last"]
            for r in AssessmentResponse.objects.filter(patient_id__in=patient_ids, instrument__in=codes)
            .order_by()
            .values("patient_id", "instrument")
            .annotate(last=Max("administered_at"))
        }
    zone = site.zone

    for e in rows:
        e.safety = safety_count.get(e.patient_id, 0)
        e.safety_alert = safety_first.get(e.patient_id)
        e.no_shows = no_shows.get(e.pk, 0)
        last = hours.get((e.patient_id, last_week)) or PatientWeek(e.patient_id, *last_week)
        now = hours.get((e.patient_id, this_week)) or PatientWeek(e.patient_id, *this_week)
        e.minutes_last_week, e.minutes_this_week = last.minutes, now.minutes
        e.hours_last_week, e.hours_this_week = last.minutes / 60.0, now.minutes / 60.0
        e.lw_threshold, e.tw_threshold = last.threshold, now.threshold
        e.under_last_week = UNDER_MINIMUM in last.flags
        e.unsigned = drafts.get(e.pk, 0) + group_drafts.get(e.pk, 0)
        e.reassess_due = _reassessment_due(
            {code: latest.get((e.patient_id, code)) for code in codes}, cadence, window.today, zone
        )


def _reassessment_due(last_given: dict[str, datetime | None], cadence: dict[str, int], today: date, zone) -> bool:
    """``reassessment_due_q`` for one episode: an instrument of the cadence never given, or
    last given (in the site's calendar) at least its cadence before ``today``."""
    for code, days in cadence.items():
        given = last_given.get(code)
        if given is None or given.astimezone(zone).date() <= today - timedelta(days=days):
            return True
    return False


def has_flag(episode) -> bool:
    """Whether a row of ``caseload()`` needs anything."""
    return bool(
        episode.safety
        or episode.no_shows
        or episode.under_last_week
        or episode.plan_due
        or episode.reassess_due
        or episode.unsigned
    )


def caseload_counts(site, window: Window, *, counselor=None) -> dict[str, int]:
    """PHI-free totals of a caseload: patients, patients with any flag, with a safety alert
    (counted from ``caseload()``, so the home page and the caseload page never disagree)."""
    rows = caseload(site, window, counselor=counselor)
    return {
        "patients": len(rows),
        "flagged": sum(1 for e in rows if has_flag(e)),
        "safety": sum(1 for e in rows if e.safety),
    }
