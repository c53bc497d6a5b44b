"""The "API tokens" page: a staff member issues and revokes their own integration tokens.

A token acts as its owner: the same sites, roles and audit trail. A person may hold several,
each with a name and an optional expiry. The secret is shown once, in the response to its
creation, and never again (only its hash is stored; the page shows its first characters).
Issuing and revoking are audited without the secret. Revoking takes effect at once: the next
API call with it answers 401.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from ..forms import ApiTokenForm, add_service_errors
from ..models import ApiToken
from ..permissions import get_for_user, roles_by_site
from .tokens import api_token_create, api_token_revoke


def _require_member(request: HttpRequest) -> None:
    # A token acts at the owner's sites; an account with none has nothing to integrate with.
    if not roles_by_site(request.user):
        raise PermissionDenied


def _page(request: HttpRequest, *, form: ApiTokenForm | None = None, new_token=None, secret: str = "", status=200):
    tokens = ApiToken.objects.filter(user=request.user, revoked_at__isnull=True).order_by("-created_at")
    return render(
        request,
        "users/api_tokens.html",
        {"tokens": tokens, "form": form or ApiTokenForm(), "new_token": new_token, "new_secret": secret},
        status=status,
    )


@login_required
@never_cache
def api_tokens(request: HttpRequest) -> HttpResponse:
    _require_member(request)
    return _page(request)


@login_required
@never_cache
@require_POST
def api_token_create_view(request: HttpRequest) -> HttpResponse:
    """Issue a named token and show its secret this once (in this response, never a redirect,
    so it is kept in no session, message or log)."""
    _require_member(request)
    form = ApiTokenForm(request.POST)
    if form.is_valid():
        try:
            token, secret = api_token_create(
                user=request.user,
                name=form.cleaned_data["name"],
                expires_at=form.expires_at(),
                by=request.user,
                request=request,
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, "Token created. Copy it now: it will not be shown again.")
            return _page(request, new_token=token, secret=secret)
    return _page(request, form=form, status=400)


@login_required
@never_cache
@require_POST
def api_token_revoke_view(request: HttpRequest, public_id) -> HttpResponse:
    _require_member(request)
    # Only the owner's own tokens are reachable here (404 for anyone else's).
    token = get_for_user(ApiToken.objects.filter(user=request.user), user=request.user, public_id=public_id)
    if api_token_revoke(token=token, by=request.user, request=request, reason="API token revoked by its owner"):
        messages.success(request, f"Token “{token.name}” revoked. Integrations using it are cut off now.")
    return redirect("users:api_tokens")
