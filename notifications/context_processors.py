"""``open_alerts``: the signed-in user's open alerts at the current site, for the home page
list and the navigation badge.

At most one query per page (two on the home page, which lists them) and none on a page that
shows neither: the value is lazy. The badge alone asks for a capped count (no rows loaded); once
the list is fetched, the badge counts it. Only PHI-free fields are used by the templates (title
code, kind, severity, time): the patient is named on the alert's own page, which records the
audit event.
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
    def _visible(self) -> bool:
        return self._site is not None and has_capability(self._user, self._site, "clinical.view")

    def _open(self):
        return Alert.objects.open().for_recipient(self._user).filter(site=self._site)

    @cached_property
    def _rows(self) -> list[Alert]:
        if not self._visible:
            return []
        return list(
            self._open()
            .only("public_id", "kind", "severity", "title_code", "created_at", "site_id")
            .by_urgency()[: CAP + 1]
        )

    @cached_property
    def _count(self) -> int:
        """Open alerts up to CAP + 1: from the list when it was fetched, else one COUNT."""
        if "_rows" in self.__dict__:
            return len(self._rows)
        if not self._visible:
            return 0
        return self._open().order_by()[: CAP + 1].count()

    @property
    def items(self) -> list[Alert]:
        return self._rows[:CAP]

    @property
    def count(self) -> int:
        return min(self._count, CAP)

    @property
    def more(self) -> bool:
        return self._count > CAP

    def __bool__(self) -> bool:
        return self._count > 0

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
