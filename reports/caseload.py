"""The caseload: a clinician's open episodes with what needs doing, most urgent first.

Everything is one annotated query over open episodes (``plans.selectors.episodes_with_plan_status``
plus correlated subqueries), after one read of the site's instrument settings, so the page costs
the same for 1 patient as for 500. Flags:

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
    Exists,
    ExpressionWrapper,
    F,
    FloatField,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce

from assessments.models import AssessmentResponse
from assessments.selectors import cadence_codes, site_cadences
from notifications.models import Alert, AlertKind
from patients.models import Episode
from plans.selectors import episodes_with_plan_status
from scheduling.models import AgeGroup, Enrollment, LevelOfCare
from sessions.models import ATTENDED, Attendance, AttendanceStatus, GroupNote, NoteStatus, ProgressNote

from .expressions import LocalDate

NO_SHOW_DAYS_DEFAULT = 14
FLAGS = ("safety", "no_shows", "under_last_week", "plan_due", "reassess_due", "unsigned")


def no_show_days() -> int:
    return int(getattr(settings, "CASELOAD_NO_SHOW_DAYS", NO_SHOW_DAYS_DEFAULT))


def _count(queryset: QuerySet, field: str = "pk") -> Subquery:
    """A correlated COUNT(*) subquery (0 when nothing matches)."""
    counted = queryset.order_by().annotate(_one=Value(1)).values("_one").annotate(n=Count(field)).values("n")
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


def _minutes(episode_ref: str, start: datetime, end: datetime) -> Coalesce:
    attended = (
        Attendance.objects.filter(
            episode=OuterRef(episode_ref),
            status__in=list(ATTENDED),
            session__starts_at__gte=start,
            session__starts_at__lt=end,
        )
        .order_by()
        .values("episode")
        .annotate(total=Sum("minutes_attended"))
        .values("total")
    )
    return Coalesce(Subquery(attended, output_field=IntegerField()), 0)


def _enrollment_through(first: date, last: date, field: str) -> Subquery:
    """``field`` of the enrollment covering every day of ``first``..``last`` (latest first)."""
    rows = Enrollment.objects.filter(episode=OuterRef("pk"), start_date__lte=first).filter(
        Q(end_date__isnull=True) | Q(end_date__gte=last)
    )
    return Subquery(rows.order_by("-start_date", "-id").values(field)[:1])


def _threshold(level_ref: str, age_ref: str) -> Case:
    """Weekly minimum minutes of a track's level for its age group (None: no minimum)."""
    return Case(
        When(**{level_ref: LevelOfCare.IOP, age_ref: AgeGroup.ADOLESCENT}, then=Value(6 * 60)),
        When(**{level_ref: LevelOfCare.IOP}, then=Value(9 * 60)),
        When(**{level_ref: LevelOfCare.PHP}, then=Value(20 * 60)),
        default=Value(None),
        output_field=IntegerField(),
    )


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


