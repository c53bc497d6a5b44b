"""Who may see and change patients and everything hanging off them.

A patient is visible to staff holding ``patient.view`` at the patient's site (intake,
counselors, supervisors, directors). A site admin configures the site but holds no
``patient.view``: every patient URL answers 404 for them, exactly as for a stranger, and the
patient search and intake board answer 403 (those pages are about no particular record).
Writes need a second capability at the patient's site (``patient.change``,
``consent.manage`` …) and answer 403 when it is missing.

Break-glass: a live ``EmergencyAccess`` grant adds one patient, read-only, for the user who
holds it. The read capabilities in ``EMERGENCY_CAPABILITIES`` then hold for that patient (and
for rows of that patient, through ``visible_q``); nothing else does, so every write answers 403.
After the grant expires or is ended the patient answers 404 again.
"""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django.utils import timezone

from users.permissions import (
    EmergencyGrant,
    cache_emergency_grants,
    cached_emergency_grants,
    get_for_user,
    has_capability,
    site_ids_for,
)

from .models import EmergencyAccess, Patient, Referral

# What a break-glass grant lets its holder do with that one patient: read the chart, the
# clinical record and the patient's schedule. Never a write.
EMERGENCY_CAPABILITIES = frozenset({"patient.view", "clinical.view", "schedule.view"})


def emergency_grants(user) -> dict[int, EmergencyGrant]:
    """The user's live break-glass grants by patient id: one query per request (cached on the
    user object), none for users whose roles cannot break glass. Grants to patients of a site
    where the user is now a member are left out: membership decides there."""
    cached = cached_emergency_grants(user)
    if cached is not None:
        return cached
    grants: list[EmergencyGrant] = []
    if getattr(user, "is_authenticated", False) and site_ids_for(user, "emergency.access"):
        rows = (
            EmergencyAccess.objects.live(timezone.now())
            .filter(user=user, patient__deleted_at__isnull=True)
            .exclude(site_id__in=site_ids_for(user))
            .order_by("expires_at")
            .values_list(
                "public_id", "patient_id", "patient__public_id", "site_id", "reason", "expires_at", "site__time_zone"
            )
        )
        grants = [
            EmergencyGrant(
                ref=str(ref),
                patient_id=patient_id,
                patient_ref=str(patient_ref),
                site_id=site_id,
                reason=reason,
                expires_at=expires_at,
                time_zone=zone,
            )
            for ref, patient_id, patient_ref, site_id, reason, expires_at, zone in rows
        ]
    return cache_emergency_grants(user, grants)


def emergency_patient_ids(user) -> set[int]:
    return set(emergency_grants(user))


def visible_q(user, capability: str, *, site_field: str = "site_id", patient_field: str = "patient_id") -> Q:
    """Rows at the sites where the user holds ``capability``, plus, for the read capabilities a
    break-glass grant gives, the rows of the patients under the user's live grants."""
    q = Q(**{f"{site_field}__in": site_ids_for(user, capability)})
    if capability in EMERGENCY_CAPABILITIES:
        ids = emergency_patient_ids(user)
        if ids:
            q |= Q(**{f"{patient_field}__in": ids})
    return q


def patient_may(user, patient: Patient, capability: str) -> bool:
    """``capability`` at the patient's site, or a read capability under a live grant."""
    if has_capability(user, patient.site_id, capability):
        return True
    return capability in EMERGENCY_CAPABILITIES and patient.pk in emergency_patient_ids(user)


def under_emergency_access(user, patient: Patient) -> bool:
    """The user sees this patient only through a break-glass grant."""
    return not has_capability(user, patient.site_id, "patient.view") and patient.pk in emergency_patient_ids(user)


def patients_visible_to(user) -> QuerySet[Patient]:
    """Patients (not soft-deleted) at the sites where the user holds ``patient.view``, and the
    patients of the user's live break-glass grants."""
    return Patient.objects.active().filter(visible_q(user, "patient.view", patient_field="pk"))


def referrals_visible_to(user) -> QuerySet[Referral]:
    return Referral.objects.filter(visible_q(user, "patient.view"), patient__deleted_at__isnull=True)


def can_change_patient(user, patient: Patient, capability: str = "patient.change") -> bool:
    return patient_may(user, patient, capability)


def get_patient_for_user(user, public_id, *, write: bool = False, capability: str = "patient.change") -> Patient:
    """The visible patient with this public id, or 404; with ``write=True``, 403 unless the user
    holds ``capability`` for the patient (at the patient's site; a break-glass grant holds only
    the read capabilities, so every write capability answers 403 under it)."""
    return get_for_user(
        patients_visible_to(user).select_related("site", "primary_counselor"),
        user=user,
        write=write,
        can_change=lambda u, p: can_change_patient(u, p, capability),
        public_id=public_id,
    )


def get_referral_for_user(user, public_id, *, write: bool = False) -> Referral:
    return get_for_user(
        referrals_visible_to(user).select_related("patient", "site", "episode"),
        user=user,
        write=write,
        can_change=lambda u, r: has_capability(u, r.site_id, "intake.manage"),
        public_id=public_id,
    )


# --- Emergency accesses (review) ---------------------------------------------------------------------


def emergency_accesses_visible_to(user) -> QuerySet[EmergencyAccess]:
    """The grants to patients of the sites where the user reviews emergency access."""
    return EmergencyAccess.objects.filter(site_id__in=site_ids_for(user, "emergency.review"))


def get_emergency_access_for_review(user, public_id) -> EmergencyAccess:
    """The grant, for a supervisor or director of the patient's site; 404 for anyone else
    (including the person who held it)."""
    return get_for_user(
        emergency_accesses_visible_to(user).select_related("user", "patient__site", "site", "reviewed_by"),
        user=user,
        public_id=public_id,
    )


def get_own_emergency_access(user, public_id) -> EmergencyAccess:
    """One of the user's own grants (to end it early), or 404."""
    return get_for_user(
        EmergencyAccess.objects.filter(user=user).select_related("patient"), user=user, public_id=public_id
    )
