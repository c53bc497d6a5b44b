"""Re-authentication before signing a legal record or exporting PHI (HIPAA §164.312(a),
DOMAIN.md §12 "Automatic logoff").

A signature or an export needs an authentication within ``REAUTHENTICATION_MINUTES``: the
sign-in itself (password, then the second factor) or allauth's "confirm it's you" pages
(password, authenticator code or passkey). allauth keeps the time of every authentication
step of the session; its own pages (changing the second factor, e-mail) use the same window.

Views call :func:`recently_authenticated` and, when it is false, answer with
:func:`reauthenticate_redirect` (the confirmation page, then back to ``next``), or
:func:`reauthenticate_url` when the page should stay where it is so typed text is kept.
``next`` is always one of our own UUID-addressed pages: no PHI goes into the address.
"""

from __future__ import annotations

import time
from urllib.parse import urlencode

from allauth.account import app_settings as allauth_account_settings
from allauth.account.adapter import get_adapter
from allauth.account.internal.flows.login import get_authentication_records
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse

REAUTHENTICATION_REQUIRED = "reauthentication_required"


def last_authenticated_at(request: HttpRequest) -> float | None:
    """When this session last completed an authentication step (sign-in, second factor or a
    confirmation), as a Unix time; ``None`` when it recorded none."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not hasattr(request, "session"):
        return None
    stamps = [r.get("at") for r in get_authentication_records(request, user)]
    stamps = [s for s in stamps if isinstance(s, int | float)]
    return max(stamps) if stamps else None


def recently_authenticated(request: HttpRequest) -> bool:
    at = last_authenticated_at(request)
    return at is not None and time.time() - at < allauth_account_settings.REAUTHENTICATION_TIMEOUT


def window_text() -> str:
    minutes = settings.REAUTHENTICATION_MINUTES
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


def reauthenticate_url(request: HttpRequest, next_url: str) -> str:
    """The user's first confirmation method (password; the authenticator app for an account
    without one), coming back to ``next_url`` afterwards."""
    methods = get_adapter(request).get_reauthentication_methods(request.user)
    base = methods[0]["url"] if methods else reverse("account_login")
    return f"{base}?{urlencode({REDIRECT_FIELD_NAME: next_url})}"


def reauthentication_message(what: str) -> str:
    """``what`` completes "... before you <what>", e.g. "sign this note"."""
    return (
        f"Confirm it's you before you {what}: signing and exports need a sign-in or confirmation "
        f"within the last {window_text()}."
    )


def reauthenticate_redirect(
    request: HttpRequest, next_url: str, what: str, outcome: str = "Nothing was signed or exported."
) -> HttpResponse:
    """Send the user to confirm it's them, with a message saying why and what happened to
    their request (``outcome``); afterwards they come back to ``next_url``."""
    messages.warning(request, f"{reauthentication_message(what)} {outcome}".strip())
    url = reauthenticate_url(request, next_url)
    if request.headers.get("HX-Request"):
        response = HttpResponse(status=204)
        response["HX-Redirect"] = url
        return response
    return HttpResponseRedirect(url)


def refuse_on_form(request: HttpRequest, form, next_url: str, what: str) -> str:
    """For a signing form with no draft to save (an addendum, a discharge summary): the page is
    shown again with everything typed still in the form, the reason as a form error and the
    confirmation page's address (opened in a new tab) returned for the template."""
    form.is_valid()
    form.add_error(None, f"{reauthentication_message(what)} Nothing was signed.")
    return reauthenticate_url(request, next_url)
