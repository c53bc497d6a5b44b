"""FHIR R4 (R4B) QuestionnaireResponse for one administered instrument, with its score."""

from __future__ import annotations

from .models import AssessmentResponse


def _answer(value) -> list[dict]:
    if value is None:
        return []
    if isinstance(value, bool):
        return [{"valueBoolean": value}]
    return [{"valueInteger": int(value)}]


def questionnaire_response_resource(response: AssessmentResponse) -> dict:
    items = [
        {"linkId": f"item_{n}", **({"answer": _answer(v)} if _answer(v) else {})}
        for n, v in enumerate(response.answers or [], start=1)
    ]
    if response.ruler_type:
        # The readiness ruler's value means nothing without what was rated (DOMAIN.md 4.10).
        items.append(
            {"linkId": "ruler_type", "text": "Type of ruler", "answer": [{"valueString": response.ruler_type}]}
        )
    if response.total is not None:
        total = response.total
        items.append(
            {
                "linkId": "total",
                "text": response.band_label or "Total score",
                "answer": [
                    {"valueDecimal": total}
                    if isinstance(total, float) and not total.is_integer()
                    else {"valueInteger": int(total)}
                ],
            }
        )
    return {
        "resourceType": "QuestionnaireResponse",
        "id": str(response.public_id),
        "questionnaire": f"urn:iop-clinic:questionnaire:{response.instrument}",
        "status": "completed",
        "subject": {"reference": f"urn:uuid:{response.patient.public_id}", "type": "Patient"},
        "authored": response.administered_at.isoformat(),
        "item": items,
    }
