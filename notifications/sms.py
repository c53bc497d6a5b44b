"""SMS provider webhooks: signature checks, delivery status, STOP/START/HELP.

Both webhooks are signed by the provider with HMAC-SHA256 over ``"<timestamp>.<raw body>"``
using ``SMS_WEBHOOK_SECRET``, sent as ``X-Signature: t=<unix seconds>,v1=<hex digest>``. A
signature older or newer than ``SMS_WEBHOOK_TOLERANCE_SECONDS`` is refused (replay), and the
digest is compared in constant time.

Keywords are read from the first word of a reply whatever its case and punctuation ("Stop.",
"STOP!", " stop "), or from its first two words run together ("opt out", "Stop all").
STOP (and STOPALL, UNSUBSCRIBE, CANCEL, END, QUIT, REVOKE, OPTOUT) records an opt-out on
every patient whose agreed text number is the sender's; START (UNSTOP, YES) re-records the
opt-in for those same patients (source "texted a keyword", today, that exact number); HELP (INFO)
answers with the neutral help text. Patients' other fields are never touched: the update names
only the opt-in fields and is audited. (``patients.services.patient_update`` would re-validate the
whole record, and an opt-out must never fail because some other field is stale.)
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
import uuid

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from audit.models import Action
from audit.services import record
from patients.models import Patient, SmsOptInSource, site_today

from .models import Channel, MessageStatus, OutboundMessage
from .outbox import enqueue

STOP_WORDS = {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"}
START_WORDS = {"START", "UNSTOP", "YES"}
HELP_WORDS = {"HELP", "INFO"}
KEYWORDS = STOP_WORDS | START_WORDS | HELP_WORDS
# Letters and digits: what is left of a reply once punctuation and spacing are set aside.
_WORD_RE = re.compile(r"[^\W_]+")
SIGNATURE_HEADER = "HTTP_X_SIGNATURE"


def sign(body: bytes, *, secret: str, timestamp: int | None = None) -> str:
    """The header value a provider sends (used by tests and the fake provider)."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def signature_valid(body: bytes, header: str, *, secret: str | None = None, now: float | None = None) -> bool:
    secret = settings.SMS_WEBHOOK_SECRET if secret is None else secret
    if not secret or not header:
        return False
    try:
        parts = dict(item.split("=", 1) for item in header.split(","))
        timestamp = int(parts["t"])
        given = parts["v1"]
    except (KeyError, ValueError):
        return False
    now = time.time() if now is None else now
    if abs(now - timestamp) > settings.SMS_WEBHOOK_TOLERANCE_SECONDS:
        return False
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, given)


# Provider statuses → what the log shows. "delivered" confirms; a failure after acceptance fails
# the message so staff see it on the delivery page.
FAILED_STATUSES = {"failed", "undelivered", "rejected"}


@transaction.atomic
def sms_status_record(*, provider_message_id: str, status: str, error_code: str = "") -> bool:
    message = (
        OutboundMessage.objects.select_for_update()
        .filter(provider_message_id=provider_message_id, channel=Channel.SMS)
        .first()
    )
    if message is None:
        return False
    status = (status or "").lower()[:30]
    fields = {"provider_status": status, "updated_at": timezone.now()}
    if status in FAILED_STATUSES and message.status == MessageStatus.SENT:
        fields.update(status=MessageStatus.FAILED, last_error=f"PROVIDER_{(error_code or status).upper()}"[:80])
    OutboundMessage.objects.filter(pk=message.pk).update(**fields)
    return True


def _patients_with_number(number: str):
    return Patient.objects.active().select_for_update().filter(sms_number=number).select_related("site")


def _audit(patient: Patient, before: dict, after: dict, reason: str) -> None:
    record(
        Action.UPDATE,
        site=patient.site,
        patient=patient,
        obj=patient,
        reason=reason,
        changes={"before": before, "after": after},
    )


@transaction.atomic
def sms_opt_out_record(*, number: str) -> int:
    """STOP from ``number``: every patient who agreed to texts at that number is opted out, and
    their pending texts are suppressed. Returns how many patients changed."""
    changed = 0
    for patient in _patients_with_number(number):
        if not patient.sms_opt_in:
            continue
        patient.sms_opt_in = False
        patient.save(update_fields=["sms_opt_in", "updated_at"])
        _audit(patient, {"sms_opt_in": True}, {"sms_opt_in": False}, "Patient texted STOP")
        OutboundMessage.objects.filter(patient=patient, channel=Channel.SMS, status=MessageStatus.PENDING).update(
            status=MessageStatus.SUPPRESSED, last_error="SMS_STOP", updated_at=timezone.now()
        )
        changed += 1
    return changed


@transaction.atomic
def sms_opt_in_record(*, number: str) -> int:
    """START from ``number``: patients who agreed to texts at that exact number before (and
    stopped) are opted in again, recorded as a texted keyword today."""
    changed = 0
    for patient in _patients_with_number(number):
        if patient.sms_opt_in:
            continue
        before = {
            "sms_opt_in": False,
            "sms_opt_in_on": patient.sms_opt_in_on,
            "sms_opt_in_source": patient.sms_opt_in_source,
        }
        patient.sms_opt_in = True
        patient.sms_opt_in_on = site_today(patient.site)
        patient.sms_opt_in_source = SmsOptInSource.TEXT_KEYWORD
        patient.save(update_fields=["sms_opt_in", "sms_opt_in_on", "sms_opt_in_source", "updated_at"])
        after = {
            "sms_opt_in": True,
            "sms_opt_in_on": patient.sms_opt_in_on,
            "sms_opt_in_source": patient.sms_opt_in_source,
        }
        _audit(patient, before, after, "Patient texted START")
        changed += 1
    return changed


@transaction.atomic
def sms_help_reply(*, number: str, inbound_id: str) -> int:
    """HELP: the neutral help text to each patient with that number (one reply per inbound)."""
    replies = 0
    for patient in Patient.objects.active().filter(sms_number=number).select_related("site"):
        enqueue(
            site=patient.site,
            channel=Channel.SMS,
            template_key="sms_help",
            cause=f"inbound:{inbound_id}",
            kind="help",
            patient=patient,
        )
        replies += 1
    return replies


def keyword_of(text: str) -> str:
    """The keyword a reply starts with, ignoring case, spaces and punctuation ("Stop.", "STOP!",
    " stop "): its first word, or its first two words run together when that is a keyword
    ("opt out", "Opt-out", "stop all"). Empty when the reply holds no word."""
    words = _WORD_RE.findall((text or "").upper())
    if not words:
        return ""
    pair = "".join(words[:2])
    return pair if len(words) > 1 and pair in KEYWORDS else words[0]


def sms_inbound_handle(*, number: str, text: str, inbound_id: str = "") -> str:
    """Act on a keyword; anything else is ignored (the message text is not stored)."""
    word = keyword_of(text)
    if word in STOP_WORDS:
        sms_opt_out_record(number=number)
        return "stop"
    if word in START_WORDS:
        sms_opt_in_record(number=number)
        return "start"
    if word in HELP_WORDS:
        sms_help_reply(number=number, inbound_id=inbound_id or str(uuid.uuid4()))
        return "help"
    return "ignored"
