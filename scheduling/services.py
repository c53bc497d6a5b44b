"""Writes to rooms, closures, staff hours, tracks, sessions, bookings and enrollments.

Every function takes keyword arguments, the acting user as ``by=`` (``None`` for the periodic
task), runs in one transaction, refuses bad data with ``ValidationError`` and records an audit
event last (after any row locks are held, so the audit chain's lock never waits on a booking).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from audit.models import Action
from audit.services import record
from plans.models import TriggerReason
from plans.services import plan_review_request
from users.models import Membership, Site, User
from users.permissions import has_capability

from .models import (
    ONE_OFF_KINDS,
    ROTATING_KINDS,
    Booking,
    CalendarFeed,
    CancelReason,
    Closure,
    ResourceType,
    Room,
    SessionKind,
    SessionStatus,
    StaffAvailability,
    TherapySession,
    TimeOff,
    Track,
    TrackBlock,
    local_datetime,
    weekly_minutes,
)
from .reminders import reminders_cancel_for_session, reminders_plan_for_session

DEFAULT_HORIZON_WEEKS = 4
MAX_REPEAT_WEEKS = 26


def horizon_weeks() -> int:
    return int(getattr(settings, "SCHEDULING_HORIZON_WEEKS", DEFAULT_HORIZON_WEEKS))


class BookingConflict(ValidationError):
    """A facilitator or room is already held for an overlapping time (the API answers 409)."""

    def __init__(self, message: str, *, resource: str = "", starts_at=None, ends_at=None):
        super().__init__(message, code="booking_conflict")
        self.resource = resource
        self.starts_at = starts_at
        self.ends_at = ends_at


def _fmt_range(site: Site, starts_at: datetime, ends_at: datetime) -> str:
    start = starts_at.astimezone(site.zone)
    end = ends_at.astimezone(site.zone)
    return f"{start:%a %Y-%m-%d %H:%M}–{end:%H:%M}"


# --- Rooms, closures, staff hours -----------------------------------------------------------


@transaction.atomic
def room_create(*, site: Site, name: str, capacity: int, by: User | None, is_active: bool = True) -> Room:
    room = Room(site=site, name=name, capacity=capacity, is_active=is_active)
    room.full_clean()
    room.save()
    record(Action.CREATE, actor=by, site=site, obj=room, changes={"name": room.name, "capacity": capacity})
    return room


@transaction.atomic
def room_update(*, room: Room, by: User | None, **fields) -> Room:
    room = Room.objects.select_for_update(of=("self",)).get(pk=room.pk)
    changed = [name for name, value in fields.items() if getattr(room, name) != value]
    if not changed:
        return room
    before = {name: getattr(room, name) for name in changed}
    for name in changed:
        setattr(room, name, fields[name])
    room.full_clean()
    room.save(update_fields=[*changed, "updated_at"])
    record(
        Action.UPDATE,
        actor=by,
        site=room.site_id,
        obj=room,
        changes={"before": before, "after": {n: fields[n] for n in changed}},
    )
    return room


def _local_day_bounds(site: Site, day: date) -> tuple[datetime, datetime]:
    start = local_datetime(day, time.min, site.zone)
    return start, local_datetime(day + timedelta(days=1), time.min, site.zone)


@transaction.atomic
def closure_create(*, site: Site, date: date, reason: str, by: User | None) -> Closure:
    """Close the site for a day: every scheduled session that day is cancelled with the
    closure's reason (kept and shown on the calendar, never deleted)."""
    closure = Closure(site=site, date=date, reason=" ".join((reason or "").split()))
    try:
        closure.full_clean()
    except ValidationError as exc:
        if "__all__" in getattr(exc, "error_dict", {}):
            raise ValidationError({"date": f"The site is already closed on {date:%Y-%m-%d}."}) from None
        raise
    closure.save()
    start, end = _local_day_bounds(site, date)
    sessions = list(
        TherapySession.objects.select_for_update(of=("self",))
        .filter(site=site, status=SessionStatus.SCHEDULED)
        .between(start, end)
    )
    for session in sessions:
        _cancel(session, reason=CancelReason.CLOSURE, note=f"Closed: {closure.reason}")
    record(
        Action.CREATE,
        actor=by,
        site=site,
        obj=closure,
        changes={"date": date, "reason": closure.reason, "sessions_cancelled": len(sessions)},
    )
    return closure


@transaction.atomic
def closure_delete(*, closure: Closure, by: User | None) -> int:
    """Reopen the day: sessions cancelled for the closure are restored where their room and
    facilitators are still free. Returns how many were restored."""
    closure = Closure.objects.select_for_update(of=("self",)).select_related("site").get(pk=closure.pk)
    site = closure.site
    start, end = _local_day_bounds(site, closure.date)
    restored = 0
    for session in (
        TherapySession.objects.select_for_update(of=("self",))
        .filter(site=site, status=SessionStatus.CANCELLED, cancel_reason=CancelReason.CLOSURE)
        .between(start, end)
    ):
        restored += _try_restore(session)
    record(
        Action.DELETE,
        actor=by,
        site=site,
        obj=closure,
        changes={"date": closure.date, "reason": closure.reason, "sessions_restored": restored},
    )
    closure.delete()
    return restored


def _lock_user(user: User) -> None:
    """Serialise changes to one person's hours and time off (overlap checks then hold)."""
    list(User.objects.select_for_update(of=("self",)).filter(pk=user.pk).values_list("pk", flat=True))


@transaction.atomic
def availability_add(
    *, user: User, site: Site, weekday: int, start_time: time, end_time: time, by: User | None
) -> StaffAvailability:
    """Record working hours on one weekday at a site (local time). Refuses an end before the
    start and hours overlapping ones already recorded for that day at that site."""
    from .models import WEEKDAY_NAMES  # noqa: PLC0415

    if not Membership.objects.active().filter(user=user, site=site).exists():
        raise ValidationError({"weekday": "Working hours are recorded for active staff of this site only."})
    slot = StaffAvailability(user=user, site=site, weekday=weekday, start_time=start_time, end_time=end_time)
    slot.full_clean()
    _lock_user(user)
    clash = (
        StaffAvailability.objects.filter(
            user=user, site=site, weekday=weekday, start_time__lt=end_time, end_time__gt=start_time
        )
        .order_by("start_time")
        .first()
    )
    if clash is not None:
        raise ValidationError(
            {
                "start_time": f"These hours overlap {WEEKDAY_NAMES[weekday]} "
                f"{clash.start_time:%H:%M}–{clash.end_time:%H:%M}, already recorded."
            }
        )
    slot.save()
    record(
        Action.CREATE,
        actor=by,
        site=site,
        obj=slot,
        changes={"user": str(user.public_id), "weekday": weekday, "start_time": start_time, "end_time": end_time},
    )
    return slot


