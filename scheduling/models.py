"""Rooms, closures, staff hours, program tracks, scheduled sessions, bookings and rosters.

Times of day on a track are local to the site (``TrackBlock.start_time``); a generated
``TherapySession`` stores aware datetimes (UTC in the database) so that 09:00 stays 09:00 on
both sides of a daylight-saving change. Writes go through ``scheduling.services``.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q

from users.models import Site, TimeStampedModel

WEEKDAYS = [
    (0, "Monday"),
    (1, "Tuesday"),
    (2, "Wednesday"),
    (3, "Thursday"),
    (4, "Friday"),
    (5, "Saturday"),
    (6, "Sunday"),
]
WEEKDAY_NAMES = dict(WEEKDAYS)
WEEKDAY_SHORT = {n: name[:3] for n, name in WEEKDAYS}


def local_datetime(day: date, at: time, zone) -> datetime:
    """The aware instant of wall-clock ``at`` on ``day`` in ``zone`` (DST-correct)."""
    return datetime.combine(day, at, tzinfo=zone)


# --- Rooms, closures, staff hours ---------------------------------------------------------


class Room(TimeStampedModel):
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="rooms")
    name = models.CharField(max_length=80)
    capacity = models.PositiveSmallIntegerField(help_text="How many people the room seats.")
    is_active = models.BooleanField("Active", default=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["site", "name"], name="room_site_name_unique"),
            models.CheckConstraint(condition=Q(capacity__gte=1), name="room_capacity_positive"),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        super().clean()
        self.name = " ".join((self.name or "").split())
        if self.capacity is not None and self.capacity < 1:
            raise ValidationError({"capacity": "A room seats at least one person."})


class Closure(TimeStampedModel):
    """A day the site is closed (a holiday, weather, training): no sessions are generated."""

    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="closures")
    date = models.DateField()
    reason = models.CharField(max_length=120)

    class Meta:
        ordering = ["date"]
        constraints = [models.UniqueConstraint(fields=["site", "date"], name="closure_site_date_unique")]

    def __str__(self) -> str:
        return f"{self.date:%Y-%m-%d}: {self.reason}"


class StaffAvailability(TimeStampedModel):
    """Working hours of a staff member at a site on one weekday (local time)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="availability")
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="staff_availability")
    weekday = models.PositiveSmallIntegerField(choices=WEEKDAYS)
    start_time = models.TimeField()
    end_time = models.TimeField()

    class Meta:
        ordering = ["user", "weekday", "start_time"]
        verbose_name_plural = "staff availability"
        constraints = [
            models.CheckConstraint(condition=Q(end_time__gt=F("start_time")), name="availability_end_after_start"),
            models.CheckConstraint(condition=Q(weekday__lte=6), name="availability_weekday_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.user} {WEEKDAY_NAMES.get(self.weekday)} {self.start_time:%H:%M}–{self.end_time:%H:%M}"

    def clean(self) -> None:
        super().clean()
        if self.start_time and self.end_time and self.end_time <= self.start_time:
            raise ValidationError({"end_time": "The end time must be after the start time."})


class TimeOff(TimeStampedModel):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="time_off")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    reason = models.CharField(max_length=120, blank=True)

    class Meta:
        ordering = ["-starts_at"]
        verbose_name_plural = "time off"
        constraints = [models.CheckConstraint(condition=Q(ends_at__gt=F("starts_at")), name="timeoff_end_after_start")]

    def __str__(self) -> str:
        return f"{self.user} off {self.starts_at:%Y-%m-%d %H:%M}–{self.ends_at:%Y-%m-%d %H:%M}"

    def clean(self) -> None:
        super().clean()
        if self.starts_at and self.ends_at and self.ends_at <= self.starts_at:
            raise ValidationError({"ends_at": "The end must be after the start."})


# --- Tracks -------------------------------------------------------------------------------


class LevelOfCare(models.TextChoices):
    STEP_DOWN = "1", "1 Outpatient (step-down)"
    IOP = "2.1", "2.1 Intensive outpatient (IOP)"
    PHP = "2.5", "2.5 Partial hospitalization (PHP)"


class AgeGroup(models.TextChoices):
    ADULT = "adult", "Adult"
    ADOLESCENT = "adolescent", "Adolescent"


class SessionKind(models.TextChoices):
    GROUP = "group", "Group therapy"
    PSYCHOEDUCATION = "psychoeducation", "Psychoeducation"
    SKILLS = "skills", "Skills workshop"
    FAMILY = "family", "Family session"
    INDIVIDUAL = "individual", "Individual session"
    WELLNESS = "wellness", "Wellness"
    CASE_MANAGEMENT = "case_management", "Case management"
    PEER_SUPPORT = "peer_support", "Peer recovery support"
    # By referral or on site (DOMAIN.md §5); the value fits the 20-character column.
    MEDICATION_MANAGEMENT = "med_management", "Psychiatric or medication management (MOUD/MAUD)"


# Kinds whose generated occurrences take their topic from the track's curriculum rotation.
ROTATING_KINDS = frozenset({SessionKind.GROUP, SessionKind.PSYCHOEDUCATION, SessionKind.SKILLS})
# Kinds booked one by one for a patient (``scheduling.services.session_book``), outside a track's
# blocks; their roster is that patient, so roll-call and notes treat them as individual sessions.
ONE_OFF_KINDS = frozenset(
    {
        SessionKind.INDIVIDUAL,
        SessionKind.FAMILY,
        SessionKind.CASE_MANAGEMENT,
        SessionKind.PEER_SUPPORT,
        SessionKind.MEDICATION_MANAGEMENT,
    }
)


@dataclass(frozen=True)
class HoursRule:
    """A level's weekly hours: at least ``minimum``, at most ``maximum`` (inclusive) and, where
    the level is defined as "less than", under ``below`` (exclusive)."""

    minimum: float
    maximum: float | None
    min_days: int
    max_days: int
    below: float | None = None


def hours_rule(level: str, age_group: str) -> HoursRule:
    """Weekly scheduled-hours and meeting-day limits of a level of care (DOMAIN.md §1.1, §5):
    2.1 (IOP) adult ≥ 9 h, adolescent ≥ 6 h, at most 19 h; 2.5 (PHP) ≥ 20 h; 1 (outpatient
    step-down) under 9 h for adults and under 6 h for adolescents (more is IOP intensity)."""
    adolescent = age_group == AgeGroup.ADOLESCENT
    if level == LevelOfCare.IOP:
        return HoursRule(minimum=6 if adolescent else 9, maximum=19, min_days=3, max_days=5)
    if level == LevelOfCare.PHP:
        return HoursRule(minimum=20, maximum=None, min_days=3, max_days=5)
    # Step-down outpatient: fewer days allowed, no minimum, and below the IOP threshold.
    return HoursRule(minimum=0, maximum=None, min_days=1, max_days=5, below=6 if adolescent else 9)


class TrackQuerySet(models.QuerySet["Track"]):
    def active(self) -> TrackQuerySet:
        return self.filter(is_active=True)


class Track(TimeStampedModel):
    """A program group meeting on fixed weekdays with fixed blocks of time."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="tracks")
    name = models.CharField(max_length=100)
    level_of_care = models.CharField(max_length=4, choices=LevelOfCare.choices, default=LevelOfCare.IOP)
    age_group = models.CharField(max_length=12, choices=AgeGroup.choices, default=AgeGroup.ADULT)
    # Weekday numbers, Monday = 0. JSON so SQLite and PostgreSQL store it alike.
    meeting_days = models.JSONField(default=list)
    capacity = models.PositiveSmallIntegerField(help_text="Most patients enrolled at any one time.")
    start_date = models.DateField()
    end_date = models.DateField(null=True, blank=True)
    topics = models.JSONField(
        default=list, blank=True, help_text="Curriculum topics, in order; group sessions cycle through them."
    )
    is_active = models.BooleanField("Active", default=True)

    objects = TrackQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["site", "name"], name="track_site_name_unique"),
            models.CheckConstraint(condition=Q(capacity__gte=1), name="track_capacity_positive"),
            models.CheckConstraint(
                condition=Q(end_date__isnull=True) | Q(end_date__gte=F("start_date")), name="track_end_after_start"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def rule(self) -> HoursRule:
        return hours_rule(self.level_of_care, self.age_group)

    @property
    def meeting_day_names(self) -> str:
        return ", ".join(WEEKDAY_SHORT[d] for d in sorted(self.meeting_days))

    def runs_on(self, day: date) -> bool:
        return (
            day.weekday() in self.meeting_days
            and day >= self.start_date
            and (self.end_date is None or day <= self.end_date)
        )

    def clean(self) -> None:
        super().clean()
        errors: dict[str, list[str]] = {}
        self.name = " ".join((self.name or "").split())
        days = self.meeting_days if isinstance(self.meeting_days, list) else []
        if not isinstance(self.meeting_days, list) or any(not isinstance(d, int) or not 0 <= d <= 6 for d in days):
            errors.setdefault("meeting_days", []).append("Meeting days are weekdays (Monday to Sunday).")
        elif len(set(days)) != len(days):
            errors.setdefault("meeting_days", []).append("Each meeting day may be chosen once.")
        else:
            self.meeting_days = sorted(days)
            rule = hours_rule(self.level_of_care, self.age_group)
            if not rule.min_days <= len(days) <= rule.max_days:
                errors.setdefault("meeting_days", []).append(
                    f"A {self.get_level_of_care_display()} track meets {rule.min_days}–{rule.max_days} days a week; "
                    f"{len(days)} chosen."
                )
        if not isinstance(self.topics, list) or any(not isinstance(t, str) for t in self.topics):
            errors.setdefault("topics", []).append("Topics are a list of titles.")
        else:
            self.topics = [" ".join(t.split()) for t in self.topics if t.strip()]
        if self.start_date and self.end_date and self.end_date < self.start_date:
            errors.setdefault("end_date", []).append("The end date is before the start date.")
        if errors:
            raise ValidationError(errors)


class TrackBlockQuerySet(models.QuerySet["TrackBlock"]):
    def active(self) -> TrackBlockQuerySet:
        return self.filter(is_active=True)


class TrackBlock(TimeStampedModel):
    """One block of time within a track's meeting day (e.g. 09:00–10:30 process group)."""

    track = models.ForeignKey(Track, on_delete=models.PROTECT, related_name="blocks")
    weekday = models.PositiveSmallIntegerField(
        choices=WEEKDAYS, null=True, blank=True, help_text="Leave empty for every meeting day."
    )
    start_time = models.TimeField()
    end_time = models.TimeField()
    kind = models.CharField(max_length=20, choices=SessionKind.choices, default=SessionKind.GROUP)
    title = models.CharField(
        max_length=120, blank=True, help_text="A fixed title; empty takes the next topic of the rotation."
    )
    room = models.ForeignKey(Room, null=True, blank=True, on_delete=models.PROTECT, related_name="track_blocks")
    facilitators = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="track_blocks")
    # Removed blocks are kept: past sessions point at them.
    is_active = models.BooleanField(default=True)

    objects = TrackBlockQuerySet.as_manager()

    class Meta:
        ordering = ["weekday", "start_time", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(end_time__gt=F("start_time")), name="trackblock_end_after_start"),
        ]

    def __str__(self) -> str:
        day = WEEKDAY_NAMES[self.weekday] if self.weekday is not None else "Every meeting day"
        return f"{day} {self.start_time:%H:%M}–{self.end_time:%H:%M} {self.get_kind_display()}"

    def applies_on(self, weekday: int) -> bool:
        return self.weekday is None or self.weekday == weekday

    @property
    def minutes(self) -> int:
        return (self.end_time.hour * 60 + self.end_time.minute) - (self.start_time.hour * 60 + self.start_time.minute)


