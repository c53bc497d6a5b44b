"""Alerts about patient events: ``patients`` may not import this app (ARCHITECTURE.md §3), so it
sends signals from inside its services and the alerts are raised here, in the same transaction.
Each receiver only hands over to a service."""

from __future__ import annotations

from django.dispatch import receiver

from patients.signals import disclosure_without_consent, emergency_access_granted, emergency_access_reviewed

from . import services


@receiver(emergency_access_granted, dispatch_uid="notifications_emergency_access_granted")
def _emergency_access_granted(sender, access, **kwargs) -> None:
    services.emergency_access_alert(access=access)


@receiver(disclosure_without_consent, dispatch_uid="notifications_disclosure_without_consent")
def _disclosure_without_consent(sender, disclosure, **kwargs) -> None:
    services.no_consent_disclosure_alert(disclosure=disclosure)


@receiver(emergency_access_reviewed, dispatch_uid="notifications_emergency_access_reviewed")
def _emergency_access_reviewed(sender, access, by, **kwargs) -> None:
    services.alerts_close_about(
        object_type="patients.EmergencyAccess",
        object_id=str(access.public_id),
        by=by,
        note=f"Emergency access reviewed: {access.get_review_outcome_display().lower()}.",
    )
