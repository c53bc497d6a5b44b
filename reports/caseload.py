"""The caseload: a clinician's open episodes with what needs doing, most urgent first.

The open episodes (``plans.selectors.episodes_with_plan_status``) and one grouped query per kind
of flag over them, after one read of the site's instrument settings, so the page costs the same
number of queries for 1 patient as for 500. Flags:

- ``safety``: open (unacknowledged) safety alerts about the patient at this site;
- ``no_shows``: no-show attendance in the last ``CASELOAD_NO_SHOW_DAYS`` days;
- ``under_last_week``: last ISO week (complete, in the site's zone) below the weekly minimum of
  the track the patient was enrolled in for the whole week (IOP adult 9 h, adolescent 6 h,
  PHP 20 h), unless that enrollment is a transition taper. This week's hours are shown beside
  it but not flagged: the week is not over;
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
    BooleanField,
    Case,
    Count,
    DateTimeField,
    F,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)

from assessments.models import AssessmentResponse
from assessments.selectors import cadence_codes, site_cadences
from notifications.models import Alert, AlertKind
from patients.models import Episode
from plans.selectors import episodes_with_plan_status
from scheduling.models import Enrollment
from sessions.models import ATTENDED, Attendance, AttendanceStatus, GroupNote, NoteStatus, ProgressNote
from sessions.selectors import threshold_minutes

from .expressions import LocalDate

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
    episodes with their plan status, then one grouped query per kind of flag over those
    episodes, joined and sorted here. (One query with a correlated subquery per flag cost
    ~90 ms of query compilation per request and repeated the weekly-minutes subqueries in
    the sort; grouping reads each table once.)"""
    cadences = site_cadences([site.pk])
    episodes = episodes_with_plan_status([site.pk])
    if counselor is not None:
        episodes = episodes.filter(
            Q(primary_counselor=counselor) | Q(primary_counselor__isnull=True, patient__primary_counselor=counselor)
        )
    rows = list(
        episodes.annotate(
            plan_due=Case(
                When(plan_due_q(window.today), then=Value(True)), default=Value(False), output_field=BooleanField()
            )
        )
    )
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
    """Set the flag attributes on ``rows`` (open episodes of ``site``): six grouped queries."""
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

    attended = Q(status__in=list(ATTENDED))
    week_rows = (
        Attendance.objects.filter(episode_id__in=episode_ids)
        .filter(
            Q(status=AttendanceStatus.NO_SHOW, session__starts_at__gte=window.no_show_since)
            | (
                attended
                & Q(session__starts_at__gte=window.last_week_start, session__starts_at__lt=window.next_week_start)
            )
        )
        .order_by()
        .values("episode_id")
        .annotate(
            no_shows=Count(
                "pk",
                filter=Q(status=AttendanceStatus.NO_SHOW, session__starts_at__gte=window.no_show_since),
            ),
            this_week=Sum(
                "minutes_attended",
                filter=attended & Q(session__starts_at__gte=window.this_week_start),
            ),
            last_week=Sum(
                "minutes_attended",
                filter=attended & Q(session__starts_at__lt=window.this_week_start),
            ),
        )
    )
    attendance = {r["episode_id"]: r for r in week_rows}

    # Enrollments that could cover last week or today, latest first (the model's ordering).
    last_sunday = window.last_monday + timedelta(days=6)
    enrollments: dict[int, list[dict]] = {}
    for r in (
        Enrollment.objects.filter(episode_id__in=episode_ids, start_date__lte=window.today)
        .filter(Q(end_date__isnull=True) | Q(end_date__gte=window.last_monday))
        .order_by("-start_date", "-id")
        .values("episode_id", "start_date", "end_date", "is_taper", "track__level_of_care", "track__age_group")
    ):
        enrollments.setdefault(r["episode_id"], []).append(r)

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
        minutes = attendance.get(e.pk, {})
        e.no_shows = minutes.get("no_shows") or 0
        e.minutes_this_week = minutes.get("this_week") or 0
        e.minutes_last_week = minutes.get("last_week") or 0
        e.hours_this_week = e.minutes_this_week / 60.0
        e.hours_last_week = e.minutes_last_week / 60.0
        last = _covering(enrollments.get(e.pk, ()), window.last_monday, last_sunday)
        now = _covering(enrollments.get(e.pk, ()), window.today, window.today)
        e.lw_threshold = weekly_minimum_minutes(last)
        e.tw_threshold = weekly_minimum_minutes(now)
        e.under_last_week = bool(
            e.lw_threshold is not None and e.minutes_last_week < e.lw_threshold and not last["is_taper"]
        )
        e.unsigned = drafts.get(e.pk, 0) + group_drafts.get(e.pk, 0)
        e.reassess_due = _reassessment_due(
            {code: latest.get((e.patient_id, code)) for code in codes}, cadence, window.today, zone
        )


def _covering(enrollments, first: date, last: date) -> dict | None:
    """The latest enrollment covering every day of ``first``..``last`` (None: none does)."""
    for r in enrollments:  # latest first
        if r["start_date"] <= first and (r["end_date"] is None or r["end_date"] >= last):
            return r
    return None


def weekly_minimum_minutes(enrollment: dict | None) -> int | None:
    """The weekly minimum (minutes) of the enrollment's track; None without one."""
    if enrollment is None:
        return None
    return threshold_minutes(enrollment["track__level_of_care"], enrollment["track__age_group"])


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
