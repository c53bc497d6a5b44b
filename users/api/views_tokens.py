"""The "API tokens" page: a staff member creates or revokes their own integration token.

A token acts as its owner: the same sites, roles and audit trail. There is at most one per
person (DRF's ``authtoken``). The key is shown once, in the response to its creation, and
never again (the page shows only its first characters). Creation and revocation are audited
without the key. Revoking takes effect at once: the next API call with it answers 401.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST
from rest_framework.authtoken.models import Token

from audit.models import Action
from audit.services import record

from ..permissions import roles_by_site

OBJECT_TYPE = "authtoken.Token"


def _require_member(request: HttpRequest) -> None:
    # A token acts at the owner's sites; an account with none has nothing to integrate with.
    if not roles_by_site(request.user):
        raise PermissionDenied


def _page(request: HttpRequest, *, new_key: str | None = None) -> HttpResponse:
    token = Token.objects.filter(user=request.user).first()
    return render(
        request,
        "users/api_tokens.html",
        {"token": token, "prefix": token.key[:6] if token else "", "new_key": new_key},
    )


@login_required
@never_cache
def api_tokens(request: HttpRequest) -> HttpResponse:
    _require_member(request)
    return _page(request)


@login_required
@never_cache
@require_POST
def api_token_create(request: HttpRequest) -> HttpResponse:
    """Issue a new token (replacing any previous one) and show its key this once."""
    _require_member(request)
    with transaction.atomic():
        replaced = Token.objects.filter(user=request.user).delete()[0] > 0
        token = Token.objects.create(user=request.user)
        record(
            Action.CREATE,
            request=request,
            object_type=OBJECT_TYPE,
            object_id=str(request.user.public_id),
            changes={"replaced_previous": replaced, "prefix": token.key[:6]},
        )
    messages.success(request, "Token created. Copy it now: it will not be shown again.")
    return _page(request, new_key=token.key)


@login_required
@never_cache
@require_POST
def api_token_revoke(request: HttpRequest) -> HttpResponse:
    _require_member(request)
    with transaction.atomic():
        token = Token.objects.filter(user=request.user).first()
        if token is not None:
            prefix = token.key[:6]
            token.delete()
            record(
                Action.DELETE,
                request=request,
                object_type=OBJECT_TYPE,
                object_id=str(request.user.public_id),
                changes={"prefix": prefix},
            )
            messages.success(request, "Token revoked. Integrations using it are cut off now.")
    return redirect("users:api_tokens")
