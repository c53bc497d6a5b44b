"""FHIR R4 (R4B) CarePlan for one treatment plan version."""

from __future__ import annotations

from .models import PlanStatus, TreatmentPlan

_STATUS = {
    PlanStatus.DRAFT: "draft",
    PlanStatus.AWAITING_COSIGN: "draft",
    PlanStatus.SIGNED: "active",
    PlanStatus.SUPERSEDED: "revoked",
}


def care_plan_resource(plan: TreatmentPlan) -> dict:
    activities = [
        {
            "detail": {
                "status": "not-started" if objective.status == "not_started" else "in-progress",
                "description": objective.statement,
                "scheduledString": f"Target {objective.target_date:%Y-%m-%d}",
            }
        }
        for objective in plan.objectives.all()
    ]
    resource = {
        "resourceType": "CarePlan",
        "id": str(plan.public_id),
        "status": _STATUS.get(plan.status, "unknown"),
        "intent": "plan",
        "title": f"Treatment plan, version {plan.version}",
        "description": "\n".join(
            f"{label}: {text}"
            for label, text in (
                ("Strengths", plan.strengths),
                ("Needs", plan.needs),
                ("Abilities", plan.abilities),
                ("Preferences", plan.preferences),
                ("Discharge criteria", plan.discharge_criteria),
            )
            if text
        )
        or None,
        "subject": {"reference": f"urn:uuid:{plan.episode.patient.public_id}", "type": "Patient"},
        "period": {"start": plan.plan_date.isoformat()},
        "created": plan.created_at.isoformat(),
    }
    if activities:
        resource["activity"] = activities
    return {k: v for k, v in resource.items() if v is not None}
