"""The per-patient FHIR R4 bundle released under a Part 2 consent.

Layering: this module reads every clinical app, so it lives in ``reports`` (the top floor);
each resource builder lives in its own app's ``fhir.py``. The models are FHIR R4B (4.3, the
R4 line that ``fhir.resources`` 8 ships); every resource and the bundle are validated before
anything leaves.

**The Part 2 notice (42 CFR §2.32) travels in two forms** (the choice documented here):
1. ``Bundle.meta.security`` labels, machine-readable: ``42CFRPart2`` (the governing law),
   ``NORDSCLCD`` (no redisclosure without consent) and confidentiality ``R`` (restricted);
2. a ``Provenance`` resource targeting every released resource, whose narrative carries the
   notice text exactly as the disclosure recorded it (version, short and long statement) and a
   plain explanation of the consent's scope; ``Provenance.entity`` points at the ``Consent``
   resource, which is itself in the bundle (the copy of the consent §2.32 asks for).
The Disclosure row (``patients.Disclosure``) logs which notice version went out.
"""

from __future__ import annotations

from html import escape

from django.utils import timezone
from fhir.resources.R4B import get_fhir_model_class

from patients.fhir import consent_resource, episode_of_care_resource, patient_resource
from patients.models import Disclosure, InfoCategory, Patient

ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
SECURITY_LABELS = [
    {"system": ACT_CODE, "code": "42CFRPart2", "display": "42 CFR Part2"},
    {"system": ACT_CODE, "code": "NORDSCLCD", "display": "no redisclosure without consent directive"},
    {"system": "http://terminology.hl7.org/CodeSystem/v3-Confidentiality", "code": "R", "display": "restricted"},
]
POLICY_URI = "https://www.ecfr.gov/current/title-42/chapter-I/subchapter-A/part-2/subpart-C/section-2.32"


def validate(resource: dict) -> dict:
    """Parse with fhir.resources (raises on an invalid resource) and return it unchanged."""
    get_fhir_model_class(resource["resourceType"]).model_validate(resource)
    return resource


def _covers(categories: list[str], category: str) -> bool:
    return category in categories or InfoCategory.ALL_SUD_RECORDS in categories


def _clinical_resources(patient: Patient, categories: list[str]) -> list[dict]:
    """The records in the released categories, as FHIR resources."""
    resources: list[dict] = []
    episodes = list(patient.episodes.select_related("patient").order_by("admission_date"))
    if _covers(categories, InfoCategory.ATTENDANCE) or _covers(categories, InfoCategory.DIAGNOSIS):
        resources += [episode_of_care_resource(e) for e in episodes]
    if _covers(categories, InfoCategory.ATTENDANCE):
        from scheduling.fhir import appointment_resource
        from sessions.fhir import encounter_resource
        from sessions.models import Attendance

        rows = Attendance.objects.filter(patient=patient).select_related("session", "patient", "episode")
        for attendance in rows.order_by("session__starts_at"):
            resources.append(appointment_resource(attendance.session, patient))
            resources.append(encounter_resource(attendance))
    if _covers(categories, InfoCategory.ASSESSMENTS):
        from assessments.fhir import questionnaire_response_resource
        from assessments.models import AssessmentResponse

        for response in AssessmentResponse.objects.filter(patient=patient).select_related("patient"):
            resources.append(questionnaire_response_resource(response))
    if _covers(categories, InfoCategory.TREATMENT_PLAN):
        from plans.fhir import care_plan_resource
        from plans.models import TreatmentPlan

        plans = TreatmentPlan.objects.filter(episode__patient=patient).select_related("episode__patient")
        for plan in plans.prefetch_related("objectives").order_by("version"):
            resources.append(care_plan_resource(plan))
    return resources


def _notice_narrative(disclosure: Disclosure) -> str:
    notice = disclosure.notice
    consent = disclosure.consent
    scope = "; ".join(consent.category_labels)
    parts = [
        f"<p><b>{escape(notice.title)}</b> (version {notice.version})</p>",
        f"<p>{escape(notice.short_statement)}</p>",
        f"<p>{escape(notice.long_statement)}</p>",
        "<p>Released under the patient's written consent signed "
        f"{consent.signed_at:%Y-%m-%d}: information categories: {escape(scope)}; "
        f"recipient: {escape(disclosure.recipient)}; purpose: {escape(disclosure.get_purpose_display())}. "
        "A copy of the consent is included in this bundle.</p>",
    ]
    return '<div xmlns="http://www.w3.org/1999/xhtml">' + "".join(parts) + "</div>"


def disclosure_bundle(*, patient: Patient, disclosure: Disclosure) -> dict:
    """A FHIR ``collection`` bundle: the patient, the records in the disclosure's categories,
    the consent relied on, and a Provenance carrying the Part 2 notice."""
    consent = disclosure.consent
    consent.patient = patient
    resources = [patient_resource(patient), *_clinical_resources(patient, list(disclosure.categories))]
    resources.append(consent_resource(consent))
    provenance = {
        "resourceType": "Provenance",
        "id": str(disclosure.public_id),
        "text": {"status": "generated", "div": _notice_narrative(disclosure)},
        "target": [{"reference": f"urn:uuid:{r['id']}", "type": r["resourceType"]} for r in resources],
        "recorded": disclosure.disclosed_at.isoformat(),
        "policy": [POLICY_URI],
        "activity": {
            "coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-DataOperation", "code": "CREATE"}]
        },
        "agent": [{"who": {"display": patient.site.name}}],
        "entity": [{"role": "source", "what": {"reference": f"urn:uuid:{consent.public_id}", "type": "Consent"}}],
    }
    resources.append(provenance)
    bundle = {
        "resourceType": "Bundle",
        "id": str(disclosure.public_id),
        "meta": {"security": SECURITY_LABELS},
        "type": "collection",
        "timestamp": timezone.now().isoformat(),
        "entry": [{"fullUrl": f"urn:uuid:{r['id']}", "resource": validate(r)} for r in resources],
    }
    return validate(bundle)
