"""SQL expressions over sites' time zones: a timestamp's calendar date in each row's own site
time zone, and the Monday of a date's ISO week (the reports, the caseload and weekly hours).

Django's ``TruncDate(tzinfo=...)`` takes one fixed zone per query, so a read spanning sites in
different zones would need one query per zone. These take the zone from a column instead
(``site__time_zone``), so one query covers every site whatever its zone:

- PostgreSQL: ``(ts AT TIME ZONE zone)::date``;
- SQLite: Django's own ``django_datetime_cast_date(ts, zone, 'UTC')`` (timestamps are stored in UTC).
"""

from __future__ import annotations

from django.db import NotSupportedError
from django.db.models import DateField, F, Func


class LocalDate(Func):
    """The calendar date of ``timestamp`` in the time zone named by ``zone`` (an expression)."""

    output_field = DateField()
    arity = 2

    def __init__(self, timestamp, zone="site__time_zone", **extra):
        if isinstance(zone, str):
            zone = F(zone)
        if isinstance(timestamp, str):
            timestamp = F(timestamp)
        super().__init__(timestamp, zone, **extra)

    def as_postgresql(self, compiler, connection, **extra):
        return self.as_sql(compiler, connection, template="((%(expressions)s)::date)", arg_joiner=" AT TIME ZONE ")

    def as_sqlite(self, compiler, connection, **extra):
        return self.as_sql(compiler, connection, template="django_datetime_cast_date(%(expressions)s, 'UTC')")

    def as_sql(self, compiler, connection, **extra):
        if connection.vendor not in ("postgresql", "sqlite"):  # pragma: no cover - the two supported backends
            raise NotSupportedError(f"LocalDate supports PostgreSQL and SQLite, not {connection.vendor}.")
        return super().as_sql(compiler, connection, **extra)


class WeekStart(Func):
    """The Monday of a date's ISO week (a date in, a date out)."""

    output_field = DateField()
    arity = 1

    def as_postgresql(self, compiler, connection, **extra):
        return self.as_sql(compiler, connection, template="(DATE_TRUNC('week', %(expressions)s)::date)")

    def as_sqlite(self, compiler, connection, **extra):
        # 'weekday 0' moves forward to the next Sunday (or stays on a Sunday); six days back is Monday.
        return self.as_sql(compiler, connection, template="date(%(expressions)s, 'weekday 0', '-6 days')")
