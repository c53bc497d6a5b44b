"""Reads across many rows: weekly IOP hours, per-diem days, near-identical group-note parts and
the chart copy of a group note.

Weekly hours are aggregated in the database by local day: each session's date is computed in
its *site's* time zone (``users.expressions.LocalDate`` over the site's zone column), so a
19:00–22:00 evening group on Sunday in New York is Sunday's and that ISO week's, not Monday's as
it would be in UTC.
"""

from __future__ import annotations

import difflib
import zoneinfo
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.db.models import Q, Sum

from scheduling.models import AgeGroup, Enrollment, LevelOfCare, hours_rule
from users.expressions import LocalDate

from .models import ATTENDED, Attendance, GroupNote, GroupNoteEntry, NoteAddendum

UNDER_MINIMUM = "UNDER_MINIMUM"
ABOVE_RANGE = "ABOVE_RANGE"
# 20 hours a week or more is partial-hospitalization territory (DOMAIN.md §6).
ABOVE_RANGE_MINUTES = 20 * 60
NEAR_IDENTICAL_RATIO = 0.9

Week = tuple[int, int]  # (ISO year, ISO week)


def week_of(day: date) -> Week:
    iso = day.isocalendar()
    return (iso.year, iso.week)


def monday_of(week: Week) -> date:
    return date.fromisocalendar(week[0], week[1], 1)


def weeks_between(first: date, last: date) -> list[Week]:
    """The ISO weeks touching ``first``..``last``, in order."""
    weeks, day = [], first - timedelta(days=first.weekday())
    while day <= last:
        weeks.append(week_of(day))
        day += timedelta(days=7)
    return weeks


def threshold_minutes(level: str, age_group: str) -> int | None:
    """The weekly minimum of a level of care for an age group (2.1: adult 540, adolescent 360)."""
    minimum = hours_rule(level, age_group).minimum
    return int(minimum * 60) if minimum else None


@dataclass
class DayHours:
    day: date
    minutes: int

    @property
    def per_diem_eligible(self) -> bool:
        return self.minutes >= settings.PER_DIEM_MIN_MINUTES


@dataclass
class PatientWeek:
    patient_id: int
    iso_year: int
    week: int
    minutes: int = 0
    days: list[DayHours] = field(default_factory=list)
    level_of_care: str = ""
    age_group: str = ""
    threshold: int | None = None
    is_taper: bool = False

    @property
    def monday(self) -> date:
        return monday_of((self.iso_year, self.week))

    @property
    def label(self) -> str:
        return f"{self.iso_year}-W{self.week:02d}"

    @property
    def hours(self) -> float:
        return round(self.minutes / 60, 2)

    @property
    def flags(self) -> list[str]:
        flags = []
        if self.threshold is not None and self.minutes < self.threshold and not self.is_taper:
            flags.append(UNDER_MINIMUM)
        if self.level_of_care != LevelOfCare.PHP and self.minutes >= ABOVE_RANGE_MINUTES:
            flags.append(ABOVE_RANGE)
        return flags

    @property
    def per_diem_days(self) -> list[DayHours]:
        return [d for d in self.days if d.per_diem_eligible]


def _window(weeks: Sequence[Week]) -> tuple[date, date]:
    first = monday_of(min(weeks))
    last = monday_of(max(weeks)) + timedelta(days=6)
    return first, last


def _attended(patient_ids: Iterable[int], first: date, last: date):
    # One day of slack each side in UTC; the local week decides membership below.
    lo = datetime.combine(first - timedelta(days=1), time.min, tzinfo=zoneinfo.ZoneInfo("UTC"))
    hi = datetime.combine(last + timedelta(days=2), time.min, tzinfo=zoneinfo.ZoneInfo("UTC"))
    return Attendance.objects.filter(
        patient_id__in=list(patient_ids),
        status__in=list(ATTENDED),
        session__starts_at__gte=lo,
        session__starts_at__lt=hi,
    )


