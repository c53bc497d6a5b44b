"""API token authentication: ``Authorization: Token <secret>`` (or ``Bearer <secret>``).

The token acts as its owner: the request runs as that user, so their sites and roles are read
afresh on every call and a membership change applies at once. A revoked or expired token, an
unknown one, or one whose owner is deactivated answers 401.
"""

from __future__ import annotations

import hmac
from datetime import timedelta

from django.db.models import Q
from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed

from ..models import ApiToken

KEYWORDS = ("token", "bearer")
# "Last used" is for people deciding which token to revoke: minute precision is plenty, and
# it spares a database write on every API call.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def touch_last_used(token: ApiToken) -> None:
    """Stamp ``last_used_at``, at most once per ``LAST_USED_RESOLUTION`` (a conditional update,
    so concurrent calls write once)."""
    now = timezone.now()
    if token.last_used_at is not None and now - token.last_used_at < LAST_USED_RESOLUTION:
        return
    ApiToken.objects.filter(pk=token.pk).filter(
        Q(last_used_at__isnull=True) | Q(last_used_at__lte=now - LAST_USED_RESOLUTION)
    ).update(last_used_at=now)
    token.last_used_at = now


class ApiTokenAuthentication(BaseAuthentication):
    def authenticate(self, request):
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower().decode(errors="replace") not in KEYWORDS:
            return None
        if len(parts) != 2:
            raise AuthenticationFailed("Send the header as 'Authorization: Token <token>' with no spaces in the token.")
        try:
            secret = parts[1].decode("ascii")
        except UnicodeDecodeError:
            raise AuthenticationFailed("Invalid token.") from None
        return self.authenticate_credentials(secret)

    def authenticate_credentials(self, secret: str):
        token = (
            ApiToken.objects.select_related("user").filter(prefix=secret[: ApiToken.PREFIX_LENGTH]).first()
            if len(secret) > ApiToken.PREFIX_LENGTH
            else None
        )
        # Constant-time comparison of the hashes, so timing reveals nothing about the secret.
        if token is None or not hmac.compare_digest(token.secret_hash, ApiToken.hash_secret(secret)):
            raise AuthenticationFailed("Invalid token.")
        if token.revoked_at is not None:
            raise AuthenticationFailed("This token was revoked.")
        if token.expires_at is not None and token.expires_at <= timezone.now():
            raise AuthenticationFailed("This token has expired.")
        if not token.user.is_active:
            raise AuthenticationFailed("The token's owner is deactivated.")
        touch_last_used(token)
        return token.user, token

    def authenticate_header(self, request) -> str:
        # A 401 (not 403) for a missing or bad token tells an integration to authenticate.
        return "Token"


class ApiTokenScheme(OpenApiAuthenticationExtension):
    target_class = "users.api.authentication.ApiTokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        # Swagger UI's "Authorize" then sends `Bearer <token>`; integrations may send `Token <token>`.
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A personal API token from the 'API tokens' page, sent as `Bearer <token>` "
            "or `Token <token>`. It acts as its owner at their sites; a revoked or expired token gets 401.",
        }