@transaction.atomic
def availability_remove(*, slot: StaffAvailability, by: User | None) -> None:
    """Remove one weekday's working hours (bookings already made stay as they are)."""
    slot = StaffAvailability.objects.select_for_update(of=("self",)).select_related("user").get(pk=slot.pk)
    record(
        Action.DELETE,
        actor=by,
        site=slot.site_id,
        obj=slot,
        changes={
            "user": str(slot.user.public_id),
            "weekday": slot.weekday,
            "start_time": slot.start_time,
            "end_time": slot.end_time,
        },
    )
    slot.delete()


@transaction.atomic
def time_off_add(
    *,
    user: User,
    starts_at: datetime,
    ends_at: datetime,
    reason: str = "",
    by: User | None,
    site: Site | None = None,
) -> TimeOff:
    """Record time away. Refuses an end before the start and a period overlapping time off
    already recorded (named in ``site``'s zone when given). Sessions already booked are not
    moved: bookings made later are refused for the period."""
    off = TimeOff(user=user, starts_at=starts_at, ends_at=ends_at, reason=" ".join((reason or "").split()))
    off.full_clean()
    _lock_user(user)
    clash = (
        TimeOff.objects.filter(user=user, starts_at__lt=ends_at, ends_at__gt=starts_at).order_by("starts_at").first()
    )
    if clash is not None:
        zone = site.zone if site is not None else timezone.get_current_timezone()
        raise ValidationError(
            {
                "starts_at": "This overlaps time off already recorded, "
                f"{clash.starts_at.astimezone(zone):%a %Y-%m-%d %H:%M} to {clash.ends_at.astimezone(zone):%a %Y-%m-%d %H:%M}."
            }
        )
    off.save()
    record(
        Action.CREATE,
        actor=by,
        site=site,
        obj=off,
        changes={"user": str(user.public_id), "starts_at": starts_at, "ends_at": ends_at},
    )
    return off


@transaction.atomic
def time_off_remove(*, off: TimeOff, by: User | None, site: Site | None = None) -> None:
    off = TimeOff.objects.select_for_update(of=("self",)).select_related("user").get(pk=off.pk)
    record(
        Action.DELETE,
        actor=by,
        site=site,
        obj=off,
        changes={"user": str(off.user.public_id), "starts_at": off.starts_at, "ends_at": off.ends_at},
    )
    off.delete()


# --- Bookings -----------------------------------------------------------------------------------


def _resources(room: Room | None, facilitators: Iterable[User]) -> list[tuple[str, str, Room | None, User | None, str]]:
    """(key, type, room, user, label) in a fixed order, so concurrent bookers lock alike."""
    items = []
    if room is not None:
        items.append((Booking.key_for_room(room.pk), ResourceType.ROOM, room, None, f"Room {room.name}"))
    for user in sorted(facilitators, key=lambda u: u.pk):
        items.append((Booking.key_for_user(user.pk), ResourceType.STAFF, None, user, str(user)))
    return items


def _conflict(session: TherapySession, label: str, other: Booking | None = None) -> BookingConflict:
    when = _fmt_range(session.site, session.starts_at, session.ends_at)
    if other is not None:
        taken = _fmt_range(session.site, other.starts_at, other.ends_at)
        message = f"{label} is already booked {taken}, which overlaps {when}."
    else:
        message = f"{label} was booked by someone else for a time overlapping {when} a moment ago."
    return BookingConflict(message, resource=label, starts_at=session.starts_at, ends_at=session.ends_at)


def _book(session: TherapySession, room: Room | None, facilitators: Iterable[User]) -> None:
    """Hold the room and each facilitator for the session's time, or raise BookingConflict.

    The query below gives a precise message; on SQLite it is also the guarantee (the
    transaction holds the database's write lock from its start). On PostgreSQL two
    transactions can both pass it; the exclusion constraint then lets exactly one insert
    through and the other's IntegrityError becomes the same BookingConflict.
    """
    resources = _resources(room, facilitators)
    if not resources:
        return
    clash = (
        Booking.objects.filter(
            resource_key__in=[key for key, *_ in resources],
            is_active=True,
            starts_at__lt=session.ends_at,
            ends_at__gt=session.starts_at,
        )
        .exclude(session=session)
        .order_by("starts_at")
        .first()
    )
    if clash is not None:
        label = next(lbl for key, _, _, _, lbl in resources if key == clash.resource_key)
        raise _conflict(session, label, clash)
    for key, kind, booked_room, user, label in resources:
        try:
            with transaction.atomic():
                Booking.objects.create(
                    session=session,
                    resource_type=kind,
                    room=booked_room,
                    user=user,
                    resource_key=key,
                    starts_at=session.starts_at,
                    ends_at=session.ends_at,
                )
        except IntegrityError as exc:
            if "booking_no_overlap" in str(exc):
                raise _conflict(session, label) from None
            raise


def _unbook(session: TherapySession) -> None:
    Booking.objects.filter(session=session).delete()


def _check_staff_free(site: Site, facilitators: Iterable[User], starts_at: datetime, ends_at: datetime) -> None:
    """Time off and (where recorded) working hours of each facilitator, for booked one-offs and moves."""
    users = list(facilitators)
    if not users:
        return
    off = TimeOff.objects.filter(user__in=users, starts_at__lt=ends_at, ends_at__gt=starts_at).select_related("user")
    for leave in off:
        raise BookingConflict(
            f"{leave.user} is away {_fmt_range(site, leave.starts_at, leave.ends_at)}"
            f"{f' ({leave.reason})' if leave.reason else ''}.",
            resource=str(leave.user),
            starts_at=starts_at,
            ends_at=ends_at,
        )
    local_start, local_end = starts_at.astimezone(site.zone), ends_at.astimezone(site.zone)
    hours: dict[int, list[StaffAvailability]] = {}
    for slot in StaffAvailability.objects.filter(user__in=users, site=site):
        hours.setdefault(slot.user_id, []).append(slot)
    for user in users:
        slots = hours.get(user.pk)
        if not slots:
            continue  # no working hours recorded: not restricted
        fits = any(
            s.weekday == local_start.weekday()
            and s.start_time <= local_start.time()
            and local_end.date() == local_start.date()
            and local_end.time() <= s.end_time
            for s in slots
        )
        if not fits:
            raise ValidationError(
                {"start_time": f"{local_start:%a %H:%M}–{local_end:%H:%M} is outside {user}'s working hours."}
            )


