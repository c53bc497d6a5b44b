"""Reads other apps reuse: the chart header every patient page starts with.

Usage from any app's view (after its own fetch-and-check)::

    from patients.selectors import chart_header
    context["chart"] = chart_header(patient)

and in the template ``{% include "patients/_chart_header.html" %}``. Two queries.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .models import AgeGroup, Consent, ConsentKind, ContactChannel, Episode, Patient, site_today


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


def chart_header(patient: Patient) -> ChartHeader:
    """Identity, age group, the open episode and the alerts staff must see before acting."""
    today = site_today(patient.site)
    open_episode = patient.episodes.open().select_related("primary_counselor").first()
    consents = list(Consent.objects.filter(patient=patient).active_on(today).values_list("kind", flat=True))
    alerts: list[Alert] = []
    age_group = patient.age_group_on(today)
    if age_group == AgeGroup.ADOLESCENT:
        alerts.append(Alert("warn", "Adolescent: under 18"))
    if not any(kind != ConsentKind.COUNSELLING_NOTES for kind in consents):
        alerts.append(Alert("danger", "No active Part 2 consent: release nothing"))
    if patient.confidential_contact:
        alerts.append(Alert("warn", "Confidential communications: use the alternate contact"))
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
