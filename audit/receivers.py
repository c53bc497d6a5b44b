"""Sign-in, sign-out, failed sign-in, password and MFA events, recorded from their signals."""

from __future__ import annotations

import time

from allauth.account.signals import authentication_step_completed, password_changed, password_reset
from allauth.mfa import signals as mfa_signals
from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from users.signals import staff_changed

from .models import Action
from .services import record


@receiver(user_logged_in)
def _on_login(sender, request, user, **kwargs):
    from users.middleware import AUTH_AT_KEY, LAST_SEEN_KEY

    if request is not None and hasattr(request, "session"):
        now = int(time.time())
        request.session[AUTH_AT_KEY] = now
        request.session[LAST_SEEN_KEY] = now
    record(Action.LOGIN, actor=user, request=request)


@receiver(authentication_step_completed)
def _on_reauthenticated(sender, request, user, method, reauthenticated=False, **kwargs):
    """ "Confirm it's you" before signing or exporting: recorded as a sign-in event of its own kind."""
    if reauthenticated:
        record(Action.LOGIN, actor=user, request=request, changes={"event": "reauthenticated", "method": method})


@receiver(user_logged_out)
def _on_logout(sender, request, user, **kwargs):
    if user is not None:
        record(Action.LOGOUT, actor=user, request=request)


@receiver(user_login_failed)
def _on_login_failed(sender, credentials, request=None, **kwargs):
    attempted = (credentials or {}).get("email") or (credentials or {}).get("username") or ""
    actor = get_user_model().objects.filter(email__iexact=attempted).first() if attempted else None
    record(
        Action.LOGIN_FAILED,
        actor=actor,
        request=request,
        # Only the address typed, never the password.
        changes={"attempted_email": str(attempted)[:254]},
    )


@receiver(password_changed)
@receiver(password_reset)
def _on_password(sender, request, user, **kwargs):
    record(Action.PASSWORD_CHANGE, actor=user, request=request)


def _mfa_event(what: str):
    def handler(sender, request, user, authenticator=None, **kwargs):
        kind = getattr(authenticator, "type", "") if authenticator is not None else ""
        record(Action.MFA_CHANGE, actor=user, request=request, changes={"event": what, "type": kind})

    return handler


_mfa_added = _mfa_event("added")
_mfa_removed = _mfa_event("removed")
_mfa_reset = _mfa_event("reset")
mfa_signals.authenticator_added.connect(_mfa_added, dispatch_uid="audit_mfa_added")
mfa_signals.authenticator_removed.connect(_mfa_removed, dispatch_uid="audit_mfa_removed")
mfa_signals.authenticator_reset.connect(_mfa_reset, dispatch_uid="audit_mfa_reset")


@receiver(staff_changed)
def _on_staff_changed(sender, actor, site, event, details, **kwargs):
    record(Action.ADMIN, actor=actor, site=site, object_type=sender._meta.label, changes={"event": event, **details})