def _check_facilitators(site: Site, facilitators: Iterable[User], field_name: str = "facilitators") -> None:
    ids = {u.pk for u in facilitators}
    if not ids:
        return
    members = set(Membership.objects.active().filter(site=site, user_id__in=ids).values_list("user_id", flat=True))
    if ids - members:
        raise ValidationError({field_name: "Every facilitator must be an active staff member of this site."})


def _check_room(site: Site, room: Room | None, field_name: str = "room") -> None:
    if room is not None and (room.site_id != site.pk or not room.is_active):
        raise ValidationError({field_name: "Choose an active room of this site."})


# --- Tracks ----------------------------------------------------------------------------------------


@dataclass
class BlockSpec:
    """One row of the block formset: ``id`` is set for an existing block, ``delete`` removes it."""

    start_time: time
    end_time: time
    kind: str = SessionKind.GROUP
    weekday: int | None = None
    title: str = ""
    room: Room | None = None
    facilitators: Sequence[User] = field(default_factory=list)
    id: int | None = None
    delete: bool = False

    @property
    def minutes(self) -> int:
        return (self.end_time.hour * 60 + self.end_time.minute) - (self.start_time.hour * 60 + self.start_time.minute)


def _hours(minutes: int) -> str:
    return f"{minutes / 60:g} h"


def _validate_blocks(track: Track, blocks: Sequence[BlockSpec]) -> None:
    """Every block ends after it starts, sits on a meeting day, does not overlap another block
    that day, and the week reaches the level's minimum hours (and stays under its maximum)."""
    errors: list[str] = []
    days = track.meeting_days if isinstance(track.meeting_days, list) else []
    live = [b for b in blocks if not b.delete]
    if not live:
        raise ValidationError({"blocks": "Add at least one block of time (e.g. 09:00–10:30 group therapy)."})
    for b in live:
        label = f"{b.start_time:%H:%M}–{b.end_time:%H:%M}"
        if b.end_time <= b.start_time:
            errors.append(f"The block {label} ends before it starts.")
        if b.weekday is not None and b.weekday not in days:
            errors.append(f"The block {label} is on a day the track does not meet.")
        if b.kind not in SessionKind.values:
            errors.append(f"The block {label} has an unknown session type.")
        if b.room is not None and (b.room.site_id != track.site_id or not b.room.is_active):
            errors.append(f"The block {label} uses a room that is not an active room of this site.")
    if errors:
        raise ValidationError({"blocks": errors})
    from .models import WEEKDAY_NAMES

    for day in days:
        todays = sorted((b for b in live if b.weekday is None or b.weekday == day), key=lambda b: b.start_time)
        for earlier, later in zip(todays, todays[1:], strict=False):
            if later.start_time < earlier.end_time:
                errors.append(
                    f"On {WEEKDAY_NAMES[day]} the blocks {earlier.start_time:%H:%M}–{earlier.end_time:%H:%M} and "
                    f"{later.start_time:%H:%M}–{later.end_time:%H:%M} overlap."
                )
    if errors:
        raise ValidationError({"blocks": errors})
    minutes = weekly_minutes(days, live)
    rule = track.rule
    level = track.get_level_of_care_display()
    if minutes < rule.minimum * 60:
        raise ValidationError(
            {
                "blocks": f"These blocks give {_hours(minutes)} a week; an {track.get_age_group_display().lower()} "
                f"{level} track needs at least {rule.minimum:g} h."
            }
        )
    if rule.maximum is not None and minutes > rule.maximum * 60:
        raise ValidationError(
            {"blocks": f"These blocks give {_hours(minutes)} a week; {level} allows at most {rule.maximum:g} h."}
        )
    if rule.below is not None and minutes >= rule.below * 60:
        raise ValidationError(
            {
                "blocks": f"These blocks give {_hours(minutes)} a week; an {track.get_age_group_display().lower()} "
                f"{level} track stays under {rule.below:g} h a week ({rule.below:g} h or more is intensive "
                "outpatient, level 2.1)."
            }
        )
    users = {u for b in live for u in b.facilitators}
    _check_facilitators(track.site, users, field_name="blocks")


def _save_blocks(track: Track, blocks: Sequence[BlockSpec]) -> None:
    existing = {b.pk: b for b in track.blocks.select_for_update(of=("self",)).filter(is_active=True)}
    for spec in blocks:
        if spec.id is not None:
            block = existing.get(spec.id)
            if block is None:
                raise ValidationError({"blocks": "A block of this form no longer exists; reload the page."})
            if spec.delete:
                block.is_active = False
                block.save(update_fields=["is_active", "updated_at"])
                continue
        elif spec.delete:
            continue
        else:
            block = TrackBlock(track=track)
        block.weekday = spec.weekday
        block.start_time = spec.start_time
        block.end_time = spec.end_time
        block.kind = spec.kind
        block.title = " ".join((spec.title or "").split())
        block.room = spec.room
        block.full_clean()
        block.save()
        block.facilitators.set(spec.facilitators)


def _track_snapshot(track: Track) -> dict:
    return {
        "name": track.name,
        "level_of_care": track.level_of_care,
        "age_group": track.age_group,
        "meeting_days": track.meeting_days,
        "capacity": track.capacity,
        "start_date": track.start_date,
        "end_date": track.end_date,
        "topics": track.topics,
    }


@transaction.atomic
def track_create(
    *,
    site: Site,
    by: User | None,
    name: str,
    level_of_care: str,
    age_group: str,
    meeting_days: list[int],
    capacity: int,
    start_date: date,
    blocks: Sequence[BlockSpec],
    end_date: date | None = None,
    topics: Sequence[str] = (),
) -> Track:
    """Create a track and its blocks and generate its sessions over the horizon.

    Refuses (saving nothing) a track outside its level's meeting days or weekly hours,
    overlapping blocks, a block ending before it starts, or sessions whose room or
    facilitators are already booked.
    """
    track = Track(
        site=site,
        name=name,
        level_of_care=level_of_care,
        age_group=age_group,
        meeting_days=list(meeting_days),
        capacity=capacity,
        start_date=start_date,
        end_date=end_date,
        topics=list(topics),
    )
    track.full_clean()
    _validate_blocks(track, blocks)
    track.save()
    _save_blocks(track, blocks)
    _generate(track, strict=True)
    record(Action.CREATE, actor=by, site=site, obj=track, changes=_track_snapshot(track))
    return track


