from django.conf import settings

from .lock import lock_minutes
from .permissions import emergency_grants_used
from .roles import CAPABILITIES


def clinic(request) -> dict:
    """The current site, the user's sites and the navigation their role allows."""
    current = getattr(request, "clinic", None)
    if current is None or not request.user.is_authenticated:
        return {"idle_timeout_minutes": settings.SESSION_IDLE_TIMEOUT_MINUTES, "lock_minutes": lock_minutes()}
    role = current.role
    # Dots do not work in template lookups: "audit.view" is exposed as can.audit_view.
    can = {name.replace(".", "_"): role in roles for name, roles in CAPABILITIES.items()} if role else {}
    return {
        "clinic": current,
        "can": can,
        "idle_timeout_minutes": settings.SESSION_IDLE_TIMEOUT_MINUTES,
        "lock_minutes": lock_minutes(),
        # The break-glass grants this page showed a patient under (set by audit.record): the
        # banner names each reason and expiry. No query: nothing is loaded for this.
        "emergency_banner": emergency_grants_used(request.user),
    }
