"""FHIR R4 (R4B) Appointment for one patient's place in a scheduled session."""

from __future__ import annotations

from .models import SessionStatus, TherapySession


def appointment_resource(session: TherapySession, patient) -> dict:
    return {
        "resourceType": "Appointment",
        "id": f"{session.public_id}",
        "status": "cancelled" if session.status == SessionStatus.CANCELLED else "booked",
        "serviceType": [{"text": session.get_kind_display()}],
        "description": session.title,
        "start": session.starts_at.isoformat(),
        "end": session.ends_at.isoformat(),
        "participant": [
            {"actor": {"reference": f"urn:uuid:{patient.public_id}", "type": "Patient"}, "status": "accepted"}
        ],
    }
