"""``open_alerts``: the signed-in user's open alerts at the current site, for the home page
list and the navigation badge.

One query at most per request, and none on a page that shows neither: the value is lazy and
the home list and the badge share the same evaluated list. Only PHI-free fields are used by
the templates (title code, kind, severity, time): the patient is named on the alert's own
page, which records the audit event.
"""

from __future__ import annotations

from functools import cached_property

from users.permissions import has_capability

from .models import Alert

# The home page lists this many; the badge still counts every open alert up to the cap.
CAP = 100


class OpenAlerts:
    def __init__(self, user, site):
        self._user = user
        self._site = site

    @cached_property
    def _rows(self) -> list[Alert]:
        if self._site is None or not has_capability(self._user, self._site, "clinical.view"):
            return []
        return list(
            Alert.objects.open()
            .for_recipient(self._user)
            .filter(site=self._site)
            .only("public_id", "kind", "severity", "title_code", "created_at", "site_id")
            .by_urgency()[: CAP + 1]
        )

    @property
    def items(self) -> list[Alert]:
        return self._rows[:CAP]

    @property
    def count(self) -> int:
        return min(len(self._rows), CAP)

    @property
    def more(self) -> bool:
        return len(self._rows) > CAP

    def __bool__(self) -> bool:
        return bool(self._rows)

    def __iter__(self):
        return iter(self.items)

    def __len__(self) -> int:
        return self.count


def open_alerts(request) -> dict:
    user = getattr(request, "user", None)
    clinic = getattr(request, "clinic", None)
    if user is None or not user.is_authenticated or clinic is None:
        return {}
    return {"open_alerts": OpenAlerts(user, clinic.site)}
