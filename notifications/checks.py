"""System check: a misconfigured SMS backend (a host outside SMS_ALLOWED_HOSTS, plain http to a
remote host, no token) stops ``manage.py check`` and start-up, not the first reminder."""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Error, register
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from .timing import parse_offset


@register()
def check_outbox_settings(app_configs=None, **kwargs):
    errors = []
    try:
        import_string(settings.SMS_BACKEND)()
    except ImproperlyConfigured as exc:
        errors.append(Error(str(exc), id="notifications.E001"))
    except ImportError as exc:
        errors.append(Error(f"SMS_BACKEND: cannot import {settings.SMS_BACKEND!r} ({exc}).", id="notifications.E002"))
    for text in settings.REMINDER_OFFSETS:
        try:
            parse_offset(text)
        except ImproperlyConfigured as exc:
            errors.append(Error(str(exc), id="notifications.E003"))
    return errors
