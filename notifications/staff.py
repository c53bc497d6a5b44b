"""Staff notices: a PHI-free email for urgent (safety) alerts and the daily digest.

A safety flag is raised in the application first (the ``Alert``, DOMAIN.md §4.1 item 9: never
only by email or SMS); ``alert_notify_urgent`` then tells each recipient by email that *an*
urgent alert is waiting, with a sign-in link and nothing clinical. Staff have no phone number on
their account yet, so there is no SMS copy.

The digest (one email per counselor and supervisor per site and local day, at
``STAFF_DIGEST_HOUR`` site time) carries counts and a link; the counts are computed at send time
by the counters registered with ``digest_counter``. This app counts the open alerts; the apps
that own the other due work register theirs (``reports.due_work``: plans and re-assessments due,
unsigned notes), so this app never reads them. The due-work alerts themselves (unsigned notes,
overdue plans and re-assessments) are raised by ``reports.due_work`` through ``alert_raise``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from users.models import Membership, Role, Site

from .models import Alert, Channel, OutboundMessage
from .outbox import Skip, context_builder, enqueue

logger = logging.getLogger(__name__)

# Digest counters: name (a variable of the digest template) → count(user, site, today).
DIGEST_COUNTERS: dict[str, Callable[[object, Site, object], int]] = {}


def digest_counter(name: str):
    """Register ``fn(user, site, today) -> int`` as the digest's ``name`` count."""

    def register(fn):
        DIGEST_COUNTERS[name] = fn
        return fn

    return register


def alert_notify_urgent(*, alert: Alert, recipients) -> list[OutboundMessage]:
    """One PHI-free email per recipient with an address, sent as soon as the alert commits."""
    return staff_email_notice(alert=alert, recipients=recipients, template_key="staff_urgent_alert", kind="urgent")


def staff_email_notice(*, alert: Alert, recipients, template_key: str, kind: str = "notice") -> list[OutboundMessage]:
    """One PHI-free email per recipient with an address, telling them an alert waits in the
    application (``template_key`` says what kind); sent as soon as the alert commits."""
    messages = []
    for user in recipients:
        if not user.is_active or not user.email:
            continue
        message, _ = enqueue(
            site=alert.site,
            channel=Channel.EMAIL,
            template_key=template_key,
            cause=f"alert:{alert.public_id}",
            kind=kind,
            staff=user,
            context={"alert": alert.pk},
            dispatch_now=True,
        )
        messages.append(message)
    return messages


# --- Daily digest -------------------------------------------------------------------------------


def digest_plan(*, now: datetime | None = None, force: bool = False) -> int:
    """Enqueue today's digest for every counselor and supervisor at each site whose local hour is
    ``STAFF_DIGEST_HOUR`` (run hourly by beat; ``force`` ignores the hour). Idempotent per
    person, site and local date."""
    now = now or timezone.now()
    planned = 0
    for site in Site.objects.filter(is_active=True):
        local = now.astimezone(site.zone)
        if not force and local.hour != settings.STAFF_DIGEST_HOUR:
            continue
        members = Membership.objects.active().filter(
            site=site, role__in=[Role.CLINICIAN, Role.SUPERVISOR], user__is_active=True
        )
        for membership in members.select_related("user"):
            with transaction.atomic():
                _, created = enqueue(
                    site=site,
                    channel=Channel.EMAIL,
                    template_key="staff_daily_digest",
                    cause=f"digest:{site.public_id}:{local.date().isoformat()}",
                    kind="daily",
                    staff=membership.user,
                    context={"site": site.pk, "date": local.date().isoformat()},
                )
            planned += int(created)
    return planned


@digest_counter("open_alerts")
def _open_alerts(user, site: Site, today) -> int:
    return Alert.objects.open().for_recipient(user).filter(site=site).count()


def digest_counts(user, site: Site, today) -> dict[str, int]:
    return {name: count(user, site, today) for name, count in DIGEST_COUNTERS.items()}


@context_builder("staff_daily_digest")
def _digest_context(message: OutboundMessage) -> dict:
    from patients.models import site_today

    site = message.site
    today = site_today(site)
    if message.context.get("date") != today.isoformat():
        raise Skip("cancelled", "DIGEST_STALE")
    counts = digest_counts(message.staff, site, today)
    if not any(counts.values()):
        raise Skip("cancelled", "NOTHING_TO_REPORT")
    return counts