@transaction.atomic
def track_update(*, track: Track, by: User | None, blocks: Sequence[BlockSpec] | None = None, **fields) -> Track:
    """Change a track or its blocks. Only future occurrences that were not moved or cancelled
    one by one follow the change; past and exception occurrences keep what they were."""
    track = Track.objects.select_for_update(of=("self",)).select_related("site").get(pk=track.pk)
    before = _track_snapshot(track)
    for name, value in fields.items():
        setattr(track, name, value)
    track.full_clean()
    blocks_changed = blocks is not None
    if blocks is None:
        current = [
            BlockSpec(
                id=b.pk,
                weekday=b.weekday,
                start_time=b.start_time,
                end_time=b.end_time,
                kind=b.kind,
                title=b.title,
                room=b.room,
                facilitators=list(b.facilitators.all()),
            )
            for b in track.blocks.active().select_related("room").prefetch_related("facilitators")
        ]
        blocks = current
    _validate_blocks(track, blocks)
    track.save()
    _save_blocks(track, blocks)
    _reconcile_future(track, strict=True)
    _generate(track, strict=True)
    after = _track_snapshot(track)
    changed = {k: (before[k], after[k]) for k in after if before[k] != after[k]}
    record(
        Action.UPDATE,
        actor=by,
        site=track.site_id,
        obj=track,
        changes={
            "before": {k: v[0] for k, v in changed.items()},
            "after": {k: v[1] for k, v in changed.items()},
            "blocks_changed": blocks_changed,
        },
    )
    return track


@transaction.atomic
def track_deactivate(*, track: Track, by: User | None, reason: str = "") -> int:
    """Stop a track: it is marked inactive (no more generation, no new enrollments) and its
    future scheduled sessions are cancelled, kept on the calendar with the reason, never
    deleted. Refused while patients are enrolled today or later: end or move them first.
    Returns how many sessions were cancelled."""
    from .models import Enrollment  # noqa: PLC0415

    track = Track.objects.select_for_update(of=("self",)).select_related("site").get(pk=track.pk)
    if not track.is_active:
        raise ValidationError("This track is already inactive.")
    today = _site_today(track.site)
    current = [
        e
        for e in Enrollment.objects.filter(track=track).overlapping(today, None).select_related("episode")
        if e.last_day is None or e.last_day >= today
    ]
    if current:
        raise ValidationError(
            f"{len(current)} patient{'s are' if len(current) != 1 else ' is'} enrolled from today on; "
            "end or move those enrollments first."
        )
    reason = " ".join((reason or "").split())
    note = f"Track deactivated{f': {reason}' if reason else ''}"[:200]
    sessions = list(
        TherapySession.objects.select_for_update(of=("self",))
        .filter(track=track, status=SessionStatus.SCHEDULED, starts_at__gte=timezone.now())
        .order_by("starts_at")
    )
    for session in sessions:
        _cancel(session, reason=CancelReason.SERIES_CHANGED, note=note)
    track.is_active = False
    track.save(update_fields=["is_active", "updated_at"])
    record(
        Action.UPDATE,
        actor=by,
        site=track.site_id,
        obj=track,
        reason=reason,
        changes={"before": {"is_active": True}, "after": {"is_active": False}, "sessions_cancelled": len(sessions)},
    )
    return len(sessions)


# --- Generation -------------------------------------------------------------------------------------


@dataclass
class GenerationResult:
    created: int = 0
    closed: int = 0
    conflicts: list[str] = field(default_factory=list)
    updated: int = 0


def _site_today(site: Site) -> date:
    return timezone.localdate(timezone=site.zone)


class _Rotation:
    """Which curriculum topic an occurrence gets: the rotation advances one topic per rotating
    block occurrence, in calendar order from the track's start; closed days do not use one up."""

    def __init__(self, track: Track, blocks: Sequence[TrackBlock], closed: set[date]):
        self.track = track
        self.topics = track.topics or []
        self.rotating = sorted(
            (b for b in blocks if not b.title and b.kind in ROTATING_KINDS), key=lambda b: (b.start_time, b.pk)
        )
        self.closed = closed
        self._day = track.start_date
        self._count = 0  # rotating slots strictly before self._day

    def _slots_on(self, day: date) -> list[TrackBlock]:
        if not self.track.runs_on(day) or day in self.closed:
            return []
        return [b for b in self.rotating if b.applies_on(day.weekday())]

    def topic(self, block: TrackBlock, day: date) -> str:
        if block.title:
            return block.title
        if block.kind not in ROTATING_KINDS or not self.topics:
            return ""
        if day < self._day:  # callers go forwards; restart if one does not
            self._day, self._count = self.track.start_date, 0
        while self._day < day:
            self._count += len(self._slots_on(self._day))
            self._day += timedelta(days=1)
        slots = self._slots_on(day)
        index = self._count + (slots.index(block) if block in slots else 0)
        return self.topics[index % len(self.topics)]


def _closures(site: Site, start: date, end: date) -> dict[date, str]:
    return dict(Closure.objects.filter(site=site, date__gte=start, date__lte=end).values_list("date", "reason"))


def _generate(
    track: Track,
    *,
    until: date | None = None,
    since: date | None = None,
    strict: bool = False,
    by: User | None = None,
) -> GenerationResult:
    result = GenerationResult()
    site = track.site
    zone = site.zone
    today = _site_today(site)
    start = max(track.start_date, since or today)
    end = until or today + timedelta(weeks=horizon_weeks())
    if track.end_date is not None:
        end = min(end, track.end_date)
    if not track.is_active or end < start:
        return result
    blocks = list(track.blocks.active().select_related("room").prefetch_related("facilitators"))
    if not blocks:
        return result
    existing = set(
        TherapySession.objects.filter(track=track, occurrence_date__gte=start, occurrence_date__lte=end).values_list(
            "block_id", "occurrence_date"
        )
    )
    closures = _closures(site, track.start_date, end)
    rotation = _Rotation(track, blocks, set(closures))
    day = start
    while day <= end:
        if track.runs_on(day):
            for block in sorted(blocks, key=lambda b: b.start_time):
                if not block.applies_on(day.weekday()) or (block.pk, day) in existing:
                    continue
                facilitators = list(block.facilitators.all())
                session = TherapySession(
                    site=site,
                    track=track,
                    block=block,
                    occurrence_date=day,
                    kind=block.kind,
                    topic=rotation.topic(block, day),
                    starts_at=local_datetime(day, block.start_time, zone),
                    ends_at=local_datetime(day, block.end_time, zone),
                    room=block.room,
                    created_by=by,
                )
                if day in closures:
                    session.status = SessionStatus.CANCELLED
                    session.cancel_reason = CancelReason.CLOSURE
                    session.note = f"Closed: {closures[day]}"[:200]
                    session.save()
                    session.facilitators.set(facilitators)
                    result.closed += 1
                    continue
                try:
                    with transaction.atomic():
                        session.save()
                        session.facilitators.set(facilitators)
                        _book(session, block.room, facilitators)
                except BookingConflict as exc:
                    if strict:
                        raise ValidationError({"blocks": exc.messages}) from None
                    session.pk = None
                    session._state.adding = True
                    session.status = SessionStatus.CANCELLED
                    session.cancel_reason = CancelReason.CONFLICT
                    session.note = exc.messages[0][:200]
                    session.save()
                    session.facilitators.set(facilitators)
                    result.conflicts.append(exc.messages[0])
                    continue
                result.created += 1
        day += timedelta(days=1)
    return result


