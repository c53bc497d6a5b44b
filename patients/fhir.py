"""FHIR R4 (R4B, 4.3) resources for a patient, their episodes of care and Part 2 consents.

Builders return plain FHIR JSON dicts; ``reports.fhir`` assembles them into a bundle and
validates every resource with ``fhir.resources``. Resource ids are the records' public ids
(never row ids or MRNs in URLs; the MRN travels as an identifier inside the resource).
"""

from __future__ import annotations

from .models import Consent, ConsentKind, Episode, Patient

MRN_SYSTEM = "urn:iop-clinic:mrn"
_GENDER = {"female": "female", "male": "male", "intersex": "other", "unknown": "unknown", "declined": "unknown"}


def ref(resource_type: str, public_id) -> dict:
    return {"reference": f"urn:uuid:{public_id}", "type": resource_type}


def patient_resource(patient: Patient) -> dict:
    name = {"use": "official", "family": patient.legal_last_name, "given": [patient.legal_first_name]}
    names = [name]
    if patient.preferred_name and patient.preferred_name != patient.legal_first_name:
        names.append({"use": "usual", "family": patient.legal_last_name, "given": [patient.preferred_name]})
    resource = {
        "resourceType": "Patient",
        "id": str(patient.public_id),
        "identifier": [{"use": "usual", "system": MRN_SYSTEM, "value": patient.mrn}],
        "active": patient.deleted_at is None,
        "name": names,
        "birthDate": patient.date_of_birth.isoformat(),
        "communication": [{"language": {"text": patient.language}}] if patient.language else None,
    }
    if patient.sex_at_birth:
        resource["gender"] = _GENDER.get(patient.sex_at_birth, "unknown")
    telecom = []
    if patient.phone:
        telecom.append({"system": "phone", "value": patient.phone})
    if patient.email:
        telecom.append({"system": "email", "value": patient.email})
    if telecom:
        resource["telecom"] = telecom
    return {k: v for k, v in resource.items() if v is not None}


def episode_of_care_resource(episode: Episode) -> dict:
    period = {"start": episode.admission_date.isoformat()}
    if episode.discharge_date:
        period["end"] = episode.discharge_date.isoformat()
    return {
        "resourceType": "EpisodeOfCare",
        "id": str(episode.public_id),
        "status": "active" if episode.is_open else "finished",
        "type": [{"text": f"ASAM level {episode.level_of_care}"}],
        "patient": ref("Patient", episode.patient.public_id),
        "period": period,
    }


def consent_resource(consent: Consent) -> dict:
    """The consent the disclosure relies on: its scope travels with the records (§2.32)."""
    status = {"active": "active", "expired": "inactive", "revoked": "inactive"}[consent.status]
    provision = {
        "type": "permit",
        "actor": [
            {
                "role": {
                    "coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType", "code": "IRCP"}]
                },
                "reference": {"display": line},
            }
            for line in consent.recipient_lines
        ],
        "purpose": [
            {"system": "urn:iop-clinic:disclosure-purpose", "code": p, "display": label}
            for p, label in zip(consent.purposes, consent.purpose_labels, strict=False)
        ],
        "class": [{"system": "urn:iop-clinic:information-category", "code": c} for c in consent.categories],
    }
    if consent.expires_on:
        provision["period"] = {"end": consent.expires_on.isoformat()}
    return {
        "resourceType": "Consent",
        "id": str(consent.public_id),
        "status": status,
        "scope": {
            "coding": [{"system": "http://terminology.hl7.org/CodeSystem/consentscope", "code": "patient-privacy"}]
        },
        "category": [
            {
                "coding": [{"system": "http://loinc.org", "code": "59284-0", "display": "Patient Consent"}],
                "text": dict(ConsentKind.choices)[consent.kind],
            }
        ],
        "patient": ref("Patient", consent.patient.public_id),
        "dateTime": consent.signed_at.isoformat() if consent.signed_at else None,
        "policy": [{"uri": "https://www.ecfr.gov/current/title-42/chapter-I/subchapter-A/part-2"}],
        "provision": provision,
    }
