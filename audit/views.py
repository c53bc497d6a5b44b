from __future__ import annotations

from datetime import datetime, time, timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.functional import cached_property

from users.permissions import site_ids_for

from .forms import AuditFilterForm
from .models import AuditEvent


class CappedPaginator(Paginator):
    """Counts at most ``cap`` events, so the page costs the same however long the trail grows
    (every PHI view adds one); older events are reached by narrowing the filters (dates)."""

    cap = 10_000

    @cached_property
    def matching(self) -> int:
        return self.object_list.order_by()[: self.cap + 1].count()

    @cached_property
    def count(self) -> int:
        return min(self.matching, self.cap)

    @property
    def capped(self) -> bool:
        return self.matching > self.cap


def events_visible_to(user):
    """Events about the sites where the user may review the audit trail, plus sign-in events
    of staff who belong to those sites."""
    site_ids = site_ids_for(user, "audit.view")
    if not site_ids:
        return AuditEvent.objects.none()
    staff = get_user_model().objects.filter(memberships__site_id__in=site_ids).values("pk")
    # ``actor__in`` is a subquery, not a join: no event can appear twice, so no DISTINCT (which
    # made PostgreSQL sort every visible event, JSON changes included, to count a page).
    return AuditEvent.objects.filter(Q(site_id__in=site_ids) | Q(site__isnull=True, actor__in=staff))


@login_required
def event_list(request: HttpRequest) -> HttpResponse:
    site_ids = site_ids_for(request.user, "audit.view")
    if not site_ids:
        raise PermissionDenied
    users = get_user_model().objects.filter(memberships__site_id__in=site_ids).distinct()
    form = AuditFilterForm(request.GET or None, users=users)
    events = events_visible_to(request.user).select_related("actor", "site")
    if form.is_valid():
        data = form.cleaned_data
        zone = request.clinic.site.zone if request.clinic.site else timezone.get_current_timezone()
        if data["user"]:
            events = events.filter(actor=data["user"])
        if data["patient"]:
            events = events.filter(patient_ref=str(data["patient"]))
        if data["action"]:
            events = events.filter(action=data["action"])
        if data["date_from"]:
            events = events.filter(created_at__gte=datetime.combine(data["date_from"], time.min, tzinfo=zone))
        if data["date_to"]:
            end = datetime.combine(data["date_to"] + timedelta(days=1), time.min, tzinfo=zone)
            events = events.filter(created_at__lt=end)
    page = CappedPaginator(events.order_by("-id"), 50).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "audit/event_list.html", {"form": form, "page": page, "query": query.urlencode()})