def _desired(track: Track, session: TherapySession, closures: dict[date, str]) -> bool:
    block = session.block
    day = session.occurrence_date
    return bool(block and block.is_active and track.runs_on(day) and block.applies_on(day.weekday()))


def _reconcile_future(track: Track, *, strict: bool) -> GenerationResult:
    """Bring future series occurrences in line with the track's current blocks.

    Occurrences that already started, and exceptions (moved or cancelled one by one), are
    left alone. An occurrence the schedule no longer has is cancelled ("removed from the
    track's schedule"); one that comes back is restored.
    """
    result = GenerationResult()
    site = track.site
    zone = site.zone
    now = timezone.now()
    sessions = list(
        TherapySession.objects.select_for_update(of=("self",))
        .filter(track=track, block__isnull=False, is_exception=False, starts_at__gte=now)
        .exclude(status=SessionStatus.CANCELLED, cancel_reason=CancelReason.STAFF)
        .select_related("block", "block__room")
        .prefetch_related("block__facilitators", "facilitators")
        .order_by("occurrence_date", "starts_at")
    )
    if not sessions:
        return result
    closures = _closures(site, track.start_date, sessions[-1].occurrence_date)
    blocks = list(track.blocks.active())
    rotation = _Rotation(track, blocks, set(closures))
    for session in sessions:
        day = session.occurrence_date
        if not _desired(track, session, closures):
            if session.status == SessionStatus.SCHEDULED:
                _cancel(session, reason=CancelReason.SERIES_CHANGED, note="Removed from the track's schedule")
                result.updated += 1
            continue
        block = session.block
        facilitators = list(block.facilitators.all())
        want = {
            "kind": block.kind,
            "topic": rotation.topic(block, day),
            "starts_at": local_datetime(day, block.start_time, zone),
            "ends_at": local_datetime(day, block.end_time, zone),
            "room_id": block.room_id,
        }
        same_people = {u.pk for u in facilitators} == {u.pk for u in session.facilitators.all()}
        changed = [k for k, v in want.items() if getattr(session, k) != v]
        if day in closures:
            if session.status == SessionStatus.SCHEDULED:
                _cancel(session, reason=CancelReason.CLOSURE, note=f"Closed: {closures[day]}")
            continue
        if session.status == SessionStatus.SCHEDULED and not changed and same_people:
            continue
        for key, value in want.items():
            setattr(session, key, value)
        session.status = SessionStatus.SCHEDULED
        session.cancel_reason = ""
        session.note = ""
        try:
            with transaction.atomic():
                _unbook(session)
                session.full_clean()
                session.save(update_fields=[*want.keys(), "status", "cancel_reason", "note", "updated_at"])
                session.facilitators.set(facilitators)
                _book(session, block.room, facilitators)
        except BookingConflict as exc:
            if strict:
                raise ValidationError({"blocks": exc.messages}) from None
            session.status = SessionStatus.CANCELLED
            session.cancel_reason = CancelReason.CONFLICT
            session.note = exc.messages[0][:200]
            session.save(update_fields=["status", "cancel_reason", "note", "updated_at"])
            result.conflicts.append(exc.messages[0])
            continue
        result.updated += 1
    return result


@transaction.atomic
def track_generate_sessions(
    *,
    track: Track,
    until: date | None = None,
    since: date | None = None,
    by: User | None = None,
    strict: bool = False,
) -> GenerationResult:
    """Create the track's missing occurrences from ``since`` (default today, site zone) to
    ``until`` (default the rolling horizon). Safe to run any number of times: an occurrence
    exists at most once per block and date. Closed days get a cancelled occurrence that says
    why; an occurrence whose room or facilitator is taken is kept cancelled with the conflict
    named (``strict=True`` refuses instead) and retried on the next run."""
    track = Track.objects.select_for_update(of=("self",)).select_related("site").get(pk=track.pk)
    retried = _reconcile_conflicts(track)
    result = _generate(track, until=until, since=since, strict=strict, by=by)
    result.updated += retried
    if result.created or result.closed or result.conflicts or retried:
        record(
            Action.CREATE,
            actor=by,
            site=track.site_id,
            obj=track,
            object_type="scheduling.generation",
            changes={"created": result.created, "closed": result.closed, "conflicts": len(result.conflicts)},
        )
    return result


def _reconcile_conflicts(track: Track) -> int:
    """Retry future occurrences that could not be booked earlier."""
    restored = 0
    for session in TherapySession.objects.select_for_update(of=("self",)).filter(
        track=track, status=SessionStatus.CANCELLED, cancel_reason=CancelReason.CONFLICT, starts_at__gte=timezone.now()
    ):
        restored += _try_restore(session)
    return restored


def tracks_keep_ahead(*, weeks: int | None = None) -> dict[str, int]:
    """Keep every active track generated ``weeks`` ahead (the periodic task's service).

    Each track runs in its own transaction so one bad track does not hold back the rest.
    """
    totals = {"tracks": 0, "created": 0, "conflicts": 0}
    for track_id in Track.objects.active().values_list("pk", flat=True):
        track = Track.objects.select_related("site").get(pk=track_id)
        until = _site_today(track.site) + timedelta(weeks=weeks or horizon_weeks())
        result = track_generate_sessions(track=track, until=until)
        totals["tracks"] += 1
        totals["created"] += result.created
        totals["conflicts"] += len(result.conflicts)
    return totals


# --- One occurrence -------------------------------------------------------------------------


