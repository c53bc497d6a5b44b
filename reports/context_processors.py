"""``caseload_summary``: PHI-free counts of the signed-in clinician's caseload at the current
site, for the home page (patients, how many need something, how many with a safety alert).

Lazy: the one aggregate query runs only when a template reads a number, so pages that do not
show the summary cost nothing. The names are on the caseload page itself, which is audited.
"""

from __future__ import annotations

from functools import cached_property

from django.utils import timezone

from patients.models import site_today
from users.permissions import has_capability

from .caseload import caseload_counts, window_for


class CaseloadSummary:
    def __init__(self, user, site):
        self._user = user
        self._site = site

    @cached_property
    def available(self) -> bool:
        return self._site is not None and has_capability(self._user, self._site, "clinical.view")

    @cached_property
    def _counts(self) -> dict[str, int]:
        if not self.available:
            return {"patients": 0, "flagged": 0, "safety": 0}
        window = window_for(self._site, site_today(self._site), timezone.now())
        return caseload_counts(self._site, window, counselor=self._user)

    @property
    def patients(self) -> int:
        return self._counts["patients"]

    @property
    def flagged(self) -> int:
        return self._counts["flagged"]

    @property
    def safety(self) -> int:
        return self._counts["safety"]


def caseload_summary(request) -> dict:
    user = getattr(request, "user", None)
    clinic = getattr(request, "clinic", None)
    if user is None or not user.is_authenticated or clinic is None:
        return {}
    return {"caseload_summary": CaseloadSummary(user, clinic.site)}
