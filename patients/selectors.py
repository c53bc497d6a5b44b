"""Reads other apps reuse: the chart header every patient page starts with.

Usage from any app's view (after its own fetch-and-check)::

    from patients.selectors import chart_header
    context["chart"] = chart_header(patient)

and in the template ``{% include "patients/_chart_header.html" %}``. Two queries.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Count, Q

from audit.models import AuditEvent

from .models import AgeGroup, Consent, ConsentKind, ConsentStatus, ContactChannel, Episode, Patient, site_today


@dataclass
class Alert:
    level: str  # "danger", "warn" or "info": the badge style
    text: str


@dataclass
class ChartHeader:
    patient: Patient
    age: int
    age_group: str
    open_episode: Episode | None
    alerts: list[Alert] = field(default_factory=list)


def chart_header(
    patient: Patient, *, episodes: list[Episode] | None = None, consents: list[Consent] | None = None
) -> ChartHeader:
    """Identity, age group, the open episode and the alerts staff must see before acting.

    A page that has already loaded all of the patient's episodes (with their primary counselor)
    or consents passes them, and the header reads them instead of asking again."""
    today = site_today(patient.site)
    if episodes is None:
        open_episode = patient.episodes.open().select_related("primary_counselor").first()
    else:  # at most one is open (episode_one_open_per_patient)
        open_episode = next((e for e in episodes if e.discharge_date is None), None)
    if consents is None:
        consents = list(
            Consent.objects.filter(patient=patient)
            .active_on(today, zone=patient.site.zone)
            .values_list("kind", flat=True)
        )
    else:
        consents = [c.kind for c in consents if c.status_on(today, episodes=episodes) == ConsentStatus.ACTIVE]
    alerts: list[Alert] = []
    age_group = patient.age_group_on(today)
    if age_group == AgeGroup.ADOLESCENT:
        alerts.append(Alert("warn", "Adolescent: under 18"))
    if not any(kind != ConsentKind.COUNSELLING_NOTES for kind in consents):
        alerts.append(Alert("danger", "No active Part 2 consent: release nothing"))
    if patient.confidential_communications:
        if patient.confidential_email or patient.confidential_phone:
            alerts.append(Alert("warn", "Confidential communications: use the alternate contact"))
        else:
            alerts.append(
                Alert("warn", "Confidential communications: use the alternate contact (none recorded: no reminders)")
            )
    if not patient.voicemail_allowed:
        alerts.append(Alert("info", "No voicemail"))
    if not patient.household_message_allowed:
        alerts.append(Alert("info", "No messages with household members"))
    if patient.preferred_channel == ContactChannel.NONE:
        alerts.append(Alert("info", "No reminders"))
    return ChartHeader(
        patient=patient,
        age=patient.age_on(today),
        age_group=AgeGroup(age_group).label,
        open_episode=open_episode,
        alerts=alerts,
    )


# --- What was seen under emergency access (from the audit trail) -----------------------------------

# Page names for the audit event types a break-glass user can cause; anything else shows as is.
PAGE_LABELS = {
    "patients.Patient": "Chart",
    "patients.Consent": "Consents",
    "patients.Disclosure": "Disclosures",
    "patients.DisclosureAccounting": "Accounting of disclosures",
    "patients.SupportContact": "Support network",
    "patients.Referral": "Referral",
    "patients.EmergencyAccess": "Emergency access",
    "assessments.AssessmentResponse": "Assessments",
    "assessments.Placement": "Placements",
    "assessments.Specimen": "Toxicology",
    "assessments.Medication": "Medications",
    "plans.TreatmentPlan": "Treatment plans",
    "plans.RelapsePreventionPlan": "Relapse-prevention plan",
    "plans.RecoveryActivity": "Recovery activities",
    "plans.AftercarePlan": "Aftercare",
    "clinical_sessions.ProgressNote": "Progress note",
    "clinical_sessions.GroupNote": "Group note (chart copy)",
    "clinical_sessions.patient_notes": "Notes",
    "clinical_sessions.patient_hours": "IOP hours",
    "clinical_sessions.patient_followup": "Attendance follow-up",
    "scheduling.patient_schedule": "Schedule",
    "patients.Episode": "Episode",
}


def page_label(object_type: str) -> str:
    return PAGE_LABELS.get(object_type, object_type or "—")


def emergency_events(access):
    """Every audit event of the grant: the grant itself, each page seen under it, its end and
    its review, oldest first. Uses the (actor, created_at) index, then the grant's tag."""
    ref = str(access.public_id)
    return (
        AuditEvent.objects.filter(
            Q(actor_id=access.user_id, created_at__gte=access.started_at, changes__emergency_access=ref)
            | Q(object_type="patients.EmergencyAccess", object_id=ref)
        )
        .select_related("actor")
        .order_by("created_at", "id")
    )


def emergency_pages_seen(accesses) -> dict[str, list[tuple[str, int]]]:
    """Grant public id → [(page, times seen)] for these grants, in one query."""
    accesses = list(accesses)
    if not accesses:
        return {}
    refs = [str(a.public_id) for a in accesses]
    rows = (
        AuditEvent.objects.filter(
            actor_id__in={a.user_id for a in accesses},
            created_at__gte=min(a.started_at for a in accesses),
            changes__emergency_access__in=refs,
        )
        .values("changes__emergency_access", "object_type")
        .annotate(n=Count("id"))
        .order_by()
    )
    seen: dict[str, list[tuple[str, int]]] = {ref: [] for ref in refs}
    for row in rows:
        seen.setdefault(str(row["changes__emergency_access"]), []).append((page_label(row["object_type"]), row["n"]))
    for pages in seen.values():
        pages.sort()
    return seen
