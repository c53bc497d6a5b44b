"""When a message may go out: reminder offsets and a patient's safe hours, in the site's zone.

An offset is ``-<n>d@HH:MM`` (n local days before the session's local date, at that local wall
time: DST-correct) or ``-<n>h`` / ``-<n>m`` / ``-<n>d`` (that long before the start).
Safe hours are a local window ``[start, end)``; a window whose end is before its start runs
over midnight (20:00–08:00). A message due outside the window is deferred to the window's next
opening, never dropped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.core.exceptions import ImproperlyConfigured

_OFFSET_RE = re.compile(r"^-(\d+)([dhm])(?:@(\d{1,2}):(\d{2}))?$")
_UNITS = {"d": "days", "h": "hours", "m": "minutes"}


@dataclass(frozen=True)
class Offset:
    text: str
    amount: int
    unit: str
    at: time | None = None

    def due_for(self, starts_at: datetime, zone: ZoneInfo) -> datetime:
        if self.at is not None:
            local_day = starts_at.astimezone(zone).date() - timedelta(days=self.amount)
            return local_wall(datetime.combine(local_day, self.at), zone)
        return starts_at - timedelta(**{_UNITS[self.unit]: self.amount})

    @property
    def longest_lead(self) -> timedelta:
        """The most this offset can precede a session's start."""
        if self.at is not None:
            return timedelta(days=self.amount + 1)
        return timedelta(**{_UNITS[self.unit]: self.amount})


def parse_offset(text: str) -> Offset:
    m = _OFFSET_RE.match(text.strip())
    if not m:
        raise ImproperlyConfigured(f"REMINDER_OFFSETS: {text!r} is not like '-1d@18:00' or '-2h'.")
    amount, unit, hh, mm = m.groups()
    at = None
    if hh is not None:
        if unit != "d" or int(hh) > 23 or int(mm) > 59:
            raise ImproperlyConfigured(f"REMINDER_OFFSETS: {text!r}: '@HH:MM' goes with days, e.g. '-1d@18:00'.")
        at = time(int(hh), int(mm))
    return Offset(text.strip(), int(amount), unit, at)


def local_wall(naive: datetime, zone: ZoneInfo) -> datetime:
    """A local wall time as an aware datetime; a time skipped by DST moves forward by the gap."""
    aware = naive.replace(tzinfo=zone)
    roundtrip = aware.astimezone(ZoneInfo("UTC")).astimezone(zone)
    if roundtrip.replace(tzinfo=None) != naive:  # in the spring-forward gap
        aware = (naive + timedelta(hours=1)).replace(tzinfo=zone)
    return aware


def _inside(t: time, start: time, end: time) -> bool:
    if start == end:
        return True  # a window of zero length means "any time"
    if start < end:
        return start <= t < end
    return t >= start or t < end


def safe_hours_next(at: datetime, start: time | None, end: time | None, zone: ZoneInfo) -> datetime | None:
    """None when ``at`` is inside the safe hours (or none are set); else the next opening."""
    if start is None or end is None:
        return None
    local = at.astimezone(zone)
    if _inside(local.time(), start, end):
        return None
    opening = local_wall(datetime.combine(local.date(), start), zone)
    if opening <= at:
        opening = local_wall(datetime.combine(local.date() + timedelta(days=1), start), zone)
    return opening


def safe_hours_previous(at: datetime, start: time | None, end: time | None, zone: ZoneInfo) -> datetime | None:
    """The last moment inside the safe hours before ``at`` (one minute before the window closed)."""
    if start is None or end is None or start == end:
        return None
    local = at.astimezone(zone)
    for back in (0, 1, 2):
        closing = local_wall(datetime.combine(local.date() - timedelta(days=back), end), zone)
        candidate = closing - timedelta(minutes=1)
        if candidate < at and _inside(candidate.astimezone(zone).time(), start, end):
            return candidate
    return None
