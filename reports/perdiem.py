"""Billable IOP per-diem days (DOMAIN.md §10): one row per patient per calendar day (in the
site's zone) whose attended clinical minutes reach ``PER_DIEM_MIN_MINUTES``.

Minutes are those of attendance in an attended status (present, late, left early, telehealth)
at sessions that were not cancelled; the level of care is the highest track level of that day's
sessions, else the episode's level at admission. Only IOP days (level 2.1) are billed with the
per-diem code (``PER_DIEM_SERVICE_CODE``, H0015 by default); PHP and outpatient days are not.
One grouped query, filtered on the sum in SQL (HAVING).
"""

from __future__ import annotations

from datetime import date

from django.conf import settings
from django.db.models import F, Max, QuerySet, Sum
from django.db.models.functions import Coalesce

from scheduling.models import LevelOfCare, SessionStatus
from sessions.models import ATTENDED, Attendance
from users.expressions import LocalDate

COLUMNS = ["MRN", "Date", "Attended minutes", "Service code", "Level of care"]


def service_code() -> str:
    return getattr(settings, "PER_DIEM_SERVICE_CODE", "H0015")


def per_diem_days(site_id: int, start: date, end: date) -> QuerySet:
    """Rows of ``mrn``, ``patient_public_id``, ``day``, ``minutes``, ``level`` for eligible days."""
    return (
        Attendance.objects.filter(
            session__site_id=site_id,
            session__status=SessionStatus.SCHEDULED,
            status__in=list(ATTENDED),
            patient__deleted_at__isnull=True,
        )
        .annotate(day=LocalDate(F("session__starts_at"), "session__site__time_zone"))
        .filter(day__range=(start, end))
        .values("patient__mrn", "patient__public_id", "day")
        .annotate(
            minutes=Sum("minutes_attended"),
            level=Coalesce(Max("session__track__level_of_care"), Max("episode__level_of_care")),
        )
        .filter(minutes__gte=settings.PER_DIEM_MIN_MINUTES, level=LevelOfCare.IOP)
        .order_by("patient__mrn", "day")
    )