def _cancel(session: TherapySession, *, reason: str, note: str = "") -> None:
    session.status = SessionStatus.CANCELLED
    session.cancel_reason = reason
    session.note = note[:200]
    session.save(update_fields=["status", "cancel_reason", "note", "updated_at"])
    _unbook(session)
    reminders_cancel_for_session(session)  # its pending reminders go with it


def _try_restore(session: TherapySession) -> int:
    """Schedule a cancelled occurrence again if its room and facilitators are free; 1 if it was."""
    try:
        with transaction.atomic():
            session.status = SessionStatus.SCHEDULED
            session.cancel_reason = ""
            session.note = ""
            session.save(update_fields=["status", "cancel_reason", "note", "updated_at"])
            _book(session, session.room, list(session.facilitators.all()))
    except BookingConflict as exc:
        session.refresh_from_db()
        session.status = SessionStatus.CANCELLED
        session.cancel_reason = CancelReason.CONFLICT
        session.note = exc.messages[0][:200]
        session.save(update_fields=["status", "cancel_reason", "note", "updated_at"])
        return 0
    return 1


def _session_snapshot(session: TherapySession) -> dict:
    return {
        "starts_at": session.starts_at,
        "ends_at": session.ends_at,
        "room": session.room_id,
        "status": session.status,
        "facilitators": sorted(u.pk for u in session.facilitators.all()),
    }


@transaction.atomic
def session_move(
    *,
    session: TherapySession,
    by: User | None,
    starts_at: datetime,
    ends_at: datetime,
    room: Room | None = None,
    facilitators: Sequence[User] | None = None,
    note: str = "",
) -> TherapySession:
    """Move one occurrence (time, room or facilitators). It becomes an exception: the series
    keeps its slot (so generation does not recreate it) and later series changes skip it."""
    session = (
        TherapySession.objects.select_for_update(of=("self",))
        .select_related("site", "track", "room")
        .get(pk=session.pk)
    )
    if session.status != SessionStatus.SCHEDULED:
        raise ValidationError("A cancelled session cannot be moved.")
    if ends_at <= starts_at:
        raise ValidationError({"ends_at": "The session must end after it starts."})
    site = session.site
    facilitators = list(session.facilitators.all()) if facilitators is None else list(facilitators)
    _check_room(site, room)
    _check_facilitators(site, facilitators)
    local_day = starts_at.astimezone(site.zone).date()
    closure = Closure.objects.filter(site=site, date=local_day).first()
    if closure is not None:
        raise ValidationError({"date": f"The site is closed on {local_day:%Y-%m-%d} ({closure.reason})."})
    _check_staff_free(site, facilitators, starts_at, ends_at)
    before = _session_snapshot(session)
    if session.original_starts_at is None:
        session.original_starts_at = session.starts_at
    session.starts_at, session.ends_at, session.room = starts_at, ends_at, room
    session.is_exception = True
    session.note = (
        " ".join((note or "").split())[:200]
        or f"Moved from {session.original_starts_at.astimezone(site.zone):%a %Y-%m-%d %H:%M}"
    )
    session.full_clean()
    _unbook(session)
    session.save(
        update_fields=["starts_at", "ends_at", "room", "is_exception", "original_starts_at", "note", "updated_at"]
    )
    session.facilitators.set(facilitators)
    _book(session, room, facilitators)
    record(
        Action.UPDATE,
        actor=by,
        site=site,
        obj=session,
        changes={"before": before, "after": _session_snapshot(session)},
    )
    reminders_plan_for_session(session)  # reminders for the old time are replaced
    return session


@transaction.atomic
def session_cancel(*, session: TherapySession, by: User | None, note: str = "") -> TherapySession:
    """Cancel one occurrence; it stays on the calendar, marked, and the series is untouched."""
    session = TherapySession.objects.select_for_update(of=("self",)).get(pk=session.pk)
    if session.status == SessionStatus.CANCELLED:
        return session
    session.is_exception = True
    session.save(update_fields=["is_exception", "updated_at"])
    _cancel(session, reason=CancelReason.STAFF, note=" ".join((note or "").split()) or "Cancelled")
    record(
        Action.UPDATE,
        actor=by,
        site=session.site_id,
        obj=session,
        changes={"status": "cancelled", "note": session.note},
    )
    return session


@transaction.atomic
def session_book(
    *,
    site: Site,
    by: User | None,
    kind: str,
    day: date,
    start_time: time,
    end_time: time,
    facilitators: Sequence[User],
    room: Room | None = None,
    episode=None,
    topic: str = "",
    repeat_weeks: int = 1,
) -> list[TherapySession]:
    """Book an individual, family, case-management, peer recovery support or psychiatric /
    medication-management (MOUD/MAUD) session (``ONE_OFF_KINDS``), once or weekly for
    ``repeat_weeks`` weeks. The patient (``episode``) goes on each occurrence's roster.

    All or nothing: if any occurrence's facilitator or room is taken, BookingConflict names
    it and nothing is saved. A recurring occurrence falling on a closed day is kept
    cancelled with the closure's reason; a one-off on a closed day is refused.
    """
    from .models import RosterAddition  # noqa: PLC0415

    errors: dict[str, str] = {}
    if kind not in ONE_OFF_KINDS:
        errors["kind"] = (
            "Choose individual, family, case management, peer recovery support or psychiatric or medication "
            "management (group sessions come from tracks)."
        )
    if end_time <= start_time:
        errors["end_time"] = "The session must end after it starts."
    if not facilitators:
        errors["facilitators"] = "Choose at least one facilitator."
    if not 1 <= repeat_weeks <= MAX_REPEAT_WEEKS:
        errors["repeat_weeks"] = f"Repeat for 1 to {MAX_REPEAT_WEEKS} weeks."
    if episode is not None:
        _check_episode(episode, site, day, errors, field_name="patient")
    if errors:
        raise ValidationError(errors)
    _check_room(site, room)
    _check_facilitators(site, facilitators)
    closures = _closures(site, day, day + timedelta(weeks=repeat_weeks))
    if repeat_weeks == 1 and day in closures:
        raise ValidationError({"day": f"The site is closed on {day:%Y-%m-%d} ({closures[day]})."})
    series_key = uuid.uuid4() if repeat_weeks > 1 else None
    sessions = []
    for week in range(repeat_weeks):
        when = day + timedelta(weeks=week)
        session = TherapySession(
            site=site,
            kind=kind,
            topic=" ".join((topic or "").split())[:120],
            series_key=series_key,
            occurrence_date=when,
            starts_at=local_datetime(when, start_time, site.zone),
            ends_at=local_datetime(when, end_time, site.zone),
            room=room,
            created_by=by,
        )
        session.full_clean()
        if when in closures:
            session.status = SessionStatus.CANCELLED
            session.cancel_reason = CancelReason.CLOSURE
            session.note = f"Closed: {closures[when]}"[:200]
            session.save()
            session.facilitators.set(facilitators)
        else:
            _check_staff_free(site, facilitators, session.starts_at, session.ends_at)
            session.save()
            session.facilitators.set(facilitators)
            _book(session, room, facilitators)
        if episode is not None:
            RosterAddition.objects.create(session=session, episode=episode, added_by=by, reason="Booked")
        sessions.append(session)
    first = sessions[0]
    record(
        Action.CREATE,
        actor=by,
        site=site,
        patient=episode.patient if episode is not None else None,
        obj=first,
        changes={"kind": kind, "occurrences": len(sessions), "starts_at": first.starts_at},
    )
    return sessions


