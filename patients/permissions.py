"""Who may see and change patients and everything hanging off them.

A patient is visible to staff holding ``patient.view`` at the patient's site (intake,
counselors, supervisors, directors). A site admin configures the site but holds no
``patient.view``: every patient URL answers 404 for them, exactly as for a stranger, and the
patient search and intake board answer 403 (those pages are about no particular record).
Writes need a second capability at the patient's site (``patient.change``,
``consent.manage`` …) and answer 403 when it is missing.
"""

from __future__ import annotations

from django.db.models import QuerySet

from users.permissions import get_for_user, has_capability, site_ids_for

from .models import Patient, Referral


def patients_visible_to(user) -> QuerySet[Patient]:
    """Patients (not soft-deleted) at the sites where the user holds ``patient.view``."""
    return Patient.objects.active().filter(site_id__in=site_ids_for(user, "patient.view"))


def referrals_visible_to(user) -> QuerySet[Referral]:
    return Referral.objects.filter(site_id__in=site_ids_for(user, "patient.view"), patient__deleted_at__isnull=True)


def can_change_patient(user, patient: Patient, capability: str = "patient.change") -> bool:
    return has_capability(user, patient.site_id, capability)


def get_patient_for_user(user, public_id, *, write: bool = False, capability: str = "patient.change") -> Patient:
    """The visible patient with this public id, or 404; with ``write=True``, 403 unless the user
    holds ``capability`` at the patient's site."""
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