def _enrollment_facts(patient_ids: Iterable[int], weeks: Sequence[Week]) -> dict[tuple[int, Week], tuple]:
    """(patient, week) → (level, age group, taper) of the enrollment(s) active that week."""
    first, last = _window(weeks)
    enrollments = list(
        Enrollment.objects.filter(episode__patient_id__in=list(patient_ids))
        .overlapping(first, last)
        .select_related("track", "episode")
        .order_by("start_date", "id")
    )
    facts: dict[tuple[int, Week], tuple] = {}
    for week in weeks:
        monday = monday_of(week)
        sunday = monday + timedelta(days=6)
        for e in enrollments:
            end = e.last_day
            if e.start_date > sunday or (end is not None and end < monday):
                continue
            key = (e.episode.patient_id, week)
            level, age, taper = facts.get(key, (None, None, False))
            # The latest enrollment of the week sets the level; a taper in any of them counts.
            facts[key] = (e.track.level_of_care, e.track.age_group, taper or e.is_taper)
    return facts


def weekly_hours(patient_ids: Iterable[int], weeks: Iterable[Week]) -> dict[int, list[PatientWeek]]:
    """Each patient's attended clinical minutes per ISO week (in the site's zone), with the
    level's threshold and flags, and per-day minutes for per-diem eligibility.

    Only attendance rows count, and only attended statuses (present, late, left early,
    telehealth); absences and cancellations carry 0 minutes. Mutual-help meetings are never
    attendance rows. Weeks in which a patient had no minutes appear when they were enrolled.
    Two queries, however many patients, weeks and site time zones: the minutes per patient and
    local day (each session's date in its own site's zone), summed into ISO weeks here, and the
    enrollments of the weeks.
    """
    patient_ids = list(dict.fromkeys(patient_ids))
    weeks = sorted(set(weeks))
    result: dict[int, list[PatientWeek]] = {pid: [] for pid in patient_ids}
    if not patient_ids or not weeks:
        return result
    first, last = _window(weeks)
    wanted = set(weeks)
    by_key: dict[tuple[int, Week], PatientWeek] = {}

    def entry(pid: int, week: Week) -> PatientWeek:
        if (pid, week) not in by_key:
            by_key[(pid, week)] = PatientWeek(patient_id=pid, iso_year=week[0], week=week[1])
        return by_key[(pid, week)]

    daily = (
        _attended(patient_ids, first, last)
        .annotate(local_day=LocalDate("session__starts_at", "session__site__time_zone"))
        .values_list("patient_id", "local_day")
        .annotate(total=Sum("minutes_attended"))
        .order_by()
    )
    for pid, day, total in daily:
        if isinstance(day, datetime):  # some backends hand back a datetime at midnight
            day = day.date()
        elif isinstance(day, str):
            day = date.fromisoformat(day[:10])
        week = week_of(day)
        if week in wanted:
            pw = entry(pid, week)
            pw.minutes += total or 0
            pw.days.append(DayHours(day=day, minutes=total or 0))
    for (pid, week), (level, age, taper) in _enrollment_facts(patient_ids, weeks).items():
        pw = entry(pid, week)
        pw.level_of_care, pw.age_group, pw.is_taper = level, age or AgeGroup.ADULT, taper
        pw.threshold = threshold_minutes(level, pw.age_group)
    for (pid, _week), pw in sorted(by_key.items(), key=lambda kv: kv[0][1]):
        pw.days.sort(key=lambda d: d.day)
        result.setdefault(pid, []).append(pw)
    return result


def patient_week(patient, week: Week) -> PatientWeek:
    """One patient's hours in one ISO week (zero minutes when nothing was attended)."""
    found = weekly_hours([patient.pk], [week]).get(patient.pk) or []
    return found[0] if found else PatientWeek(patient_id=patient.pk, iso_year=week[0], week=week[1])


def per_diem_days(patient, first: date, last: date) -> list[DayHours]:
    """The days in ``first``..``last`` whose attended clinical minutes reach the per-diem minimum."""
    weeks = weeks_between(first, last)
    days = [d for pw in weekly_hours([patient.pk], weeks).get(patient.pk, []) for d in pw.days]
    return [d for d in days if first <= d.day <= last and d.per_diem_eligible]


# --- Group notes ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SimilarPair:
    first: GroupNoteEntry
    second: GroupNoteEntry
    ratio: float