# --- Enrollment and rosters -------------------------------------------------------------------


def _check_episode(episode, site: Site, day: date, errors: dict, field_name: str = "episode") -> None:
    if episode.discharge_date is not None:
        errors[field_name] = "The patient has no open episode of care: admit them first."
    elif episode.site_id != site.pk:
        errors[field_name] = "The patient's episode is at another site."
    elif day < episode.admission_date:
        errors[field_name] = f"The episode starts on {episode.admission_date:%Y-%m-%d}, after {day:%Y-%m-%d}."


def _max_enrolled(track: Track, start: date, end: date | None, *, excluding=None) -> int:
    """The most enrollments of ``track`` active on any one day between ``start`` and ``end``."""
    from .models import Enrollment  # noqa: PLC0415

    rows = Enrollment.objects.filter(track=track).overlapping(start, end)
    if excluding is not None:
        rows = rows.exclude(pk=excluding.pk)
    periods = [(e.start_date, e.last_day) for e in rows.select_related("episode")]
    checkpoints = {start} | {s for s, _ in periods if s >= start and (end is None or s <= end)}
    return max((sum(1 for s, e in periods if s <= day and (e is None or e >= day)) for day in checkpoints), default=0)


def _require_taper_decision(by: User | None, site_id: int) -> None:
    """Marking or clearing a transition taper decides whether below-threshold weeks are flagged
    as under-dosing (DOMAIN.md §1.1, §6): a clinical decision, so only a counselor or clinical
    supervisor at the track's site (``clinical.write``) makes it, never intake staff or the
    system."""
    if by is None or not has_capability(by, site_id, "clinical.write"):
        raise ValidationError(
            {
                "is_taper": "Only a counselor or clinical supervisor at this site may mark or clear a transition "
                "taper: it decides whether weeks below the level's hours are flagged as under-dosing."
            }
        )


@transaction.atomic
def enrollment_create(
    *,
    track: Track,
    episode,
    start_date: date,
    by: User | None,
    end_date: date | None = None,
    is_taper: bool = False,
    note: str = "",
):
    """Enroll a patient (their open episode) in a track from ``start_date`` to an optional
    ``end_date`` (inclusive). The track row is locked so concurrent enrollments cannot
    together pass its capacity. ``is_taper`` needs a clinician (``_require_taper_decision``);
    anyone who may enroll may enroll without it. Enrolling at another level of care than the
    episode's previous enrollment makes both plans due for review (``_enrollment_open``)."""
    if is_taper:
        _require_taper_decision(by, track.site_id)
    return _enrollment_open(
        track=track, episode=episode, start_date=start_date, by=by, end_date=end_date, is_taper=is_taper, note=note
    )


def _enrollment_open(
    *, track: Track, episode, start_date: date, by: User | None, end_date: date | None, is_taper: bool, note: str = ""
):
    from .models import Enrollment  # noqa: PLC0415

    track = Track.objects.select_for_update(of=("self",)).select_related("site").get(pk=track.pk)
    errors: dict[str, str] = {}
    _check_episode(episode, track.site, start_date, errors)
    if end_date is not None and end_date < start_date:
        errors["end_date"] = "The end date is before the start date."
    if not track.is_active:
        errors["track"] = "This track is no longer running."
    elif start_date < track.start_date or (track.end_date and start_date > track.end_date):
        errors["start_date"] = "The track does not run on that date."
    if not errors and episode.patient.age_group_on(start_date) != track.age_group:
        errors["episode"] = (
            f"{track.name} is a track for {track.get_age_group_display().lower()}s; the patient is "
            f"{'an adult' if track.age_group == 'adolescent' else 'an adolescent'} on {start_date:%Y-%m-%d}."
        )
    if errors:
        raise ValidationError(errors)
    clash = Enrollment.objects.filter(episode=episode).overlapping(start_date, end_date).select_related("track").first()
    if clash is not None:
        raise ValidationError(
            {
                "episode": f"The patient is already enrolled in {clash.track.name} from {clash.start_date:%Y-%m-%d}; "
                "move them instead."
            }
        )
    if _max_enrolled(track, start_date, end_date) >= track.capacity:
        raise ValidationError({"track": f"{track.name} is full ({track.capacity} patients) for those dates."})
    previous = (
        Enrollment.objects.filter(episode=episode, start_date__lt=start_date)
        .select_related("track")
        .order_by("-start_date", "-id")
        .first()
    )
    enrollment = Enrollment(
        track=track,
        episode=episode,
        start_date=start_date,
        end_date=end_date,
        is_taper=is_taper,
        note=" ".join((note or "").split()),
        created_by=by,
    )
    enrollment.full_clean()
    enrollment.save()
    record(
        Action.CREATE,
        actor=by,
        site=track.site_id,
        patient=episode.patient,
        obj=enrollment,
        changes={"track": track.name, "start_date": start_date, "end_date": end_date, "is_taper": is_taper},
    )
    if previous is not None and previous.track.level_of_care != track.level_of_care:
        # DOMAIN.md §7: "Review whenever the level of care changes": both plans are due now,
        # once for this change, until a version of each is signed after it.
        plan_review_request(
            episode=episode,
            reason=TriggerReason.LEVEL_OF_CARE_CHANGE,
            by=by,
            note=f"Level of care {previous.track.level_of_care} → {track.level_of_care} from {start_date:%Y-%m-%d}: "
            f"{previous.track.name} → {track.name}.",
        )
    return enrollment


