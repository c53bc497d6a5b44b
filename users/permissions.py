"""Who may see and change what, for every app.

Visibility is membership-based: a user sees the sites they are an active member of, with the
role they hold there. Superusers are not granted clinical access by that flag alone; they
administer the system through Django admin and join a site to work in it.

The building blocks here are what every app's ``*_visible_to(user)`` and fetch-and-check
helpers are made of: an object the user may not see answers 404, one they may see but not
change answers 403.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Model, QuerySet
from django.http import Http404

from .models import Membership, Site
from .roles import roles_with

M = TypeVar("M", bound=Model)

_CACHE_ATTR = "_iop_roles_by_site"
_GRANTS_ATTR = "_iop_emergency_grants"
_USED_ATTR = "_iop_emergency_used"


def roles_by_site(user) -> dict[int, str]:
    """Map of site id → role for the user's active memberships (cached on the user object)."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return {}
    cached = getattr(user, _CACHE_ATTR, None)
    if cached is None:
        cached = dict(Membership.objects.active().filter(user=user).values_list("site_id", "role"))
        setattr(user, _CACHE_ATTR, cached)
    return cached


def forget_roles(user) -> None:
    for attr in (_CACHE_ATTR, _GRANTS_ATTR, _USED_ATTR):
        if hasattr(user, attr):
            delattr(user, attr)


def role_at(user, site: Site | int | None) -> str | None:
    if site is None:
        return None
    site_id = site if isinstance(site, int) else site.pk
    return roles_by_site(user).get(site_id)


def prime_roles(user, memberships) -> None:
    """Fill the ``roles_by_site`` cache from active memberships already loaded (the current-site
    middleware's), so the request does not read them twice."""
    if getattr(user, _CACHE_ATTR, None) is None:
        active = getattr(user, "is_authenticated", False) and user.is_active
        setattr(user, _CACHE_ATTR, {m.site_id: m.role for m in memberships} if active else {})


def has_capability(user, site: Site | int | None, capability: str) -> bool:
    role = role_at(user, site)
    return role is not None and role in roles_with(capability)


def site_ids_for(user, capability: str | None = None) -> set[int]:
    """Ids of the sites where the user is a member (holding ``capability``, if given)."""
    roles = roles_by_site(user)
    if capability is None:
        return set(roles)
    allowed = roles_with(capability)
    return {site_id for site_id, role in roles.items() if role in allowed}


def sites_visible_to(user, capability: str | None = None) -> QuerySet[Site]:
    return Site.objects.filter(pk__in=site_ids_for(user, capability))


def scope_to_sites(queryset: QuerySet[M], user, capability: str, site_field: str = "site") -> QuerySet[M]:
    """Filter ``queryset`` to rows whose ``site_field`` is a site where the user holds ``capability``."""
    return queryset.filter(**{f"{site_field}__in": site_ids_for(user, capability)})


def get_for_user(
    visible: QuerySet[M],
    *,
    user,
    write: bool = False,
    can_change=None,
    **lookup,
) -> M:
    """Fetch one object from an already-scoped queryset, or answer 404; with ``write=True``,
    answer 403 unless ``can_change(user, obj)`` holds.

    404 covers both "does not exist" and "not yours", so ids cannot be probed.
    """
    try:
        obj = visible.get(**lookup)
    except (visible.model.DoesNotExist, ValueError, TypeError, ValidationError):
        # A malformed UUID is just another id the user cannot see.
        raise Http404 from None
    if write and (can_change is None or not can_change(user, obj)):
        raise PermissionDenied
    return obj


def can_change_site(user, site: Site) -> bool:
    return has_capability(user, site, "site.change")


def get_site_for_user(user, public_id, *, write: bool = False) -> Site:
    return get_for_user(sites_visible_to(user), user=user, write=write, can_change=can_change_site, public_id=public_id)


def require_capability(user, site: Site | int | None, capability: str) -> None:
    """403 unless the user holds ``capability`` at ``site``."""
    if not has_capability(user, site, capability):
        raise PermissionDenied


def any_capability(user, capabilities: Iterable[str]) -> bool:
    roles = set(roles_by_site(user).values())
    return any(roles & roles_with(c) for c in capabilities)


# --- Break-glass grants ---------------------------------------------------------------------------
#
# A live emergency-access grant lets one user read one patient's chart at a site where they hold
# no role. ``patients.permissions.emergency_grants`` loads them (one query per request) and keeps
# them on the user object here, so that the floors below ``patients`` can use them without
# importing it: ``audit.record`` writes the grant's reason on every event about that patient, and
# the page banner lists the grants a page was shown under.


@dataclass(frozen=True)
class EmergencyGrant:
    ref: str  # the grant's public id
    patient_id: int
    patient_ref: str  # the patient's public id
    site_id: int
    reason: str
    expires_at: datetime
    time_zone: str  # the patient's site's: the banner shows the expiry there


def cached_emergency_grants(user) -> dict[int, EmergencyGrant] | None:
    """The grants loaded for this user object (by patient id), or None when not loaded yet."""
    return getattr(user, _GRANTS_ATTR, None)


def cache_emergency_grants(user, grants: Iterable[EmergencyGrant]) -> dict[int, EmergencyGrant]:
    by_patient = {grant.patient_id: grant for grant in grants}
    setattr(user, _GRANTS_ATTR, by_patient)
    return by_patient


def emergency_grant_used(user, patient_ref: str) -> EmergencyGrant | None:
    """The live grant under which ``user`` is being shown this patient (by public id), marked as
    used for this request; None when the patient is seen through a membership (or not at all)."""
    grants = cached_emergency_grants(user)
    if not grants or not patient_ref:
        return None
    for grant in grants.values():
        if grant.patient_ref == patient_ref:
            used = getattr(user, _USED_ATTR, None)
            if used is None:
                used = {}
                setattr(user, _USED_ATTR, used)
            used[grant.ref] = grant
            return grant
    return None


def emergency_grants_used(user) -> list[EmergencyGrant]:
    """The grants this request showed a patient under (what the emergency-access banner lists)."""
    return list((getattr(user, _USED_ATTR, None) or {}).values())
