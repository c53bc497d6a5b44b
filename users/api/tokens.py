"""Writes to API tokens: issuing one (the secret returned once) and revoking it, both audited.

They live beside the API rather than in ``users.services`` because they write the audit trail
directly, as the API's other building blocks do; the audit event never holds the secret.
"""

from __future__ import annotations

from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone

from audit.models import Action
from audit.services import record

from ..models import ApiToken, User

# Enough for a handful of integrations; more usually means old tokens were never revoked.
MAX_LIVE_TOKENS = 10


def _summary(token: ApiToken) -> dict:
    return {
        "owner": str(token.user.public_id),
        "name": token.name,
        "prefix": token.prefix,
        "expires_at": token.expires_at.isoformat() if token.expires_at else None,
    }


@transaction.atomic
def api_token_create(
    *, user: User, name: str, expires_at: datetime | None, by: User, request: HttpRequest | None = None
) -> tuple[ApiToken, str]:
    """Issue a named token for ``user``; return it and its secret, which is stored only as a hash.

    Raises ValidationError naming the field: an empty or already used name (among the user's
    tokens that are not revoked), an expiry in the past, or too many live tokens.
    """
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": "Give the token a name, e.g. what the integration is."})
    if expires_at is not None and expires_at <= timezone.now():
        raise ValidationError({"expires_at": "The expiry must be in the future."})
    # Lock the owner's row so two simultaneous requests cannot both pass the count below.
    User.objects.select_for_update().filter(pk=user.pk).first()
    live = ApiToken.objects.filter(user=user, revoked_at__isnull=True)
    if live.filter(name__iexact=name).exists():
        raise ValidationError({"name": f"You already have a token named “{name}”: choose another name or revoke it."})
    if live.active().count() >= MAX_LIVE_TOKENS:
        raise ValidationError(
            {"name": f"You already have {MAX_LIVE_TOKENS} active tokens: revoke one you no longer use first."}
        )
    for _attempt in range(5):
        secret = ApiToken.new_secret()
        prefix = secret[: ApiToken.PREFIX_LENGTH]
        if ApiToken.objects.filter(prefix=prefix).exists():
            continue  # the prefix identifies the token, so it must be unique: draw again
        token = ApiToken(
            user=user, name=name, prefix=prefix, secret_hash=ApiToken.hash_secret(secret), expires_at=expires_at
        )
        token.full_clean()
        try:
            with transaction.atomic():
                token.save()
        except IntegrityError:  # the same prefix issued between the check and the insert
            continue
        break
    else:  # pragma: no cover - 40 random bits colliding five times running
        raise ValidationError("Could not issue a token; try again.")
    record(Action.CREATE, actor=by, request=request, obj=token, reason="API token issued", changes=_summary(token))
    return token, secret


@transaction.atomic
def api_token_revoke(*, token: ApiToken, by: User, request: HttpRequest | None = None, reason: str = "") -> bool:
    """Revoke ``token`` at once (the next call with it answers 401). Returns False, and records
    nothing, when it was already revoked."""
    token = ApiToken.objects.select_for_update().select_related("user").get(pk=token.pk)
    if token.revoked_at is not None:
        return False
    token.revoked_at = timezone.now()
    token.revoked_by = by
    token.save(update_fields=["revoked_at", "revoked_by", "updated_at"])
    record(
        Action.UPDATE,
        actor=by,
        request=request,
        obj=token,
        reason=reason or "API token revoked",
        changes={
            **_summary(token),
            "before": {"revoked_at": None},
            "after": {"revoked_at": token.revoked_at.isoformat()},
        },
    )
    return True