@transaction.atomic
def enrollment_end(*, enrollment, end_date: date, by: User | None, reason: str = ""):
    from .models import Enrollment  # noqa: PLC0415

    enrollment = (
        Enrollment.objects.select_for_update(of=("self",)).select_related("episode__patient").get(pk=enrollment.pk)
    )
    if end_date < enrollment.start_date:
        raise ValidationError({"end_date": f"The enrollment began on {enrollment.start_date:%Y-%m-%d}."})
    if enrollment.end_date is not None and enrollment.end_date <= end_date:
        raise ValidationError({"end_date": f"The enrollment already ends on {enrollment.end_date:%Y-%m-%d}."})
    before = enrollment.end_date
    enrollment.end_date = end_date
    enrollment.end_reason = " ".join((reason or "").split())[:120]
    enrollment.full_clean()
    enrollment.save(update_fields=["end_date", "end_reason", "updated_at"])
    record(
        Action.UPDATE,
        actor=by,
        site=enrollment.track.site_id,
        patient=enrollment.episode.patient,
        obj=enrollment,
        changes={"before": {"end_date": before}, "after": {"end_date": end_date, "reason": enrollment.end_reason}},
    )
    return enrollment


@transaction.atomic
def enrollment_set_taper(*, enrollment, is_taper: bool, by: User | None):
    """Mark or clear the transition taper (a clinician's decision: ``_require_taper_decision``)."""
    from .models import Enrollment  # noqa: PLC0415

    enrollment = (
        Enrollment.objects.select_for_update(of=("self",))
        .select_related("episode__patient", "track")
        .get(pk=enrollment.pk)
    )
    _require_taper_decision(by, enrollment.track.site_id)
    if enrollment.is_taper == is_taper:
        return enrollment
    enrollment.is_taper = is_taper
    enrollment.save(update_fields=["is_taper", "updated_at"])
    record(
        Action.UPDATE,
        actor=by,
        site=enrollment.track.site_id,
        patient=enrollment.episode.patient,
        obj=enrollment,
        changes={"is_taper": is_taper},
    )
    return enrollment


@transaction.atomic
def enrollment_move(*, enrollment, to_track: Track, on: date, by: User | None, is_taper: bool | None = None):
    """Move a patient to another track from ``on``: the old enrollment ends the day before and
    a new one opens (history kept). Refused, with nothing changed, if the new track is full.

    The new enrollment keeps the transition taper unless ``is_taper`` changes it, which needs a
    clinician. A move to a track of another level of care makes both plans due for review."""
    from .models import Enrollment  # noqa: PLC0415

    enrollment = (
        Enrollment.objects.select_for_update(of=("self",)).select_related("episode", "track").get(pk=enrollment.pk)
    )
    taper = enrollment.is_taper if is_taper is None else is_taper
    if taper != enrollment.is_taper:
        _require_taper_decision(by, enrollment.track.site_id)
    if to_track.pk == enrollment.track_id:
        raise ValidationError({"to_track": "The patient is already in this track."})
    if to_track.site_id != enrollment.track.site_id:
        raise ValidationError({"to_track": "Choose a track at the same site."})
    if on <= enrollment.start_date:
        raise ValidationError(
            {"on": f"The move must be after the enrollment's start ({enrollment.start_date:%Y-%m-%d})."}
        )
    if enrollment.end_date is not None and on > enrollment.end_date:
        raise ValidationError({"on": "That enrollment has already ended."})
    old_end = enrollment.end_date
    enrollment_end(enrollment=enrollment, end_date=on - timedelta(days=1), by=by, reason=f"Moved to {to_track.name}")
    return _enrollment_open(
        track=to_track, episode=enrollment.episode, start_date=on, end_date=old_end, is_taper=taper, by=by
    )


@transaction.atomic
def roster_add(*, session: TherapySession, episode, by: User | None, reason: str = ""):
    """Add a patient to one occurrence only (a make-up or a visitor). The session row is locked
    so concurrent additions cannot pass its capacity."""
    from .models import RosterAddition  # noqa: PLC0415
    from .selectors import rosters_for  # noqa: PLC0415

    session = (
        TherapySession.objects.select_for_update(of=("self",))
        .select_related("site", "track", "room")
        .get(pk=session.pk)
    )
    errors: dict[str, str] = {}
    local_day = session.local_start().date()
    _check_episode(episode, session.site, local_day, errors)
    if session.status != SessionStatus.SCHEDULED:
        errors["episode"] = "This session is cancelled."
    if errors:
        raise ValidationError(errors)
    roster = rosters_for([session])[session.pk]
    if any(entry.episode.pk == episode.pk for entry in roster):
        raise ValidationError({"episode": "The patient is already on this session's roster."})
    capacity = session.capacity
    if capacity is not None and len(roster) >= capacity:
        raise ValidationError({"episode": f"This session is full ({capacity} places)."})
    addition = RosterAddition(session=session, episode=episode, added_by=by, reason=" ".join((reason or "").split()))
    addition.full_clean()
    addition.save()
    record(
        Action.CREATE,
        actor=by,
        site=session.site_id,
        patient=episode.patient,
        obj=session,
        object_type="scheduling.RosterAddition",
        changes={"session": str(session.public_id), "reason": addition.reason},
    )
    return addition


@transaction.atomic
def roster_remove(*, addition, by: User | None, reason: str = "") -> None:
    """Take a patient added to one occurrence off its roster (enrollments are changed through
    the enrollment, not here). Refused once the session has started: its roster is then part
    of the attendance record."""
    from .models import RosterAddition  # noqa: PLC0415

    addition = (
        RosterAddition.objects.select_for_update(of=("self",))
        .select_related("session", "episode__patient")
        .get(pk=addition.pk)
    )
    session = addition.session
    if session.starts_at <= timezone.now():
        raise ValidationError(
            "This session has already started, so its roster is part of the attendance record; "
            "record the patient as excused instead."
        )
    record(
        Action.DELETE,
        actor=by,
        site=session.site_id,
        patient=addition.episode.patient,
        obj=session,
        object_type="scheduling.RosterAddition",
        reason=" ".join((reason or "").split()),
        changes={"session": str(session.public_id), "added_reason": addition.reason},
    )
    addition.delete()


# --- iCal feed ------------------------------------------------------------------------------------


@transaction.atomic
def calendar_feed_reset(*, user: User, by: User) -> str:
    """Give the user a new secret feed link (the old one stops working). Returns the token,
    shown once: only its hash is kept."""
    token, token_hash = CalendarFeed.new_token()
    CalendarFeed.objects.update_or_create(user=user, defaults={"token_hash": token_hash})
    record(Action.UPDATE, actor=by, object_type="scheduling.CalendarFeed", object_id=str(user.public_id))
    return token
