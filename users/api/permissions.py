from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import BasePermission, IsAuthenticated

from users.middleware import mfa_confirmed
from users.reauth import REAUTHENTICATION_REQUIRED, reauthentication_message, recently_authenticated


class HasMFA(BasePermission):
    """Session users reach the API only after enrolling a second factor.

    Token users are let through: a token can only be created from a page that is itself
    behind MFA, and revoking it cuts the integration off.
    """

    message = "Two-factor authentication must be set up before using the API."

    def has_permission(self, request, view) -> bool:
        if request.auth is not None:  # token authentication
            return True
        return bool(request.user and request.user.is_authenticated and mfa_confirmed(request))


class RecentlyAuthenticated(BasePermission):
    """Signing a legal record or exporting PHI from a browser session needs a sign-in or
    confirmation within ``REAUTHENTICATION_MINUTES``: 403 with ``code``
    ``reauthentication_required`` otherwise.

    Token calls are exempt: the integration's token is its credential, presented on every
    call, and there is no person at a keyboard to ask.
    """

    def has_permission(self, request, view) -> bool:
        if request.auth is not None:  # token authentication
            return True
        if recently_authenticated(request):
            return True
        raise PermissionDenied(
            {
                "detail": reauthentication_message("sign or export")
                + " Confirm it's you at /accounts/reauthenticate/, then retry.",
                "code": REAUTHENTICATION_REQUIRED,
            }
        )


# The permissions of API views that sign or export.
SIGN_OR_EXPORT = [IsAuthenticated, HasMFA, RecentlyAuthenticated]
