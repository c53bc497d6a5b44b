from django.dispatch import Signal

# Sent after a change to staff, roles, invitations or site settings, so the audit trail
# (which sits above users) can record it. Arguments: actor, site, event, details.
staff_changed = Signal()
