"""Who may see and change assessments, placements, toxicology and medications.

* Clinical staff (``clinical.view``: counselors, supervisors, directors) see everything here
  for their sites; ``clinical.write`` (counselors, supervisors) changes it.
* Intake coordinators hold ``assessment.administer``: they administer the screening
  instruments (``SCREENING_INSTRUMENTS``) and see those responses, but never placements,
  toxicology, medications or the clinical instruments (CIWA-Ar, COWS, BAM, URICA …).
* Co-signing placements and the recommended-vs-actual review need ``placement.override``.

An object outside these querysets answers 404; a visible object the user may not change, 403.
A break-glass grant shows its holder everything here for that one patient, read-only.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet

from patients.models import Patient
from patients.permissions import get_patient_for_user, patient_may, visible_q
from users.permissions import get_for_user, has_capability, site_ids_for

from .models import SCREENING_INSTRUMENTS, AssessmentResponse, Medication, Placement, Specimen


def responses_visible_to(user) -> QuerySet[AssessmentResponse]:
    clinical = site_ids_for(user, "clinical.view")
    screening = site_ids_for(user, "assessment.administer") - clinical
    return AssessmentResponse.objects.filter(
        visible_q(user, "clinical.view") | Q(site_id__in=screening, instrument__in=SCREENING_INSTRUMENTS),
        patient__deleted_at__isnull=True,
    )


def placements_visible_to(user) -> QuerySet[Placement]:
    return Placement.objects.filter(visible_q(user, "clinical.view"), patient__deleted_at__isnull=True)


def specimens_visible_to(user) -> QuerySet[Specimen]:
    return Specimen.objects.filter(visible_q(user, "clinical.view"), patient__deleted_at__isnull=True)


def medications_visible_to(user) -> QuerySet[Medication]:
    return Medication.objects.filter(visible_q(user, "clinical.view"), patient__deleted_at__isnull=True)


def _clinical_write(user, obj) -> bool:
    return has_capability(user, obj.site_id, "clinical.write")


def get_response_for_user(user, public_id, *, write: bool = False) -> AssessmentResponse:
    """The visible response, or 404; ``write=True`` (closing it) needs ``clinical.write``."""
    return get_for_user(
        responses_visible_to(user).select_related("patient__site", "episode", "administered_by", "closed_by"),
        user=user,
        write=write,
        can_change=_clinical_write,
        public_id=public_id,
    )


def get_placement_for_user(user, public_id, *, write: bool = False) -> Placement:
    return get_for_user(
        placements_visible_to(user).select_related(
            "patient__site", "episode", "created_by", "signed_by", "cosigned_by"
        ),
        user=user,
        write=write,
        can_change=_clinical_write,
        public_id=public_id,
    )


def get_specimen_for_user(user, public_id, *, write: bool = False) -> Specimen:
    return get_for_user(
        specimens_visible_to(user).select_related("patient__site", "collected_by", "reviewed_by"),
        user=user,
        write=write,
        can_change=_clinical_write,
        public_id=public_id,
    )


def get_medication_for_user(user, public_id, *, write: bool = False) -> Medication:
    return get_for_user(
        medications_visible_to(user).select_related("patient__site", "prescriber"),
        user=user,
        write=write,
        can_change=_clinical_write,
        public_id=public_id,
    )


def get_patient_for_clinical(user, public_id, *, capability: str = "clinical.view") -> Patient:
    """The patient (404 unless visible to the user at all), then 403 unless the user holds
    ``capability`` at the patient's site."""
    patient = get_patient_for_user(user, public_id)
    if not patient_may(user, patient, capability):
        raise PermissionDenied
    return patient


def may_see_clinical(user, patient: Patient) -> bool:
    """``clinical.view`` for this patient: at the patient's site, or under a break-glass grant."""
    return patient_may(user, patient, "clinical.view")


def may_see_assessments(user, patient: Patient) -> bool:
    return may_see_clinical(user, patient) or has_capability(user, patient.site_id, "assessment.administer")
