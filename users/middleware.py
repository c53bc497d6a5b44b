"""Session lifetime, MFA enforcement, the current site, no-store caching, and the request being
served (for the audit trail's "from where")."""

from __future__ import annotations

import time
from contextvars import ContextVar
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.urls import reverse
from django.utils.cache import patch_cache_control
from django.utils.functional import cached_property

from . import lock
from .models import Membership
from .permissions import prime_roles

LAST_SEEN_KEY = "iop_last_seen"
# The id of the user whose second-factor enrolment this session has confirmed.
MFA_KEY = "iop_mfa_user"
AUTH_AT_KEY = "iop_auth_at"
SITE_KEY = "iop_site_id"
# Refresh the idle stamp at most this often, so most requests do not write the session.
_TOUCH_EVERY = 30

# The request this thread (or task) is serving; None outside a request (Celery, commands).
_current_request: ContextVar[HttpRequest | None] = ContextVar("iop_current_request", default=None)


def current_request() -> HttpRequest | None:
    """The request being served here, or None (a Celery task, a management command, a test that
    calls a service directly). The audit trail reads where an event came from (IP, user agent)
    from it when the caller did not pass the request."""
    return _current_request.get()


class CurrentRequestMiddleware:
    """Makes the request known to code that is not handed it (services write audit events with
    ``record(actor=by)``). Outermost in MIDDLEWARE, so it covers every other middleware, and
    always reset afterwards, also when the view raises: a worker thread's next request (or a
    task run on it) never sees this one."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = _current_request.set(request)
        try:
            return self.get_response(request)
        finally:
            _current_request.reset(token)


def _redirect_to_login(request: HttpRequest) -> HttpResponse:
    url = f"{reverse('account_login')}?{urlencode({'next': request.get_full_path()})}"
    if request.headers.get("HX-Request"):
        response = HttpResponse(status=204)
        response["HX-Redirect"] = url
        return response
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Your session has ended. Sign in again."}, status=401)
    return HttpResponseRedirect(url)


class SessionTimeoutMiddleware:
    """Automatic logoff after idle minutes and after an absolute lifetime (HIPAA §164.312(a))."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.user.is_authenticated and hasattr(request, "session"):
            now = int(time.time())
            session = request.session
            auth_at = session.setdefault(AUTH_AT_KEY, now)
            last_seen = session.get(LAST_SEEN_KEY, now)
            idle_limit = settings.SESSION_IDLE_TIMEOUT_MINUTES * 60
            absolute_limit = settings.SESSION_ABSOLUTE_HOURS * 3600
            if now - last_seen > idle_limit or now - auth_at > absolute_limit:
                reason = (
                    f"You were signed out after {settings.SESSION_IDLE_TIMEOUT_MINUTES} minutes without activity."
                    if now - last_seen > idle_limit
                    else f"You were signed out because sessions last at most {settings.SESSION_ABSOLUTE_HOURS} hours."
                )
                logout(request)
                messages.info(request, reason)
                return _redirect_to_login(request)
            # The screen lock's own requests (users/lock.py) are not activity.
            touch = not request.path.startswith(lock.NOT_ACTIVITY)
            if touch and (now - last_seen >= _TOUCH_EVERY or LAST_SEEN_KEY not in session):
                session[LAST_SEEN_KEY] = now
        return self.get_response(request)


# Paths a signed-in user without MFA may still reach: the MFA set-up itself, sign-out,
# password pages, invitations and static assets.
_MFA_EXEMPT_PREFIXES = ("/accounts/", "/invite/", "/static/", "/favicon")


def user_has_mfa(user) -> bool:
    from allauth.mfa.models import Authenticator

    return Authenticator.objects.filter(
        user=user, type__in=[Authenticator.Type.TOTP, Authenticator.Type.WEBAUTHN]
    ).exists()


def mfa_confirmed(request: HttpRequest) -> bool:
    """Whether the signed-in user has a second factor.

    Signing in with it (or setting one up) records that in the session (``remember_mfa``,
    connected to allauth's ``authenticator_used`` and ``authenticator_added``), so later pages
    ask no query; removing an authenticator forgets it (``forget_mfa``). Any other session asks
    the database on each page and writes nothing.
    """
    session = getattr(request, "session", None)
    if session is not None and session.get(MFA_KEY) == request.user.pk:
        return True
    return user_has_mfa(request.user)


def remember_mfa(sender, request=None, user=None, **kwargs) -> None:
    session = getattr(request, "session", None)
    if session is not None and user is not None:
        session[MFA_KEY] = user.pk


def forget_mfa(sender, request=None, **kwargs) -> None:
    session = getattr(request, "session", None)
    if session is not None:
        session.pop(MFA_KEY, None)


class RequireMFAMiddleware:
    """Every staff member enrols a second factor before any page with patient data is shown."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if user.is_authenticated and not request.path.startswith(_MFA_EXEMPT_PREFIXES):
            if not mfa_confirmed(request):
                if request.path.startswith("/api/"):
                    return JsonResponse(
                        {"detail": "Two-factor authentication must be set up before using the API."}, status=403
                    )
                messages.warning(
                    request,
                    "Set up two-factor authentication (an authenticator app or a passkey) "
                    "before you can see patient information.",
                )
                return HttpResponseRedirect(reverse("mfa_index"))
        return self.get_response(request)


class ScreenLockMiddleware:
    """A locked session (``users.lock``) sees the locked page instead of any page, and its API
    calls answer 401, until the user confirms it's them."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        from .lock import OPEN_WHILE_LOCKED, is_locked, locked_response

        if request.user.is_authenticated and not request.path.startswith(OPEN_WHILE_LOCKED) and is_locked(request):
            return locked_response(request)
        return self.get_response(request)


class CurrentClinic:
    """The site the user is working in now, and their memberships (one query, on first use)."""

    def __init__(self, request: HttpRequest):
        self._request = request

    @cached_property
    def memberships(self) -> list[Membership]:
        user = self._request.user
        if not user.is_authenticated:
            return []
        rows = list(Membership.objects.active().filter(user=user).select_related("site"))
        prime_roles(user, rows)
        return rows

    @cached_property
    def membership(self) -> Membership | None:
        wanted = self._request.session.get(SITE_KEY)
        for membership in self.memberships:
            if membership.site_id == wanted:
                return membership
        return self.memberships[0] if self.memberships else None

    @property
    def site(self):
        return self.membership.site if self.membership else None

    @property
    def role(self) -> str | None:
        return self.membership.role if self.membership else None


class CurrentSiteMiddleware:
    """``request.clinic``: the current site and role, chosen with the site switcher."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.clinic = CurrentClinic(request)
        if request.user.is_authenticated:
            # Every signed-in page needs the memberships (navigation, permission checks): one
            # query now serves both.
            request.clinic.memberships  # noqa: B018
        return self.get_response(request)


class NoStoreMiddleware:
    """No page of a signed-in user is kept by browsers or proxies: any of them may show PHI."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if not request.path.startswith("/" + settings.STATIC_URL.lstrip("/")):
            patch_cache_control(response, no_store=True, private=True)
        return response
