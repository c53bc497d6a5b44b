"""The screen lock (HIPAA §164.312(a) automatic logoff, DOMAIN.md §12 "a client-side lock
screen"): a workstation left alone hides its pages well before the session ends.

After ``SESSION_LOCK_MINUTES`` without a key, click, touch or scroll in any of the user's tabs
(``static/js/app.js`` shares the last activity between tabs), the page covers itself, keeps what
was typed underneath, and tells the server: the session is then *locked*. While locked,
every page of the app answers with the locked page instead (``ScreenLockMiddleware``), and API
calls made with the session answer 401, so another tab, the back button or a typed address shows
nothing either. Unlocking is a confirmation of identity (allauth's "confirm it's you": password,
authenticator code or passkey), opened in a new tab so the covered page keeps its unsaved text;
the lock lifts once the session records an authentication newer than the lock. Signing out is
always possible. The server's own idle sign-out (``SESSION_IDLE_TIMEOUT_MINUTES``) still runs
underneath: checking whether the lock has lifted does not count as activity, while typing on a
page that loads nothing does (the page says so about once a minute, ``alive``).
"""

from __future__ import annotations

import time
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST, require_safe

from .reauth import last_authenticated_at, reauthenticate_url

LOCKED_KEY = "iop_locked_at"
# Paths reachable while locked: these pages, allauth's (confirm it's you, sign out) and assets.
PREFIX = "/session/"
OPEN_WHILE_LOCKED = (PREFIX, "/accounts/", "/static/", "/favicon")
# The lock, its status and the locked page: requests that do not count as activity.
NOT_ACTIVITY = PREFIX + "lock"


def lock_minutes() -> int:
    """Minutes of inactivity before the lock; 0 when off (set to 0, or not shorter than the
    idle sign-out, which would come first)."""
    minutes = settings.SESSION_LOCK_MINUTES
    return minutes if 0 < minutes < settings.SESSION_IDLE_TIMEOUT_MINUTES else 0


def is_locked(request: HttpRequest) -> bool:
    """Whether this session is locked; a lock older than the session's last authentication
    (the user confirmed it's them) is lifted here."""
    session = getattr(request, "session", None)
    if session is None or LOCKED_KEY not in session:
        return False
    confirmed = last_authenticated_at(request)
    if confirmed is not None and confirmed > session[LOCKED_KEY]:
        del session[LOCKED_KEY]
        return False
    return True


def _safe_next(request: HttpRequest) -> str:
    wanted = request.GET.get("next") or request.POST.get("next") or ""
    if (
        wanted
        and url_has_allowed_host_and_scheme(wanted, allowed_hosts={request.get_host()})
        and wanted.startswith("/")
    ):
        return wanted
    return reverse("home")


def locked_response(request: HttpRequest) -> HttpResponse:
    """What a locked session gets for any page: the locked page (pages), 401 (the API)."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "The screen is locked. Confirm it's you to unlock it."}, status=401)
    target = reverse("users:locked")
    if request.method == "GET":
        target = f"{target}?{urlencode({'next': request.get_full_path()})}"
    if request.headers.get("HX-Request"):
        response = HttpResponse(status=204)
        response["HX-Redirect"] = target
        return response
    return HttpResponseRedirect(target)


@login_required
@require_POST
def lock(request: HttpRequest) -> HttpResponse:
    """Lock this session now (the page's script calls it after the idle minutes)."""
    if LOCKED_KEY not in request.session:
        request.session[LOCKED_KEY] = time.time()
    return HttpResponse(status=204)


@login_required
@require_safe
def locked(request: HttpRequest) -> HttpResponse:
    """The page a locked session sees instead of any other; unlocking returns to ``next``."""
    if not is_locked(request):
        return HttpResponseRedirect(_safe_next(request))
    return render(request, "users/locked.html", {"unlock_url": reauthenticate_url(request, _safe_next(request))})


@login_required
@require_safe
def unlock(request: HttpRequest) -> HttpResponse:
    """From a covered page: confirm it's you (in a new tab), then a page that tells the other
    tabs to uncover themselves."""
    return HttpResponseRedirect(reauthenticate_url(request, reverse("users:unlocked")))


@login_required
@require_safe
def unlocked(request: HttpRequest) -> HttpResponse:
    if is_locked(request):
        return HttpResponseRedirect(reverse("users:locked"))
    return render(request, "users/unlocked.html")


def _state(request: HttpRequest) -> JsonResponse:
    if not request.user.is_authenticated:
        return JsonResponse({"locked": True, "signed_in": False})
    return JsonResponse({"locked": is_locked(request), "signed_in": True})


@require_safe
def alive(request: HttpRequest) -> JsonResponse:
    """Typing is activity too: a page where the user has been typing (or clicking) without
    loading anything calls this about once a minute, so the server's idle sign-out does not end
    the session under a note being written. The answer is the lock's state (as ``status``): a
    tab that missed another tab's lock (a browser that shares no storage between tabs) covers
    itself too, before a save could be turned away."""
    return _state(request)


@require_safe
def status(request: HttpRequest) -> JsonResponse:
    """``{"locked": …, "signed_in": …}`` for a covered page deciding whether to uncover itself
    (never counted as activity: ``NOT_ACTIVITY``). A signed-out session reads as locked: the page
    must reload to the sign-in."""
    return _state(request)
