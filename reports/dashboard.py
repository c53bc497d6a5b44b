"""Program dashboard measures. Every number is aggregated by the database; Python only walks
the calendar (weeks of the range) and the handful of aggregate rows that come back, so the
query count is the same for an empty clinic and a large one (``QUERIES`` below).

Scope of every measure: the chosen sites (only those where the user holds ``reports.view``),
and with a track chosen, the episodes enrolled in that track on at least one day of the range.
The range is ``start``..``end`` inclusive, calendar dates in each site's own time zone.

Definitions (also shown on the page, in ``HELP``):

- census: episodes open today, by site, current track (the enrollment active today; "Not
  enrolled" when none) and level of care at admission;
- admissions / discharges per week: episodes admitted / discharged in the range, by ISO week;
- intake funnel: referrals received in the range, counted at each stage they reached (a
  referral that skipped ahead from the waitlist reached the stages before it too); conversion
  is admitted / received. Days from referral to admission: admissions in the range that came
  through a referral, date received → admission date, median;
- waitlist: referrals waitlisted now, and the oldest one's days on the list;
- attendance rate: attended / rostered, over scheduled (not cancelled) sessions of the range
  that have started, where rostered means enrolled in the session's track on its date (or
  added to that one session) and attended means present, late, left early or telehealth;
- weekly hours: patient-weeks are (episode, ISO week) pairs with at least one roll-call record
  at an IOP (2.1) track session, over the complete ISO weeks inside the range that have ended;
  minutes are all attended clinical minutes that week; the minimum is 9 h for adult tracks and
  6 h for adolescent tracks (transition-taper weeks are not set apart);
- retention at week N: among episodes admitted in the range at least 7·N days ago, the share
  still engaged on day 7·N: not discharged before day 7·N after admission, or discharged as
  "completed treatment" at any time;
- completion vs dropout: episodes discharged in the range by type; completion = completed
  treatment or stepped down; dropout = left against advice or administrative discharge;
- median length of stay: admission → discharge in days, episodes discharged in the range;
- score change: episodes overlapping the range with at least two administrations of the
  instrument up to the end of the range; change = last − first; mean change and n;
- toxicology positivity: specimens collected in the range by ISO week; positive = at least one
  unexpected positive analyte result; rate = positive specimens / specimens;
- placement discrepancy: placements signed in the range (signed or awaiting co-sign) whose
  actual level differs from the recommended one, or that admit to plain IOP while the
  recommendation attaches a withdrawal step, over all such placements;
- overdue documentation (now, not the range): draft notes whose session ended more than
  ``NOTE_UNSIGNED_ALERT_HOURS`` ago; open episodes with a plan due before today; open episodes
  with a PHQ-9, GAD-7 or BAM re-assessment due before today.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db.models import (
    Avg,
    Case,
    CharField,
    Count,
    DurationField,
    Exists,
    ExpressionWrapper,
    F,
    FloatField,
    IntegerField,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast, Coalesce

from assessments.models import POSITIVE_RESULTS, AnalyteResult, AssessmentResponse, Expectation, Placement, Specimen
from assessments.selectors import site_cadences
from patients.models import DischargeType, Episode, Referral, ReferralEvent, Stage
from plans.selectors import episodes_with_plan_status
from scheduling.models import AgeGroup, Enrollment, LevelOfCare, RosterAddition, SessionStatus, TherapySession
from sessions.models import ATTENDED, Attendance, GroupNote, NoteStatus, ProgressNote
from users.expressions import LocalDate, WeekStart

from .caseload import plan_due_q, reassessment_due_q, with_last_administrations

RETENTION_WEEKS = (4, 8, 12)
# The definitions shown on the page next to each measure.
HELP = {
    "scope": "Sites: the chosen site, or every site where you may see reports. Track: episodes enrolled in "
    "that track on at least one day of the range. Dates are calendar days in each site's time zone.",
    "census": "Episodes open today, by site, the track of the enrollment active today (“Not enrolled” when "
    "none) and the level of care at admission.",
    "flow": "Episodes admitted and discharged in the range, by ISO week (weeks start on Monday).",
    "funnel": "Referrals received in the range, counted at every stage they reached (a referral that "
    "skipped ahead from the waitlist reached the stages before it too). Conversion = admitted ÷ received. "
    "Days to admission: admissions in the range that came through a referral, date received → admission "
    "date, median. The track filter does not apply to referrals.",
    "waitlist": "Referrals on the waitlist now, and how many days the longest-waiting one has waited.",
    "attendance": "Attended ÷ rostered, over sessions in the range that were not cancelled and have started. "
    "Rostered: enrolled in the session's track on its date, or added to that one session. Attended: present, "
    "late, left early or telehealth.",
    "hours": "Patient-weeks: an episode's complete ISO week inside the range (and already over) with at least "
    "one roll-call record at an IOP (2.1) track session. Minutes: every attended clinical minute that week. "
    "Minimum: 9 h for adult tracks, 6 h for adolescent tracks. Transition-taper weeks are not set apart.",
    "retention": "Of the episodes admitted in the range at least N weeks ago, the share still engaged N weeks "
    "(7·N days) after admission: not discharged before that day, or discharged as “completed treatment” at "
    "any time.",
    "discharges": "Episodes discharged in the range, by discharge type. Completion: completed treatment or "
    "stepped down. Dropout: left against advice or administrative discharge. Median length of stay: "
    "admission → discharge, in days.",
    "outcomes": "Episodes open on at least one day of the range with two or more administrations of the "
    "instrument up to the end of the range. Change = last − first score within the episode; the table shows "
    "the mean first, mean last and mean change, and n.",
    "toxicology": "Specimens collected in the range, by ISO week. Positive: at least one unexpected positive "
    "analyte (not explained by an active medication on the patient's list). Rate = positive ÷ specimens.",
    "placements": "Placements signed in the range (signed, or signed and awaiting co-sign) whose actual level "
    "differs from the recommended level, or that admit to plain IOP while the recommendation adds a withdrawal "
    "management step, over all of them.",
    "overdue": "As of now, whatever the range: draft notes whose session ended more than the configured "
    "hours ago; open episodes with a treatment or relapse-prevention plan due before today; open episodes "
    "with a PHQ-9, GAD-7 or BAM re-assessment due before today.",
}
FUNNEL = [
    Stage.RECEIVED,
    Stage.SCREENING_SCHEDULED,
    Stage.SCREENED,
    Stage.ASSESSED,
    Stage.PLACEMENT_DECIDED,
    Stage.ADMITTED,
]
COMPLETION = frozenset({DischargeType.COMPLETED, DischargeType.STEP_DOWN})
DROPOUT = frozenset({DischargeType.AGAINST_ADVICE, DischargeType.ADMINISTRATIVE})
OUTCOMES = [
    ("phq9", "PHQ-9 total", "PHQ-9", None),
    ("gad7", "GAD-7 total", "GAD-7", None),
    ("bam_use", "BAM use", "BAM", "use"),
    ("bam_risk", "BAM risk", "BAM", "risk"),
    ("bam_protective", "BAM protective", "BAM", "protective"),
]


@dataclass(frozen=True)
class Filters:
    site_ids: tuple[int, ...]
    start: date
    end: date
    today: date
    now: datetime
    track_id: int | None = None

    @property
    def weeks(self) -> list[date]:
        """Mondays of the ISO weeks touching the range."""
        monday = self.start - timedelta(days=self.start.weekday())
        out = []
        while monday <= self.end:
            out.append(monday)
            monday += timedelta(days=7)
        return out


@dataclass
class Table:
    """One table of the dashboard: shown as HTML, exported as CSV (aggregates only, no PHI)."""

    slug: str
    title: str
    columns: list[str]
    rows: list[list] = field(default_factory=list)
    note: str = ""


def _pct(part: int | float | None, whole: int | float | None) -> float | None:
    return round(100 * part / whole, 1) if whole else None


def _days(value) -> float | None:
    if value is None:
        return None
    return value.days + value.seconds / 86400 if isinstance(value, timedelta) else float(value)


def _median(queryset: QuerySet, expression_name: str, n: int) -> float | None:
    """The median of an annotated duration, by order + offset: one query fetching at most the
    middle two values (never the whole column)."""
    low = max(0, (n - 1) // 2)
    count = 2 if n and n % 2 == 0 else 1
    values = [
        _days(v) for v in queryset.order_by(expression_name).values_list(expression_name, flat=True)[low : low + count]
    ]
    if not n or not values:
        return None
    return round(sum(values) / len(values), 1)


def _track_episodes(f: Filters):
    return Enrollment.objects.filter(track_id=f.track_id).overlapping(f.start, f.end).values("episode_id")


def _episodes(f: Filters) -> QuerySet[Episode]:
    rows = Episode.objects.filter(site_id__in=f.site_ids, patient__deleted_at__isnull=True)
    if f.track_id:
        rows = rows.filter(pk__in=_track_episodes(f))
    return rows


def _by_episode(queryset: QuerySet, f: Filters, field_name: str = "episode_id") -> QuerySet:
    return queryset.filter(**{f"{field_name}__in": _track_episodes(f)}) if f.track_id else queryset


# --- the measures ------------------------------------------------------------------------------


def census(f: Filters) -> Table:
    active_today = Enrollment.objects.filter(episode=OuterRef("pk"), start_date__lte=f.today).filter(
        Q(end_date__isnull=True) | Q(end_date__gte=f.today)
    )
    rows = Episode.objects.open().filter(site_id__in=f.site_ids, patient__deleted_at__isnull=True)
    if f.track_id:
        rows = rows.filter(Exists(active_today.filter(track_id=f.track_id)))
    grouped = (
        rows.annotate(
            track_name=Coalesce(
                Subquery(active_today.order_by("-start_date", "-id").values("track__name")[:1]),
                Value("Not enrolled"),
                output_field=CharField(),
            )
        )
        .values("site__name", "track_name", "level_of_care")
        .annotate(n=Count("pk"))
        .order_by("site__name", "track_name", "level_of_care")
    )
    table = Table("census", "Census today", ["Site", "Track", "Level of care", "Open episodes"])
    table.rows = [[r["site__name"], r["track_name"], r["level_of_care"], r["n"]] for r in grouped]
    return table


def flow(f: Filters) -> Table:
    base = _episodes(f)
    admitted = dict(
        base.filter(admission_date__range=(f.start, f.end))
        .annotate(week=WeekStart(F("admission_date")))
        .values("week")
        .annotate(n=Count("pk"))
        .values_list("week", "n")
        .order_by()
    )
    discharged = dict(
        base.filter(discharge_date__range=(f.start, f.end))
        .annotate(week=WeekStart(F("discharge_date")))
        .values("week")
        .annotate(n=Count("pk"))
        .values_list("week", "n")
        .order_by()
    )
    table = Table("flow", "Admissions and discharges per week", ["Week of", "Admissions", "Discharges"])
    table.rows = [[w.isoformat(), admitted.get(w, 0), discharged.get(w, 0)] for w in f.weeks]
    return table


def funnel(f: Filters) -> tuple[Table, dict]:
    rank = Case(
        *(When(to_stage=stage, then=Value(index)) for index, stage in enumerate(FUNNEL)),
        default=Value(0),
        output_field=IntegerField(),
    )
    reached = Subquery(
        ReferralEvent.objects.filter(referral=OuterRef("pk")).annotate(rank=rank).order_by("-rank").values("rank")[:1],
        output_field=IntegerField(),
    )
    received_in_range = Q(received_on__range=(f.start, f.end))
    admitted_in_range = Q(episode__isnull=False, episode__admission_date__range=(f.start, f.end))
    referrals = Referral.objects.filter(site_id__in=f.site_ids, patient__deleted_at__isnull=True).annotate(
        reached=Coalesce(reached, 0)
    )
    counts = referrals.filter(received_in_range | admitted_in_range).aggregate(
        **{
            f"stage_{index}": Count("pk", filter=received_in_range & Q(reached__gte=index))
            for index in range(len(FUNNEL))
        },
        admitted_n=Count("pk", filter=admitted_in_range),
    )
    received = counts["stage_0"]
    table = Table(
        "funnel",
        "Intake funnel",
        ["Stage reached", "Referrals", "% of received"],
        [[FUNNEL[i].label, counts[f"stage_{i}"], _pct(counts[f"stage_{i}"], received)] for i in range(len(FUNNEL))],
        note="Referrals received in the range; all sites, whatever the track filter.",
    )
    days = referrals.filter(admitted_in_range).annotate(
        wait=ExpressionWrapper(F("episode__admission_date") - F("received_on"), output_field=DurationField())
    )
    summary = {
        "received": received,
        "admitted": counts[f"stage_{len(FUNNEL) - 1}"],
        "conversion": _pct(counts[f"stage_{len(FUNNEL) - 1}"], received),
        "days_n": counts["admitted_n"],
        "days_median": _median(days, "wait", counts["admitted_n"]),
    }
    return table, summary


def waitlist(f: Filters) -> dict:
    found = (
        Referral.objects.waitlist()
        .filter(site_id__in=f.site_ids, patient__deleted_at__isnull=True)
        .order_by()
        .aggregate(n=Count("pk"), oldest=Min("waitlisted_at"))
    )
    oldest = found["oldest"]
    return {"count": found["n"], "oldest_days": (f.now - oldest).days if oldest else None}


def attendance_rate(f: Filters) -> dict:
    started = Q(status=SessionStatus.SCHEDULED, starts_at__lt=f.now)
    attended = Attendance.objects.filter(status__in=list(ATTENDED), session=OuterRef("pk"))
    sessions = (
        TherapySession.objects.filter(started, site_id__in=f.site_ids, track__isnull=False)
        .annotate(day=Coalesce(F("occurrence_date"), LocalDate(F("starts_at"), "site__time_zone")))
        .filter(day__range=(f.start, f.end))
    )
    enrolled = Q(track__enrollments__start_date__lte=F("day")) & (
        Q(track__enrollments__end_date__isnull=True) | Q(track__enrollments__end_date__gte=F("day"))
    )
    enrolled &= Q(track__enrollments__episode__discharge_date__isnull=True) | Q(
        track__enrollments__episode__discharge_date__gte=F("day")
    )
    enrolled &= Q(track__enrollments__episode__patient__deleted_at__isnull=True)
    if f.track_id:
        enrolled &= Q(track_id=f.track_id)
    # The Exists sits inside the aggregate's FILTER (an annotation referenced only there is
    # pruned from the inner query by Django 5.2's aggregation over a subquery).
    pairs = (
        sessions.filter(enrolled)
        .order_by()
        .aggregate(
            n=Count("pk"),
            came=Count("pk", filter=Exists(attended.filter(episode=OuterRef("track__enrollments__episode")))),
        )
    )
    additions = RosterAddition.objects.filter(
        session__status=SessionStatus.SCHEDULED,
        session__starts_at__lt=f.now,
        session__site_id__in=f.site_ids,
        episode__patient__deleted_at__isnull=True,
    ).annotate(day=LocalDate(F("session__starts_at"), "session__site__time_zone"))
    additions = _by_episode(additions.filter(day__range=(f.start, f.end)), f)
    came_added = Exists(
        Attendance.objects.filter(status__in=list(ATTENDED), session=OuterRef("session"), episode=OuterRef("episode"))
    )
    extra = additions.order_by().aggregate(n=Count("pk"), came=Count("pk", filter=came_added))
    rostered = pairs["n"] + extra["n"]
    came = pairs["came"] + extra["came"]
    return {"rostered": rostered, "attended": came, "rate": _pct(came, rostered)}


def weekly_hours(f: Filters) -> dict:
    first = f.start + timedelta(days=(7 - f.start.weekday()) % 7)  # first Monday inside the range
    last_day = min(f.end, f.today - timedelta(days=1))
    last = last_day - timedelta(days=(last_day.weekday() + 1) % 7)  # last Sunday inside the range
    rows = (
        Attendance.objects.filter(
            session__site_id__in=f.site_ids,
            session__status=SessionStatus.SCHEDULED,
            patient__deleted_at__isnull=True,
        )
        .annotate(day=LocalDate(F("session__starts_at"), "session__site__time_zone"))
        .filter(day__range=(first, last))
        .annotate(week=WeekStart(F("day")))
    )
    rows = _by_episode(rows, f)
    iop = Q(session__track__level_of_care=LevelOfCare.IOP)
    weeks = (
        rows.values("episode_id", "week")
        .annotate(
            minutes=Coalesce(Sum("minutes_attended", filter=Q(status__in=list(ATTENDED))), 0),
            iop_age=Min("session__track__age_group", filter=iop),
        )
        .filter(iop_age__isnull=False)
        .annotate(
            meets=Case(
                When(iop_age=AgeGroup.ADOLESCENT, minutes__gte=6 * 60, then=Value(1)),
                When(~Q(iop_age=AgeGroup.ADOLESCENT), minutes__gte=9 * 60, then=Value(1)),
                default=Value(0),
                output_field=IntegerField(),
            )
        )
        .order_by()
    )
    found = weeks.aggregate(n=Count("episode_id"), mean=Avg("minutes"), meeting=Sum("meets"))
    mean = found["mean"]
    return {
        "patient_weeks": found["n"],
        "mean_hours": round(mean / 60, 2) if mean is not None else None,
        "meeting": found["meeting"] or 0,
        "meeting_pct": _pct(found["meeting"] or 0, found["n"]),
        "first_week": first,
        "last_week_end": last,
    }


def retention(f: Filters) -> Table:
    cohort = _episodes(f).filter(admission_date__range=(f.start, f.end)).with_length_of_stay(f.today).order_by()
    aggregates = {}
    for weeks in RETENTION_WEEKS:
        eligible = Q(admission_date__lte=f.today - timedelta(days=7 * weeks))
        engaged = eligible & (Q(stay_length__gte=timedelta(days=7 * weeks)) | Q(discharge_type=DischargeType.COMPLETED))
        aggregates[f"n{weeks}"] = Count("pk", filter=eligible)
        aggregates[f"e{weeks}"] = Count("pk", filter=engaged)
    found = cohort.aggregate(**aggregates)
    return Table(
        "retention",
        "Retention",
        ["Week", "Admissions old enough", "Still engaged", "% engaged"],
        [[w, found[f"n{w}"], found[f"e{w}"], _pct(found[f"e{w}"], found[f"n{w}"])] for w in RETENTION_WEEKS],
    )


def discharges(f: Filters) -> tuple[Table, dict]:
    rows = _episodes(f).filter(discharge_date__range=(f.start, f.end))
    by_type = dict(rows.values("discharge_type").annotate(n=Count("pk")).values_list("discharge_type", "n").order_by())
    total = sum(by_type.values())
    completed = sum(n for t, n in by_type.items() if t in COMPLETION)
    dropped = sum(n for t, n in by_type.items() if t in DROPOUT)

    def group(kind: str) -> str:
        return "Completion" if kind in COMPLETION else "Dropout" if kind in DROPOUT else "Other"

    table = Table(
        "discharges",
        "Discharges by type",
        ["Discharge type", "Group", "Episodes", "% of discharges"],
        [
            [label, group(value), by_type.get(value, 0), _pct(by_type.get(value, 0), total)]
            for value, label in DischargeType.choices
        ],
    )
    stays = rows.with_length_of_stay(f.today)
    summary = {
        "total": total,
        "completed": completed,
        "completion_pct": _pct(completed, total),
        "dropped": dropped,
        "dropout_pct": _pct(dropped, total),
        "median_stay_days": _median(stays, "stay_length", total),
    }
    return table, summary


def _score(code: str, key: str | None):
    if key is None:
        return F("total")
    return Cast(KeyTextTransform(key, "subscales"), FloatField())


def outcomes(f: Filters) -> Table:
    episodes = (
        _episodes(f)
        .filter(admission_date__lte=f.end)
        .filter(Q(discharge_date__isnull=True) | Q(discharge_date__gte=f.start))
    )
    annotations = {}
    for slug, _label, code, key in OUTCOMES:
        given = (
            AssessmentResponse.objects.filter(episode=OuterRef("pk"), instrument=code)
            .annotate(day=LocalDate(F("administered_at"), "site__time_zone"), value=_score(code, key))
            .filter(day__lte=f.end, value__isnull=False)
        )
        annotations[f"v_{slug}_first"] = Subquery(given.order_by("administered_at", "id").values("value")[:1])
        annotations[f"v_{slug}_last"] = Subquery(given.order_by("-administered_at", "-id").values("value")[:1])
        annotations[f"v_{slug}_n"] = Coalesce(
            Subquery(
                given.order_by().annotate(_one=Value(1)).values("_one").annotate(c=Count("pk")).values("c"),
                output_field=IntegerField(),
            ),
            0,
        )
    aggregates = {}
    for slug, *_ in OUTCOMES:
        paired = Q(**{f"v_{slug}_n__gte": 2})
        aggregates[f"{slug}_n"] = Count("pk", filter=paired)
        aggregates[f"{slug}_first"] = Avg(f"v_{slug}_first", filter=paired)
        aggregates[f"{slug}_last"] = Avg(f"v_{slug}_last", filter=paired)
        aggregates[f"{slug}_change"] = Avg(F(f"v_{slug}_last") - F(f"v_{slug}_first"), filter=paired)
    found = episodes.annotate(**annotations).order_by().aggregate(**aggregates)

    def r(v):
        return round(v, 2) if v is not None else None

    return Table(
        "outcomes",
        "Score change, first → last",
        ["Measure", "Episodes (n)", "Mean first", "Mean last", "Mean change"],
        [
            [label, found[f"{slug}_n"], r(found[f"{slug}_first"]), r(found[f"{slug}_last"]), r(found[f"{slug}_change"])]
            for slug, label, *_ in OUTCOMES
        ],
        note="Negative change is improvement for PHQ-9, GAD-7, BAM use and risk; positive for BAM protective.",
    )


def toxicology(f: Filters) -> Table:
    unexpected = AnalyteResult.objects.filter(
        specimen=OuterRef("pk"), result__in=list(POSITIVE_RESULTS), expectation=Expectation.UNEXPECTED
    )
    rows = Specimen.objects.filter(site_id__in=f.site_ids, patient__deleted_at__isnull=True).annotate(
        day=LocalDate(F("collected_at"), "site__time_zone")
    )
    rows = _by_episode(rows.filter(day__range=(f.start, f.end)), f)
    weekly = {
        r["week"]: r
        for r in rows.annotate(week=WeekStart(F("day")))
        .values("week")
        .annotate(n=Count("pk"), pos=Count("pk", filter=Exists(unexpected)))
        .order_by()
    }
    table = Table(
        "toxicology", "Toxicology: unexpected positives per week", ["Week of", "Specimens", "Unexpected positive", "%"]
    )
    for week in f.weeks:
        found = weekly.get(week, {"n": 0, "pos": 0})
        table.rows.append([week.isoformat(), found["n"], found["pos"], _pct(found["pos"], found["n"])])
    return table


def placements(f: Filters) -> dict:
    rows = (
        Placement.objects.decided()
        .filter(site_id__in=f.site_ids, patient__deleted_at__isnull=True)
        .annotate(day=LocalDate(F("signed_at"), "site__time_zone"))
        .filter(day__range=(f.start, f.end))
    )
    found = (
        _by_episode(rows, f)
        .order_by()
        # Discrepant by the placement's own rule (assessments: another level than recommended, or
        # plain IOP while the recommendation attaches a withdrawal step).
        .aggregate(n=Count("pk"), discrepant=Count("pk", filter=Q(pk__in=Placement.objects.discrepant().values("pk"))))
    )
    return {**found, "pct": _pct(found["discrepant"], found["n"])}


def overdue(f: Filters) -> Table:
    cutoff = f.now - timedelta(hours=settings.NOTE_UNSIGNED_ALERT_HOURS)
    notes = _by_episode(
        ProgressNote.objects.filter(site_id__in=f.site_ids, status=NoteStatus.DRAFT, session__ends_at__lt=cutoff), f
    ).count()
    groups = GroupNote.objects.filter(site_id__in=f.site_ids, status=NoteStatus.DRAFT, ends_at__lt=cutoff)
    if f.track_id:
        groups = groups.filter(session__track_id=f.track_id)
    group_count = groups.count()
    yesterday = f.today - timedelta(days=1)
    open_episodes = episodes_with_plan_status(f.site_ids)
    if f.track_id:
        open_episodes = open_episodes.filter(pk__in=_track_episodes(f))
    plans = open_episodes.filter(plan_due_q(yesterday)).count()
    cadences = site_cadences(f.site_ids)
    reassess = (
        with_last_administrations(
            Episode.objects.open().filter(site_id__in=f.site_ids, patient__deleted_at__isnull=True), cadences
        )
        .filter(reassessment_due_q(yesterday, cadences))
        .filter(**({"pk__in": _track_episodes(f)} if f.track_id else {}))
        .count()
    )
    hours = settings.NOTE_UNSIGNED_ALERT_HOURS
    return Table(
        "overdue",
        "Overdue documentation (now)",
        ["Item", "Count"],
        [
            [f"Progress notes unsigned more than {hours} h after the session", notes],
            [f"Group notes unsigned more than {hours} h after the session", group_count],
            ["Open episodes with a treatment or relapse-prevention plan overdue", plans],
            ["Open episodes with a re-assessment overdue (each site's instrument settings)", reassess],
        ],
    )


@dataclass
class Dashboard:
    filters: Filters
    census: Table
    flow: Table
    funnel: Table
    funnel_summary: dict
    waitlist: dict
    attendance: dict
    hours: dict
    retention: Table
    discharges: Table
    discharge_summary: dict
    outcomes: Table
    toxicology: Table
    placements: dict
    overdue: Table

    @property
    def summary(self) -> Table:
        """The single-number measures as one table (so they export to CSV too)."""
        a, h, d, p, fs, w = (
            self.attendance,
            self.hours,
            self.discharge_summary,
            self.placements,
            self.funnel_summary,
            self.waitlist,
        )
        return Table(
            "summary",
            "Key measures",
            ["Measure", "Value", "Based on"],
            [
                ["Attendance rate (%)", a["rate"], f"{a['attended']} attended of {a['rostered']} rostered"],
                ["Mean weekly hours", h["mean_hours"], f"{h['patient_weeks']} patient-weeks"],
                [
                    "Patient-weeks meeting the IOP minimum (%)",
                    h["meeting_pct"],
                    f"{h['meeting']} of {h['patient_weeks']}",
                ],
                [
                    "Referral → admission conversion (%)",
                    fs["conversion"],
                    f"{fs['admitted']} of {fs['received']} referrals",
                ],
                ["Median days from referral to admission", fs["days_median"], f"{fs['days_n']} admissions"],
                ["Waitlist now", w["count"], "referrals waitlisted"],
                ["Longest wait on the waitlist (days)", w["oldest_days"], "oldest waitlisted referral"],
                ["Completion (%)", d["completion_pct"], f"{d['completed']} of {d['total']} discharges"],
                ["Dropout (%)", d["dropout_pct"], f"{d['dropped']} of {d['total']} discharges"],
                ["Median length of stay (days)", d["median_stay_days"], f"{d['total']} discharges"],
                ["Placement discrepancy (%)", p["pct"], f"{p['discrepant']} of {p['n']} signed placements"],
            ],
        )

    @property
    def tables(self) -> list[Table]:
        return [
            self.summary,
            self.census,
            self.flow,
            self.funnel,
            self.retention,
            self.discharges,
            self.outcomes,
            self.toxicology,
            self.overdue,
        ]

    def table(self, slug: str) -> Table | None:
        return next((t for t in self.tables if t.slug == slug), None)


def build(f: Filters) -> Dashboard:
    funnel_table, funnel_summary = funnel(f)
    discharge_table, discharge_summary = discharges(f)
    return Dashboard(
        filters=f,
        census=census(f),
        flow=flow(f),
        funnel=funnel_table,
        funnel_summary=funnel_summary,
        waitlist=waitlist(f),
        attendance=attendance_rate(f),
        hours=weekly_hours(f),
        retention=retention(f),
        discharges=discharge_table,
        discharge_summary=discharge_summary,
        outcomes=outcomes(f),
        toxicology=toxicology(f),
        placements=placements(f),
        overdue=overdue(f),
    )
