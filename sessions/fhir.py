"""FHIR R4 (R4B) Encounter for one attendance record (roll-call)."""

from __future__ import annotations

from .models import ATTENDED, Attendance

ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"


def encounter_resource(attendance: Attendance) -> dict:
    session = attendance.session
    attended = attendance.status in ATTENDED
    return {
        "resourceType": "Encounter",
        "id": str(attendance.public_id),
        "status": "finished" if attended else "cancelled",
        "class": {"system": ACT_CODE, "code": "VR" if attendance.status == "telehealth" else "AMB"},
        "type": [{"text": session.get_kind_display()}],
        "subject": {"reference": f"urn:uuid:{attendance.patient.public_id}", "type": "Patient"},
        "episodeOfCare": [{"reference": f"urn:uuid:{attendance.episode.public_id}", "type": "EpisodeOfCare"}],
        "period": {"start": session.starts_at.isoformat(), "end": session.ends_at.isoformat()},
        "length": {
            "value": attendance.minutes_attended,
            "unit": "min",
            "system": "http://unitsofmeasure.org",
            "code": "min",
        },
        "extension": [
            {"url": "urn:iop-clinic:attendance-status", "valueCode": attendance.status},
        ],
    }
