"""The transactional outbox: ``enqueue`` a message in the caller's transaction, a beat sweep
claims due rows and hands their ids to workers, ``outbox_send`` delivers one message once.

Guarantees:
- ``enqueue`` is a database row, nothing more: a request that enqueues works while Redis is down.
- One row per (cause, recipient, channel, kind): the idempotency key is UNIQUE in the database.
- The sweep claims rows with ``SELECT … FOR UPDATE SKIP LOCKED`` on PostgreSQL (on SQLite the
  IMMEDIATE transaction serialises sweepers), sets ``sending`` and ``attempts + 1``, and only
  then publishes ``outbox_send_task(id)``. If publishing fails the unpublished rows go back to
  ``pending``. A row left in ``sending`` longer than ``OUTBOX_RECLAIM_MINUTES`` (a worker died,
  a task was lost with the broker) is reclaimed by the next sweep.
- A worker starts sending only after winning a conditional update
  (``status='sending' AND attempts=n AND started_at IS NULL``), so a redelivered task or a second
  worker never sends it again; the result is written with the same condition.
- Consent, preference and safe hours are re-checked at send time. The text is rendered at send
  time and never stored; the log keeps template key and version, channel, status, error code.
- Retries only on named transient errors, by moving ``due_at`` forward (exponential backoff),
  never with Celery countdowns; after ``OUTBOX_MAX_ATTEMPTS`` the message fails for good and
  shows on the Message delivery page.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone
from kombu.exceptions import OperationalError as KombuOperationalError

from . import backends
from .models import (
    Audience,
    Channel,
    MessageStatus,
    MessageTemplate,
    OutboundMessage,
    RecipientKind,
)
from .privacy import lint_patient_template, render
from .timing import safe_hours_next

logger = logging.getLogger(__name__)


# --- Templates ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class DefaultTemplate:
    audience: str
    body: str
    subject: str = ""


# The built-in texts; a ``MessageTemplate`` row with the same key and channel (edited by an admin,
# linted on save) replaces one. Patient texts: neutral sender, first name only, no clinical words.
DEFAULT_TEMPLATES: dict[tuple[str, str], DefaultTemplate] = {
    ("session_reminder", Channel.SMS): DefaultTemplate(
        Audience.PATIENT,
        "{{ sender_name }}: Hi {{ first_name }}, a reminder of your appointment {{ when }}."
        "{% if sign_in_url %} Details: {{ sign_in_url }}{% endif %} Reply STOP to opt out.",
    ),
    ("session_reminder", Channel.EMAIL): DefaultTemplate(
        Audience.PATIENT,
        "Hi {{ first_name }},\n\nThis is a reminder of your appointment {{ when }}.\n\n"
        "{% if sign_in_url %}Sign in for details: {{ sign_in_url }}\n\n{% endif %}{{ sender_name }}",
        subject="Appointment reminder from {{ sender_name }}",
    ),
    ("sms_help", Channel.SMS): DefaultTemplate(
        Audience.PATIENT,
        "{{ sender_name }}: appointment reminders.{% if site_phone %} Call {{ site_phone }} for help.{% endif %}"
        " Reply STOP to opt out.",
    ),
    ("staff_urgent_alert", Channel.EMAIL): DefaultTemplate(
        Audience.STAFF,
        "You have a new urgent alert in IOP Clinic. Sign in to review.\n\n{{ sign_in_url }}",
        subject="New urgent alert",
    ),
    # Break-glass: the reviewers of the patient's site learn that there is something to review,
    # never whose record or why (that is in the application).
    ("staff_emergency_access", Channel.EMAIL): DefaultTemplate(
        Audience.STAFF,
        "Someone used emergency access to a record at {{ site_name }} in IOP Clinic. "
        "Sign in to review it.\n\n{{ sign_in_url }}",
        subject="Emergency access to review",
    ),
    ("staff_no_consent_disclosure", Channel.EMAIL): DefaultTemplate(
        Audience.STAFF,
        "Records were released without consent at {{ site_name }} in IOP Clinic. Sign in to review it.\n\n"
        "{{ sign_in_url }}",
        subject="Disclosure to review",
    ),
    ("staff_daily_digest", Channel.EMAIL): DefaultTemplate(
        Audience.STAFF,
        "Your day in IOP Clinic at {{ site_name }}:\n\n"
        "Open alerts for you: {{ open_alerts }}\n"
        "Treatment plans due: {{ plans_due }}\n"
        "Re-assessments due: {{ assessments_due }}\n"
        "Your unsigned notes: {{ unsigned_notes }}\n\n"
        "Sign in to review: {{ sign_in_url }}",
        subject="Your daily summary",
    ),
}


@dataclass(frozen=True)
class Rendered:
    subject: str
    body: str
    version: int
    language: str = ""


def pick_template(template_key: str, channel: str, language: str = "") -> MessageTemplate | None:
    """The administrators' text for this message: the version in ``language`` (the patient's, as
    recorded; compared without case or extra spaces) when there is one, else the default one;
    None when they wrote neither (the built-in text applies)."""
    rows = list(MessageTemplate.objects.filter(key=template_key, channel=channel))
    wanted = " ".join(language.split()).lower()
    in_language = next((r for r in rows if wanted and r.language.lower() == wanted), None)
    return in_language or next((r for r in rows if not r.language), None)


def render_message(
    template_key: str, channel: str, context: dict, *, patient_facing: bool = True, language: str = ""
) -> Rendered:
    row = pick_template(template_key, channel, language)
    if row is not None:
        subject, body, version, audience = row.subject, row.body, row.version, row.audience
    else:
        default = DEFAULT_TEMPLATES.get((template_key, channel))
        if default is None:
            raise Skip(MessageStatus.FAILED, "NO_TEMPLATE")
        subject, body, version, audience = default.subject, default.body, 0, default.audience
    rendered = Rendered(
        render(subject, context) if subject else "",
        render(body, context),
        version,
        row.language if row is not None else "",
    )
    # Defence in depth: a sender name or a value can carry a blocked word even when the template
    # cannot; such a message is not sent (checked on the rendered text, which is then discarded).
    if (patient_facing or audience == Audience.PATIENT) and lint_patient_template(
        f"{rendered.subject}\n{rendered.body}"
    ):
        raise Skip(MessageStatus.FAILED, "PRIVACY_LINT")
    return rendered


# --- Context builders ---------------------------------------------------------------------------


class Skip(Exception):
    """Do not send: end the message with ``status`` and a PHI-free ``code``."""

    def __init__(self, status: str, code: str):
        super().__init__(code)
        self.status, self.code = status, code


class Defer(Exception):
    """Not now: back to pending until ``until`` (the attempt is not counted)."""

    def __init__(self, until: datetime, code: str):
        super().__init__(code)
        self.until, self.code = until, code


# template key → function(message) → extra template variables (may raise Skip or Defer).
BUILDERS: dict[str, Callable[[OutboundMessage], dict]] = {}


def context_builder(template_key: str):
    """Register the send-time check and variables of one template key. This is how the apps
    above this one check their own facts at send time without this app reading them (the
    ``session_reminder`` builder is ``scheduling.reminders``'s: is the session still on, at
    that time, with the patient expected?). Register from the app's ``AppConfig.ready`` so
    every web and worker process has it."""

    def register(fn):
        BUILDERS[template_key] = fn
        return fn

    return register


def sign_in_url(*, patient: bool) -> str:
    if patient:
        return settings.PATIENT_PORTAL_URL
    return settings.PUBLIC_BASE_URL.rstrip("/") + reverse("account_login") if settings.PUBLIC_BASE_URL else ""


def first_name_of(patient) -> str:
    return (patient.preferred_name or patient.legal_first_name or "").split(" ")[0]


def initials_of(patient) -> str:
    return "".join(f"{p[0].upper()}." for p in (patient.legal_first_name, patient.legal_last_name) if p)


# --- Enqueue ------------------------------------------------------------------------------------


def _ids_only(value) -> bool:
    """Context values are ids: ints, UUIDs, ISO dates/times, short codes; never free text."""
    if value is None or isinstance(value, bool | int):
        return True
    if isinstance(value, list | tuple):
        return all(_ids_only(v) for v in value)
    if isinstance(value, str):
        if len(value) > 64 or any(c.isspace() for c in value):
            return False
        for parse in (uuid.UUID, datetime.fromisoformat, date.fromisoformat):
            try:
                parse(value)
                return True
            except ValueError:
                continue
        return value.replace("_", "").replace("-", "").isalnum() and value == value.upper()
    return False


def idempotency_key(*, cause: str, recipient: str, channel: str, kind: str) -> str:
    return f"{cause}:{recipient}:{channel}:{kind}"


def recipient_ref(*, patient=None, staff=None) -> str:
    if (patient is None) == (staff is None):
        raise ValueError("A message goes to one patient or one staff member.")
    return f"patient:{patient.public_id}" if patient is not None else f"staff:{staff.public_id}"


def enqueue(
    *,
    site,
    channel: str,
    template_key: str,
    cause: str,
    kind: str,
    due_at: datetime | None = None,
    patient=None,
    staff=None,
    context: dict | None = None,
    revive: bool = False,
    reschedule: bool = False,
    dispatch_now: bool = False,
) -> tuple[OutboundMessage, bool]:
    """Write one outbox row in the caller's transaction, or return the existing one.

    ``cause`` names what made the message (``session:<uuid>:<start>``, ``alert:<uuid>``);
    with the recipient, channel and ``kind`` it forms the unique idempotency key. ``context`` is
    ids only (checked). ``revive`` re-opens a *cancelled* row with the same key (a session moved
    back to its old time); sent or failed rows are never re-opened. ``reschedule`` moves a still
    *pending* row with the same key to ``due_at`` (the caller re-planned it). ``dispatch_now``
    asks for a sweep right after commit (urgent staff notices) — best effort: if the broker is
    down the row simply waits for the next sweep.
    """
    if channel not in Channel.values:
        raise ValueError(f"Unknown channel {channel!r}.")
    context = context or {}
    if not all(isinstance(k, str) and _ids_only(v) for k, v in context.items()):
        raise ValueError("Outbox context holds ids only (no names, no text).")
    key = idempotency_key(
        cause=cause, recipient=recipient_ref(patient=patient, staff=staff), channel=channel, kind=kind
    )
    due_at = due_at or timezone.now()
    message, created = OutboundMessage.objects.get_or_create(
        idempotency_key=key,
        defaults={
            "site": site,
            "recipient_kind": RecipientKind.PATIENT if patient is not None else RecipientKind.STAFF,
            "patient": patient,
            "staff": staff,
            "channel": channel,
            "template_key": template_key,
            "context": context,
            "cause": cause,
            "kind": kind,
            "due_at": due_at,
        },
    )
    if not created and revive and message.status == MessageStatus.CANCELLED:
        OutboundMessage.objects.filter(pk=message.pk, status=MessageStatus.CANCELLED).update(
            status=MessageStatus.PENDING, due_at=due_at, attempts=0, last_error="", updated_at=timezone.now()
        )
        message.refresh_from_db()
    elif not created and reschedule and message.status == MessageStatus.PENDING and message.due_at != due_at:
        if OutboundMessage.objects.filter(pk=message.pk, status=MessageStatus.PENDING).update(
            due_at=due_at, updated_at=timezone.now()
        ):
            message.due_at = due_at
    if dispatch_now and (created or message.status == MessageStatus.PENDING):
        transaction.on_commit(kick_dispatch)
    return message, created


def kick_dispatch() -> None:
    """Ask a worker to sweep now. Never raises: a down broker only delays the message."""
    from .tasks import outbox_dispatch_due_task

    try:
        # One attempt, no publish retries: a web request never waits on a down broker.
        outbox_dispatch_due_task.apply_async(retry=False)
    except Exception:  # the broker is unreachable: beat's next sweep picks the row up
        logger.warning("outbox: could not ask for an immediate sweep; the next beat sweep will send it")


def messages_for(*, template_key: str, cause_prefix: str = "", patient=None):
    """The messages of one template whose cause starts with ``cause_prefix`` (and to ``patient``),
    for a caller that reconciles what it enqueued; ``cancel_pending`` ends the ones it no longer
    wants."""
    messages = OutboundMessage.objects.filter(template_key=template_key)
    if cause_prefix:
        messages = messages.filter(cause__startswith=cause_prefix)
    if patient is not None:
        messages = messages.filter(patient=patient, recipient_kind=RecipientKind.PATIENT)
    return messages


def cancel_pending(queryset, *, code: str) -> int:
    """Cancel the pending messages in ``queryset`` (sending ones finish; sent ones are history)."""
    return queryset.filter(status=MessageStatus.PENDING).update(
        status=MessageStatus.CANCELLED, last_error=code, updated_at=timezone.now()
    )


# --- Dispatch sweep -----------------------------------------------------------------------------


def outbox_reclaim_stuck(*, now: datetime | None = None, older_than: timedelta | None = None) -> int:
    """Rows left in ``sending`` (worker died, task lost with the broker) go back to pending —
    or fail when they have used every attempt."""
    now = now or timezone.now()
    cutoff = now - (older_than if older_than is not None else timedelta(minutes=settings.OUTBOX_RECLAIM_MINUTES))
    stuck = OutboundMessage.objects.stuck(cutoff)
    failed = stuck.filter(attempts__gte=settings.OUTBOX_MAX_ATTEMPTS).update(
        status=MessageStatus.FAILED, last_error="STUCK_SENDING", updated_at=now
    )
    reclaimed = stuck.update(
        status=MessageStatus.PENDING,
        claimed_at=None,
        started_at=None,
        due_at=now,
        last_error="RECLAIMED",
        updated_at=now,
    )
    if failed or reclaimed:
        logger.warning("outbox: reclaimed %s stuck messages, %s failed after every attempt", reclaimed, failed)
    return reclaimed + failed


def _claim_batch(limit: int, now: datetime) -> list[int]:
    with transaction.atomic():
        due = OutboundMessage.objects.due(now).order_by("due_at", "id")
        if connection.vendor == "postgresql":
            due = due.select_for_update(skip_locked=True)
        ids = list(due.values_list("id", flat=True)[:limit])
        if ids:
            OutboundMessage.objects.filter(id__in=ids, status=MessageStatus.PENDING).update(
                status=MessageStatus.SENDING,
                attempts=F("attempts") + 1,
                claimed_at=now,
                started_at=None,
                updated_at=now,
            )
    return ids


# What publishing raises while the broker is unreachable.
BROKER_ERRORS = (KombuOperationalError, OSError)


def _release(ids: list[int]) -> None:
    OutboundMessage.objects.filter(id__in=ids, status=MessageStatus.SENDING, started_at__isnull=True).update(
        status=MessageStatus.PENDING, attempts=F("attempts") - 1, claimed_at=None, updated_at=timezone.now()
    )


def outbox_dispatch_due(*, batch_size: int | None = None, max_batches: int | None = None) -> dict[str, int]:
    """The beat sweep: reclaim stuck rows, then claim due rows in batches and publish one
    ``outbox_send_task(id)`` per row. Safe to run concurrently and twice."""
    from .tasks import outbox_send_task

    batch_size = batch_size or settings.OUTBOX_BATCH_SIZE
    max_batches = max_batches or settings.OUTBOX_MAX_BATCHES
    totals = {"reclaimed": outbox_reclaim_stuck(), "claimed": 0, "published": 0, "released": 0}
    for _ in range(max_batches):
        ids = _claim_batch(batch_size, timezone.now())
        if not ids:
            break
        totals["claimed"] += len(ids)
        for index, message_id in enumerate(ids):
            try:
                outbox_send_task.delay(message_id)
            except Exception as exc:
                rest = ids[index:]
                _release(rest)
                totals["released"] += len(rest)
                if not isinstance(exc, BROKER_ERRORS):
                    raise  # a bug, not an outage: the rows are released, the error is not hidden
                logger.warning(
                    "outbox: broker unavailable (%s); %s messages stay pending", type(exc).__name__, len(rest)
                )
                return totals
            totals["published"] += 1
        if len(ids) < batch_size:
            break
    return totals


# --- Sending one message ------------------------------------------------------------------------


def backoff(attempt: int) -> timedelta:
    """1, 2, 4, 8 … minutes after the ``attempt``-th try, capped at OUTBOX_BACKOFF_MAX_SECONDS."""
    seconds = settings.OUTBOX_BACKOFF_BASE_SECONDS * (2 ** max(attempt - 1, 0))
    return timedelta(seconds=min(seconds, settings.OUTBOX_BACKOFF_MAX_SECONDS))


@dataclass(frozen=True)
class Delivery:
    to: str
    subject: str
    body: str
    version: int
    sender_name: str
    language: str = ""


def patient_address(patient, channel: str) -> str:
    """The address a patient agreed to for ``channel``, or raise Skip(suppressed, why).

    A patient who asked for confidential communications (DOMAIN.md §13) is written to only at
    the alternate address or number recorded for it: email at the confidential email; texts only
    when the number agreed for texts is the confidential number. A channel with no alternate
    sends nothing (never the home address): ``CONFIDENTIAL_NO_ADDRESS``."""
    if patient.deleted_at is not None:
        raise Skip(MessageStatus.SUPPRESSED, "PATIENT_ARCHIVED")
    confidential = patient.confidential_communications
    if channel == Channel.SMS:
        if not patient.sms_opt_in:
            raise Skip(MessageStatus.SUPPRESSED, "NO_SMS_CONSENT")
        if not patient.sms_number:
            raise Skip(MessageStatus.SUPPRESSED, "NO_SMS_NUMBER")
        if confidential and patient.sms_number != patient.confidential_phone:
            raise Skip(MessageStatus.SUPPRESSED, "CONFIDENTIAL_NO_ADDRESS")
        return patient.sms_number  # the exact number agreed to, never the main phone
    if channel == Channel.EMAIL:
        if not patient.email_opt_in:
            raise Skip(MessageStatus.SUPPRESSED, "NO_EMAIL_CONSENT")
        if confidential:
            if not patient.confidential_email:
                raise Skip(MessageStatus.SUPPRESSED, "CONFIDENTIAL_NO_ADDRESS")
            return patient.confidential_email
        if not patient.email:
            raise Skip(MessageStatus.SUPPRESSED, "NO_EMAIL")
        return patient.email
    raise Skip(MessageStatus.SUPPRESSED, "CHANNEL_NOT_FOR_PATIENTS")


def _prepare(message: OutboundMessage, now: datetime) -> Delivery:
    site = message.site
    variables: dict = {"sender_name": site.sender_name, "site_phone": site.phone}
    language = ""
    if message.recipient_kind == RecipientKind.PATIENT:
        patient = message.patient
        to = patient_address(patient, message.channel)
        later = safe_hours_next(now, patient.safe_hours_start, patient.safe_hours_end, site.zone)
        if later is not None:
            raise Defer(later, "SAFE_HOURS")
        variables.update(
            first_name=first_name_of(patient), initials=initials_of(patient), sign_in_url=sign_in_url(patient=True)
        )
        language = patient.language
    else:
        staff = message.staff
        if not staff.is_active or not staff.memberships.filter(site=site, is_active=True).exists():
            raise Skip(MessageStatus.SUPPRESSED, "STAFF_INACTIVE")
        to = staff.email if message.channel == Channel.EMAIL else ""
        variables.update(site_name=site.name, sign_in_url=sign_in_url(patient=False))
    builder = BUILDERS.get(message.template_key)
    if builder is not None:
        variables.update(builder(message))
    if message.channel == Channel.IN_APP:
        return Delivery(to="", subject="", body="", version=0, sender_name="")
    patient_facing = message.recipient_kind == RecipientKind.PATIENT
    # The sender name reaches the patient even when the text does not print it (the email's From
    # name). ``Site.clean`` refuses a revealing one; this catches one saved around it.
    if patient_facing and lint_patient_template(site.sender_name):
        raise Skip(MessageStatus.FAILED, "PRIVACY_LINT")
    rendered = render_message(
        message.template_key, message.channel, variables, patient_facing=patient_facing, language=language
    )
    return Delivery(to, rendered.subject, rendered.body, rendered.version, site.sender_name, rendered.language)


def _deliver(message: OutboundMessage, delivery: Delivery) -> str:
    key = str(message.public_id)  # the provider's idempotency key: the same on every retry
    if message.channel == Channel.SMS:
        return backends.get_sms_backend().send(to=delivery.to, body=delivery.body, idempotency_key=key)
    if message.channel == Channel.EMAIL:
        return backends.send_email(
            to=delivery.to,
            subject=delivery.subject,
            body=delivery.body,
            sender_name=delivery.sender_name,
            idempotency_key=key,
        )
    return deliver_in_app(message)


def deliver_in_app(message: OutboundMessage) -> str:
    """Staff in-app notices are clinician alerts (the existing Alert model)."""
    from .models import AlertKind
    from .services import alert_raise

    alert = alert_raise(
        site=message.site,
        kind=message.context.get("alert_kind", AlertKind.OTHER),
        title_code=message.context.get("title_code", "OTHER"),
        object_type="notifications.OutboundMessage",
        object_id=str(message.public_id),
        recipients=[message.staff],
    )
    return f"alert-{alert.public_id}"


def _finish(message: OutboundMessage, attempt: int, **fields) -> bool:
    fields["updated_at"] = timezone.now()
    done = OutboundMessage.objects.filter(pk=message.pk, status=MessageStatus.SENDING, attempts=attempt).update(
        **fields
    )
    if not done:
        logger.warning("outbox: message %s changed hands before its result was written", message.public_id)
    return bool(done)


def outbox_send(message_id: int) -> str:
    """Deliver one claimed message at most once; returns what happened (for logs and tests)."""
    message = OutboundMessage.objects.select_related("site", "patient", "staff").filter(pk=message_id).first()
    if message is None or message.status != MessageStatus.SENDING:
        return "skipped"
    attempt = message.attempts
    now = timezone.now()
    won = OutboundMessage.objects.filter(
        pk=message.pk, status=MessageStatus.SENDING, attempts=attempt, started_at__isnull=True
    ).update(started_at=now)
    if not won:
        return "skipped"  # a redelivered task, or another worker already has it
    try:
        delivery = _prepare(message, now)
    except Skip as skip:
        _finish(message, attempt, status=skip.status, last_error=skip.code)
        logger.info("outbox: message %s %s (%s)", message.public_id, skip.status, skip.code)
        return skip.status
    except Defer as defer:
        _finish(
            message,
            attempt,
            status=MessageStatus.PENDING,
            due_at=defer.until,
            attempts=F("attempts") - 1,
            claimed_at=None,
            started_at=None,
            last_error=defer.code,
        )
        return "deferred"
    try:
        provider_id = _deliver(message, delivery)
    except backends.PermanentDeliveryError as exc:
        _finish(message, attempt, status=MessageStatus.FAILED, last_error=backends.error_code(exc))
        return MessageStatus.FAILED
    except backends.TRANSIENT_ERRORS as exc:
        code = backends.error_code(exc)
        if attempt >= settings.OUTBOX_MAX_ATTEMPTS:
            _finish(message, attempt, status=MessageStatus.FAILED, last_error=code)
            logger.warning("outbox: message %s failed after %s attempts (%s)", message.public_id, attempt, code)
            return MessageStatus.FAILED
        _finish(
            message,
            attempt,
            status=MessageStatus.PENDING,
            due_at=timezone.now() + backoff(attempt),
            claimed_at=None,
            started_at=None,
            last_error=code,
        )
        return "retry"
    except Exception as exc:
        logger.exception("outbox: message %s could not be sent", message.public_id)
        _finish(message, attempt, status=MessageStatus.FAILED, last_error=type(exc).__name__)
        return MessageStatus.FAILED
    _finish(
        message,
        attempt,
        status=MessageStatus.SENT,
        sent_at=timezone.now(),
        provider_message_id=provider_id[:120],
        template_version=delivery.version,
        template_language=delivery.language,
        last_error="",
    )
    return MessageStatus.SENT