# --- Sessions and bookings ------------------------------------------------------------------


class SessionStatus(models.TextChoices):
    SCHEDULED = "scheduled", "Scheduled"
    CANCELLED = "cancelled", "Cancelled"


class CancelReason(models.TextChoices):
    CLOSURE = "closure", "Site closed"
    SERIES_CHANGED = "series_changed", "Removed from the track's schedule"
    CONFLICT = "conflict", "Not booked: a facilitator or room was taken"
    STAFF = "staff", "Cancelled by staff"


class TherapySessionQuerySet(models.QuerySet["TherapySession"]):
    def scheduled(self) -> TherapySessionQuerySet:
        return self.filter(status=SessionStatus.SCHEDULED)

    def between(self, start: datetime, end: datetime) -> TherapySessionQuerySet:
        return self.filter(starts_at__lt=end, ends_at__gt=start)

    def for_facilitator(self, user) -> TherapySessionQuerySet:
        return self.filter(facilitators=user)

    def for_calendar(self) -> TherapySessionQuerySet:
        return self.select_related("site", "track", "room").prefetch_related("facilitators").order_by("starts_at", "id")


class TherapySession(TimeStampedModel):
    """One scheduled occurrence: a group meeting of a track, or an individual/family session."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="therapy_sessions")
    track = models.ForeignKey(Track, null=True, blank=True, on_delete=models.PROTECT, related_name="sessions")
    block = models.ForeignKey(TrackBlock, null=True, blank=True, on_delete=models.PROTECT, related_name="sessions")
    # Groups a recurring individual/family series (track sessions use block + date).
    series_key = models.UUIDField(null=True, blank=True, db_index=True, editable=False)
    # The local date the series placed this occurrence on (kept when the occurrence is moved).
    occurrence_date = models.DateField(null=True, blank=True)
    kind = models.CharField(max_length=20, choices=SessionKind.choices)
    topic = models.CharField(max_length=120, blank=True)
    starts_at = models.DateTimeField(db_index=True)
    ends_at = models.DateTimeField()
    room = models.ForeignKey(Room, null=True, blank=True, on_delete=models.PROTECT, related_name="sessions")
    facilitators = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="facilitated_sessions")
    status = models.CharField(max_length=12, choices=SessionStatus.choices, default=SessionStatus.SCHEDULED)
    cancel_reason = models.CharField(max_length=20, choices=CancelReason.choices, blank=True)
    # Moved or cancelled on its own: series changes leave it alone.
    is_exception = models.BooleanField(default=False)
    original_starts_at = models.DateTimeField(null=True, blank=True)
    note = models.CharField(max_length=200, blank=True, help_text="Shown on the calendar (e.g. why it moved).")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    objects = TherapySessionQuerySet.as_manager()

    class Meta:
        ordering = ["starts_at", "id"]
        indexes = [models.Index(fields=["site", "starts_at"], name="session_site_start_idx")]
        constraints = [
            # Generation is idempotent: one occurrence per block and local date.
            models.UniqueConstraint(
                fields=["block", "occurrence_date"],
                condition=Q(block__isnull=False),
                name="session_block_date_unique",
            ),
            models.UniqueConstraint(
                fields=["series_key", "occurrence_date"],
                condition=Q(series_key__isnull=False),
                name="session_series_date_unique",
            ),
            models.CheckConstraint(condition=Q(ends_at__gt=F("starts_at")), name="session_end_after_start"),
            models.CheckConstraint(
                condition=Q(status="scheduled", cancel_reason="") | (Q(status="cancelled") & ~Q(cancel_reason="")),
                name="session_cancel_reason_with_status",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.title} {self.starts_at:%Y-%m-%d %H:%M}"

    @property
    def title(self) -> str:
        return self.topic or self.get_kind_display()

    @property
    def is_cancelled(self) -> bool:
        return self.status == SessionStatus.CANCELLED

    @property
    def capacity(self) -> int | None:
        limits = [
            c
            for c in (self.track.capacity if self.track_id else None, self.room.capacity if self.room_id else None)
            if c
        ]
        return min(limits) if limits else None

    def local_start(self):
        return self.starts_at.astimezone(self.site.zone)

    def local_end(self):
        return self.ends_at.astimezone(self.site.zone)

    def clean(self) -> None:
        super().clean()
        if self.starts_at and self.ends_at and self.ends_at <= self.starts_at:
            raise ValidationError({"ends_at": "The session must end after it starts."})
        if self.room_id and self.site_id and self.room.site_id != self.site_id:
            raise ValidationError({"room": "That room belongs to another site."})


class ResourceType(models.TextChoices):
    ROOM = "room", "Room"
    STAFF = "staff", "Facilitator"


class Booking(models.Model):
    """A room or a facilitator held for a session's time.

    On PostgreSQL an exclusion constraint (migration 0002) refuses two active bookings of
    the same ``resource_key`` whose ``[starts_at, ends_at)`` ranges overlap; on SQLite the
    booking service checks inside its (IMMEDIATE, so serialised) transaction.
    """

    session = models.ForeignKey(TherapySession, on_delete=models.CASCADE, related_name="bookings")
    resource_type = models.CharField(max_length=8, choices=ResourceType.choices)
    room = models.ForeignKey(Room, null=True, blank=True, on_delete=models.PROTECT, related_name="bookings")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="bookings"
    )
    # "room:<id>" or "staff:<id>": one column the exclusion constraint compares with "=".
    resource_key = models.CharField(max_length=32, editable=False)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    is_active = models.BooleanField(default=True)

    class Meta:
        indexes = [models.Index(fields=["resource_key", "starts_at"], name="booking_resource_start_idx")]
        constraints = [
            models.CheckConstraint(condition=Q(ends_at__gt=F("starts_at")), name="booking_end_after_start"),
            models.CheckConstraint(
                condition=(Q(resource_type="room") & Q(room__isnull=False) & Q(user__isnull=True))
                | (Q(resource_type="staff") & Q(user__isnull=False) & Q(room__isnull=True)),
                name="booking_one_resource",
            ),
            models.UniqueConstraint(fields=["session", "resource_key"], name="booking_session_resource_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.resource_key} {self.starts_at:%Y-%m-%d %H:%M}"

    @staticmethod
    def key_for_room(room_id: int) -> str:
        return f"room:{room_id}"

    @staticmethod
    def key_for_user(user_id: int) -> str:
        return f"staff:{user_id}"


# --- Enrollment and rosters -----------------------------------------------------------------


class EnrollmentQuerySet(models.QuerySet["Enrollment"]):
    def overlapping(self, start: date, end: date | None) -> EnrollmentQuerySet:
        """Enrollments active on at least one day of ``start``..``end`` (open-ended if None)."""
        qs = self.filter(Q(end_date__isnull=True) | Q(end_date__gte=start))
        return qs if end is None else qs.filter(start_date__lte=end)

    def active_on(self, day: date) -> EnrollmentQuerySet:
        return self.overlapping(day, day).filter(
            Q(episode__discharge_date__isnull=True) | Q(episode__discharge_date__gte=day)
        )


class Enrollment(TimeStampedModel):
    """A patient's place in a track from ``start_date`` to ``end_date`` (inclusive, open if empty).

    Moving to another track ends this row and opens a new one, so the history stays.
    """

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    track = models.ForeignKey(Track, on_delete=models.PROTECT, related_name="enrollments")
    episode = models.ForeignKey("patients.Episode", on_delete=models.PROTECT, related_name="enrollments")
    start_date = models.DateField()
    end_date = models.DateField(null=True, blank=True)
    is_taper = models.BooleanField(
        "Transition taper",
        default=False,
        help_text="Step-down weeks below the level's hours are expected, not flagged as under-dosing.",
    )
    note = models.CharField(max_length=200, blank=True)
    end_reason = models.CharField(max_length=120, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    objects = EnrollmentQuerySet.as_manager()

    class Meta:
        ordering = ["-start_date", "-id"]
        indexes = [models.Index(fields=["track", "start_date"], name="enrollment_track_start_idx")]
        constraints = [
            models.CheckConstraint(
                condition=Q(end_date__isnull=True) | Q(end_date__gte=F("start_date")), name="enrollment_end_after_start"
            ),
        ]

    def __str__(self) -> str:
        return f"Enrollment from {self.start_date:%Y-%m-%d}"

    @property
    def last_day(self) -> date | None:
        """The last day on the roster: the end date, or the discharge date if earlier."""
        ends = [d for d in (self.end_date, self.episode.discharge_date) if d is not None]
        return min(ends) if ends else None

    def is_active_on(self, day: date) -> bool:
        last = self.last_day
        return self.start_date <= day and (last is None or day <= last)

    def clean(self) -> None:
        super().clean()
        if self.start_date and self.end_date and self.end_date < self.start_date:
            raise ValidationError({"end_date": "The end date is before the start date."})


class RosterAddition(TimeStampedModel):
    """A patient added to one occurrence only (a make-up group, or an individual session's patient)."""

    session = models.ForeignKey(TherapySession, on_delete=models.PROTECT, related_name="roster_additions")
    episode = models.ForeignKey("patients.Episode", on_delete=models.PROTECT, related_name="roster_additions")
    reason = models.CharField(max_length=120, blank=True)
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["session", "episode"], name="roster_addition_unique")]

    def __str__(self) -> str:
        return f"Roster addition to session {self.session_id}"


# --- iCal feed ---------------------------------------------------------------------------------


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class CalendarFeed(TimeStampedModel):
    """A clinician's secret iCal link. Only the token's hash is stored."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="calendar_feed")
    token_hash = models.CharField(max_length=64, unique=True, editable=False)

    def __str__(self) -> str:
        return f"Calendar feed of {self.user}"

    @staticmethod
    def new_token() -> tuple[str, str]:
        token = secrets.token_urlsafe(32)
        return token, _hash_token(token)

    @classmethod
    def for_token(cls, token: str) -> CalendarFeed | None:
        return cls.objects.select_related("user").filter(token_hash=_hash_token(token)).first()


def weekly_minutes(meeting_days, blocks) -> int:
    """Scheduled minutes in one week: each block counts on each meeting day it applies to."""
    days = list(meeting_days)
    return sum(b.minutes * sum(1 for d in days if b.weekday is None or b.weekday == d) for b in blocks)


def weekly_hours_of(track: Track, blocks) -> float:
    return round(weekly_minutes(track.meeting_days, blocks) / 60, 2)


def week_start(day: date) -> date:
    """The Monday of ``day``'s ISO week."""
    return day - timedelta(days=day.weekday())