def near_identical_entries(
    entries: Sequence[GroupNoteEntry], threshold: float = NEAR_IDENTICAL_RATIO
) -> list[SimilarPair]:
    """Pairs of attendees whose individual parts read nearly the same (copy-paste documentation).

    A warning for the author before signing, never a block. Empty parts are not compared."""
    texts = [(e, " ".join(e.text().split()).lower()) for e in entries]
    texts = [(e, t) for e, t in texts if t]
    pairs = []
    for i, (a, ta) in enumerate(texts):
        for b, tb in texts[i + 1 :]:
            matcher = difflib.SequenceMatcher(None, ta, tb, autojunk=False)
            if matcher.real_quick_ratio() < threshold or matcher.quick_ratio() < threshold:
                continue
            ratio = matcher.ratio()
            if ratio >= threshold:
                pairs.append(SimilarPair(a, b, round(ratio, 2)))
    return pairs


@dataclass(frozen=True)
class ChartCopy:
    """What a patient's chart shows of a group note: the shared part and that patient's own part.

    Built from the shared fields and one entry; it holds no reference to the note's other
    entries, so nothing of another attendee can reach the template."""

    note_public_id: str
    status: str
    topic: str
    curriculum_module: str
    facilitators: list[str]
    starts_at: datetime
    ends_at: datetime
    interventions: str
    entry: GroupNoteEntry | None
    signer: str
    signed_at: datetime | None
    late_entry: bool
    content_hash: str
    cosigner: str
    cosigned_at: datetime | None
    addenda: list[NoteAddendum]
    session_kind: str


def group_note_chart_copy(note: GroupNote, patient) -> ChartCopy:
    entry = GroupNoteEntry.objects.filter(group_note=note, patient=patient).select_related("attendance").first()
    # Addenda about the shared part, or about this patient's own part: never another's.
    addenda = list(
        NoteAddendum.objects.filter(Q(entry__isnull=True) | Q(entry__patient=patient), group_note=note).order_by(
            "signed_at", "id"
        )
    )
    cosignature = getattr(note, "cosignature", None) if note.is_signed else None
    return ChartCopy(
        note_public_id=str(note.public_id),
        status=note.get_status_display(),
        topic=note.topic,
        curriculum_module=note.curriculum_module,
        facilitators=[u.signature_name for u in note.facilitators.all()],
        starts_at=note.starts_at,
        ends_at=note.ends_at,
        interventions=note.interventions,
        entry=entry,
        signer=f"{note.signer_name}, {note.signer_credential}" if note.signer_credential else note.signer_name,
        signed_at=note.signed_at,
        late_entry=note.late_entry,
        content_hash=note.content_hash,
        cosigner=cosignature.cosigner_name if cosignature else "",
        cosigned_at=cosignature.cosigned_at if cosignature else None,
        addenda=addenda,
        session_kind=note.session.get_kind_display(),
    )


def patient_weeks_window(today: date, count: int = 8) -> list[Week]:
    """The ``count`` ISO weeks ending with ``today``'s, oldest first."""
    return weeks_between(today - timedelta(days=7 * (count - 1)), today)


def objectives_for_episodes(episode_ids) -> dict[int, list]:
    """Open objectives of each episode's treatment plan in effect (signed, or awaiting its
    co-signature): what a note may link to. One query."""
    from plans.models import OPEN_OBJECTIVE_STATUSES, Objective, PlanStatus

    out: dict[int, list] = {pid: [] for pid in episode_ids}
    rows = (
        Objective.objects.filter(
            plan__episode_id__in=list(episode_ids),
            plan__status__in=[PlanStatus.SIGNED, PlanStatus.AWAITING_COSIGN],
            status__in=list(OPEN_OBJECTIVE_STATUSES),
        )
        .select_related("plan")
        .order_by("target_date", "id")
    )
    for objective in rows:
        out.setdefault(objective.plan.episode_id, []).append(objective)
    return out


def facilitator_choices(site):
    """Who may be named a group's facilitator: the site's active staff (as sessions are booked)."""
    from django.contrib.auth import get_user_model

    from users.models import Membership

    ids = Membership.objects.active().filter(site=site).values("user_id")
    return get_user_model().objects.filter(pk__in=ids, is_active=True).order_by("full_name", "email")
