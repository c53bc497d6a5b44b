"""Who may see and acknowledge clinician alerts.

Alerts are clinical: they are visible to staff holding ``clinical.view`` at the alert's site
(counselors, supervisors, directors) and acknowledged by staff holding ``clinical.write`` there.
Being a recipient decides where an alert is *shown* (home page, badge), not who may see it: any
clinician at the site can open and act on a safety alert, so one never waits for one person.
"""

from __future__ import annotations

from django.db.models import QuerySet

from users.permissions import get_for_user, has_capability, site_ids_for

from .models import Alert


def alerts_visible_to(user) -> QuerySet[Alert]:
    """Alerts at the sites where the user holds ``clinical.view``."""
    return Alert.objects.filter(site_id__in=site_ids_for(user, "clinical.view"))


def can_acknowledge(user, alert: Alert) -> bool:
    return alert.is_open and has_capability(user, alert.site_id, "clinical.write")


def get_alert_for_user(user, public_id, *, write: bool = False) -> Alert:
    """The visible alert, or 404; with ``write=True`` 403 unless the user may acknowledge it
    (``clinical.write`` at its site and the alert still open)."""
    return get_for_user(
        alerts_visible_to(user).select_related("site", "patient", "acknowledged_by", "raised_by"),
        user=user,
        write=write,
        can_change=can_acknowledge,
        public_id=public_id,
    )
