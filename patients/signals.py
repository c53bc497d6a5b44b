"""What other apps may react to. ``patients`` sits below ``notifications`` and may not import it
(ARCHITECTURE.md §3), so the alerts these events call for are raised by ``notifications``'
receivers, in the same transaction as the change (signals are sent inside the service).
"""

from django.dispatch import Signal

# A break-glass grant was opened: the patient's site's supervisors and directors are alerted.
# Keyword argument: ``access`` (patients.EmergencyAccess).
emergency_access_granted = Signal()

# A supervisor or director reviewed a grant: the alert about it is closed.
# Keyword arguments: ``access``, ``by``.
emergency_access_reviewed = Signal()

# Records were released without the patient's consent (medical emergency, court order): the
# site's supervisors and directors are alerted. Keyword argument: ``disclosure``.
disclosure_without_consent = Signal()
