from rest_framework.permissions import BasePermission

from users.middleware import user_has_mfa


class HasMFA(BasePermission):
    """Session users reach the API only after enrolling a second factor.

    Token users are let through: a token can only be created from a page that is itself
    behind MFA, and revoking it cuts the integration off.
    """

    message = "Two-factor authentication must be set up before using the API."

    def has_permission(self, request, view) -> bool:
        if request.auth is not None:  # token authentication
            return True
        return bool(request.user and request.user.is_authenticated and user_has_mfa(request.user))
