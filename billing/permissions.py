"""Who may see and record authorizations and utilization reviews.

They are part of the patient's record: whoever sees the patient (``patient.view`` at the
patient's site, or a live break-glass grant, read-only) sees them. Recording or correcting one
needs ``billing.manage`` at the patient's site (intake/UR staff, supervisors, the program
director); counselors read them. An authorization of another site's patient answers 404.
"""

from __future__ import annotations

from django.db.models import QuerySet

from patients.models import Patient
from patients.permissions import patient_may, visible_q
from users.permissions import get_for_user

from .models import Authorization


def authorizations_visible_to(user) -> QuerySet[Authorization]:
    """Authorizations of the patients the user sees (soft-deleted patients' never)."""
    return Authorization.objects.filter(
        visible_q(user, "patient.view", site_field="site_id", patient_field="episode__patient_id"),
        episode__patient__deleted_at__isnull=True,
    )


def can_manage_billing(user, patient: Patient) -> bool:
    return patient_may(user, patient, "billing.manage")


def get_authorization_for_user(user, patient: Patient, public_id, *, write: bool = False) -> Authorization:
    """One of this patient's authorizations, or 404; with ``write=True``, 403 unless the user
    holds ``billing.manage`` at the patient's site."""
    return get_for_user(
        authorizations_visible_to(user)
        .filter(episode__patient=patient)
        .select_related("payer", "service_code", "episode", "created_by"),
        user=user,
        write=write,
        can_change=lambda u, a: can_manage_billing(u, patient),
        public_id=public_id,
    )
