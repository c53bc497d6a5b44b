"""Who may see and change scheduling data.

Everyone who belongs to a site sees its calendar (session times, rooms, facilitators and
roster counts); patient names on rosters need ``patient.view`` as well. Tracks, rooms and
closures need ``schedule.manage``; booking and changing single sessions ``schedule.book``;
enrolling patients ``enrollment.manage``. Objects of sites the user does not belong to
answer 404, objects they may see but not change 403.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404

from users.models import Site
from users.permissions import get_for_user, get_site_for_user, has_capability, site_ids_for

from .models import Closure, Enrollment, Room, TherapySession, Track


def tracks_visible_to(user) -> QuerySet[Track]:
    return Track.objects.filter(site_id__in=site_ids_for(user, "schedule.view"))


def sessions_visible_to(user) -> QuerySet[TherapySession]:
    return TherapySession.objects.filter(site_id__in=site_ids_for(user, "schedule.view"))


def rooms_visible_to(user) -> QuerySet[Room]:
    return Room.objects.filter(site_id__in=site_ids_for(user, "schedule.view"))


def closures_visible_to(user) -> QuerySet[Closure]:
    return Closure.objects.filter(site_id__in=site_ids_for(user, "schedule.view"))


def enrollments_visible_to(user) -> QuerySet[Enrollment]:
    """Enrollments name a patient: they need patient.view at the track's site."""
    return Enrollment.objects.filter(
        track__site_id__in=site_ids_for(user, "patient.view"), episode__patient__deleted_at__isnull=True
    )


def can_manage_schedule(user, obj) -> bool:
    return has_capability(user, obj.site_id, "schedule.manage")


def can_book(user, obj) -> bool:
    return has_capability(user, obj.site_id, "schedule.book")


def can_see_names(user, site: Site | int) -> bool:
    return has_capability(user, site, "patient.view")


def get_track_for_user(user, public_id, *, write: bool = False) -> Track:
    return get_for_user(
        tracks_visible_to(user).select_related("site"),
        user=user,
        write=write,
        can_change=can_manage_schedule,
        public_id=public_id,
    )


def get_session_for_user(user, public_id, *, write: bool = False) -> TherapySession:
    return get_for_user(
        sessions_visible_to(user).select_related("site", "track", "room", "block"),
        user=user,
        write=write,
        can_change=can_book,
        public_id=public_id,
    )


def get_room_for_user(user, pk: int, *, write: bool = False) -> Room:
    return get_for_user(
        rooms_visible_to(user).select_related("site"), user=user, write=write, can_change=can_manage_schedule, pk=pk
    )


def get_closure_for_user(user, pk: int, *, write: bool = False) -> Closure:
    return get_for_user(
        closures_visible_to(user).select_related("site"), user=user, write=write, can_change=can_manage_schedule, pk=pk
    )


def get_enrollment_for_user(user, public_id, *, write: bool = False) -> Enrollment:
    return get_for_user(
        enrollments_visible_to(user).select_related("track__site", "episode__patient"),
        user=user,
        write=write,
        can_change=lambda u, e: has_capability(u, e.track.site_id, "enrollment.manage"),
        public_id=public_id,
    )


def site_for_request(request, capability: str = "schedule.view") -> Site:
    """The site a scheduling page is about: ``?site=<public id>`` or the current site.

    404 for a site the user does not belong to; 403 without ``capability`` there.
    """
    wanted = request.GET.get("site") or request.POST.get("site")
    if wanted:
        site = get_site_for_user(request.user, wanted)
    else:
        site = request.clinic.site
        if site is None:
            raise Http404
    if not has_capability(request.user, site, capability):
        raise PermissionDenied
    return site