def caseload(site, window: Window, *, counselor=None) -> QuerySet[Episode]:
    """Open episodes at ``site`` (``counselor``'s own when given: the episode's primary
    counselor, or the patient's when the episode names none), annotated with the flags and
    sorted by urgency: safety first, then no-shows, under-dosed weeks, plans, re-assessments
    and unsigned notes; then by name. One query, after reading the site's instrument settings."""
    episodes = episodes_with_plan_status([site.pk])
    if counselor is not None:
        episodes = episodes.filter(
            Q(primary_counselor=counselor) | Q(primary_counselor__isnull=True, patient__primary_counselor=counselor)
        )
    open_safety = Alert.objects.open().filter(site=site, patient=OuterRef("patient"), kind=AlertKind.SAFETY)
    last_sunday = window.last_monday + timedelta(days=6)
    cadences = site_cadences([site.pk])
    episodes = with_last_administrations(episodes, cadences).annotate(
        safety=_count(open_safety),
        safety_alert=Subquery(open_safety.by_urgency().values("public_id")[:1]),
        no_shows=_count(
            Attendance.objects.filter(
                episode=OuterRef("pk"),
                status=AttendanceStatus.NO_SHOW,
                session__starts_at__gte=window.no_show_since,
            )
        ),
        minutes_this_week=_minutes("pk", window.this_week_start, window.next_week_start),
        minutes_last_week=_minutes("pk", window.last_week_start, window.this_week_start),
        lw_level=_enrollment_through(window.last_monday, last_sunday, "track__level_of_care"),
        lw_age=_enrollment_through(window.last_monday, last_sunday, "track__age_group"),
        lw_taper=_enrollment_through(window.last_monday, last_sunday, "is_taper"),
        tw_level=_enrollment_through(window.today, window.today, "track__level_of_care"),
        tw_age=_enrollment_through(window.today, window.today, "track__age_group"),
        unsigned=_count(ProgressNote.objects.filter(episode=OuterRef("pk"), status=NoteStatus.DRAFT))
        + _count(
            GroupNote.objects.filter(status=NoteStatus.DRAFT).filter(
                Exists(Attendance.objects.filter(session=OuterRef("session"), episode=OuterRef(OuterRef("pk"))))
            )
        ),
    )
    episodes = episodes.annotate(
        lw_threshold=_threshold("lw_level", "lw_age"),
        tw_threshold=_threshold("tw_level", "tw_age"),
        hours_last_week=ExpressionWrapper(F("minutes_last_week") / 60.0, output_field=FloatField()),
        hours_this_week=ExpressionWrapper(F("minutes_this_week") / 60.0, output_field=FloatField()),
    )
    episodes = episodes.annotate(
        under_last_week=Case(
            When(
                Q(lw_threshold__isnull=False, minutes_last_week__lt=F("lw_threshold")) & ~Q(lw_taper=True),
                then=Value(True),
            ),
            default=Value(False),
            output_field=BooleanField(),
        ),
        plan_due=Case(
            When(plan_due_q(window.today), then=Value(True)), default=Value(False), output_field=BooleanField()
        ),
        reassess_due=Case(
            When(reassessment_due_q(window.today, cadences), then=Value(True)),
            default=Value(False),
            output_field=BooleanField(),
        ),
    )
    return episodes.order_by(
        F("safety").desc(),
        F("no_shows").desc(),
        F("under_last_week").desc(),
        F("plan_due").desc(),
        F("reassess_due").desc(),
        F("unsigned").desc(),
        "patient__legal_last_name",
        "patient__legal_first_name",
        "pk",
    )


def any_flag_q() -> Q:
    return (
        Q(safety__gt=0)
        | Q(no_shows__gt=0)
        | Q(under_last_week=True)
        | Q(plan_due=True)
        | Q(reassess_due=True)
        | Q(unsigned__gt=0)
    )


def has_flag(episode) -> bool:
    """``any_flag_q`` for a row already fetched from ``caseload()``."""
    return bool(
        episode.safety
        or episode.no_shows
        or episode.under_last_week
        or episode.plan_due
        or episode.reassess_due
        or episode.unsigned
    )


def caseload_counts(site, window: Window, *, counselor=None) -> dict[str, int]:
    """PHI-free totals of a caseload: patients, patients with any flag, with a safety alert. One
    query (after the site's instrument settings)."""
    # Grouped on a constant rather than .aggregate(): aggregating over subquery annotations
    # makes Django 5.2 wrap the query and prune the annotations the FILTER clauses refer to.
    rows = (
        caseload(site, window, counselor=counselor)
        .order_by()
        .annotate(_all=Value(1))
        .values("_all")
        .annotate(
            patients=Count("pk"),
            flagged=Count("pk", filter=any_flag_q()),
            safety_count=Count("pk", filter=Q(safety__gt=0)),
        )
    )
    found = next(iter(rows), None) or {"patients": 0, "flagged": 0, "safety_count": 0}
    return {"patients": found["patients"], "flagged": found["flagged"], "safety": found["safety_count"]}
