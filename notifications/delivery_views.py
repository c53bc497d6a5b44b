"""The Message delivery page (failures for staff to act on) and the SMS provider webhooks.

The page lists what the log keeps: template, channel, status, attempts and an error code, never
a message's text or its recipient's name (site admins see it, and they do not read charts).
The webhooks are signed by the provider (``notifications.sms.signature_valid``); unsigned or
stale calls answer 403 and change nothing.
"""

from __future__ import annotations

import json
import logging
from datetime import timedelta

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from patients.validators import normalize_phone
from users.permissions import has_capability

from . import sms
from .models import MessageStatus, OutboundMessage

logger = logging.getLogger(__name__)
SHOWN = 100
WINDOW_DAYS = 30


@login_required
def delivery(request: HttpRequest) -> HttpResponse:
    """Counts by status over the last 30 days and the latest failed or suppressed messages."""
    site = request.clinic.site
    if site is None or not has_capability(request.user, site, "messages.view"):
        raise PermissionDenied
    since = timezone.now() - timedelta(days=WINDOW_DAYS)
    recent = OutboundMessage.objects.filter(site=site, created_at__gte=since)
    by_status = dict(recent.values_list("status").annotate(n=Count("id")).order_by())
    counts = [(label, by_status.get(value, 0)) for value, label in MessageStatus.choices]
    problems = list(
        recent.problems()
        .order_by("-updated_at", "-id")
        .only(
            "public_id",
            "template_key",
            "channel",
            "status",
            "attempts",
            "last_error",
            "recipient_kind",
            "due_at",
            "updated_at",
        )[:SHOWN]
    )
    return render(
        request,
        "notifications/delivery.html",
        {"site": site, "counts": counts, "problems": problems, "window_days": WINDOW_DAYS, "shown": SHOWN},
    )


def _signed_json(request: HttpRequest) -> dict | None:
    if not sms.signature_valid(request.body, request.META.get(sms.SIGNATURE_HEADER, "")):
        return None
    try:
        data = json.loads(request.body or b"{}")
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


@csrf_exempt
@require_POST
def sms_status(request: HttpRequest) -> HttpResponse:
    """``{"id": <provider message id>, "status": "delivered"|"failed"|…, "error_code": …}``"""
    data = _signed_json(request)
    if data is None:
        return JsonResponse({"error": "bad signature"}, status=403)
    found = sms.sms_status_record(
        provider_message_id=str(data.get("id", ""))[:120],
        status=str(data.get("status", "")),
        error_code=str(data.get("error_code", ""))[:40],
    )
    return JsonResponse({"ok": True, "known": found})


@csrf_exempt
@require_POST
def sms_inbound(request: HttpRequest) -> HttpResponse:
    """``{"id": <inbound id>, "from": "+1…", "body": "STOP"}``: keywords only; text is not kept."""
    data = _signed_json(request)
    if data is None:
        return JsonResponse({"error": "bad signature"}, status=403)
    try:
        number = normalize_phone(str(data.get("from", "")))
    except Exception:
        return JsonResponse({"ok": True, "action": "ignored"})
    action = sms.sms_inbound_handle(
        number=number, text=str(data.get("body", ""))[:160], inbound_id=str(data.get("id", ""))[:60]
    )
    return JsonResponse({"ok": True, "action": action})
