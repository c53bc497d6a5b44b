"""Clinician alerts: the task inbox that safety escalations, no-shows and due reviews land in.

An ``Alert`` is addressed to one or more staff (``recipients``) at one site, optionally about
one patient, and points at the record that caused it through a generic reference
(``object_type`` + ``object_id``: a model label and a public id, never a name). Its title is a
PHI-free code (``title_code``) rendered to text from ``TITLES``, so an alert can be listed on a
home page, counted in the navigation or sent later as a push without leaking anything.

An alert is never dismissed silently: it stays open until someone acknowledges it with an
action and a note (who, when, what was done). Acknowledged alerts are history; rows are never
deleted.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Lower

from users.models import Site, TimeStampedModel


class NeverDeleted(Exception):
    """Alerts are acknowledged, never removed."""


class AlertKind(models.TextChoices):
    SAFETY = "safety", "Safety"
    NO_SHOW = "no_show", "No-show follow-up"
    REVIEW_DUE = "review_due", "Review due"
    EMERGENCY_ACCESS = "emergency_access", "Emergency access"
    NO_CONSENT_DISCLOSURE = "no_consent_release", "Disclosure without consent"
    OTHER = "other", "Other"


class Severity(models.TextChoices):
    # Ordered: the list pages sort the most severe first.
    CRITICAL = "critical", "Critical"
    HIGH = "high", "High"
    NORMAL = "normal", "Normal"
    LOW = "low", "Low"


class AlertAction(models.TextChoices):
    """What the acknowledging clinician did (the note says the rest)."""

    SAFETY_PLAN = "safety_plan", "Safety plan completed"
    CSSRS = "cssrs_administered", "C-SSRS administered"
    CRISIS_EVALUATION = "crisis_evaluation", "Crisis evaluation arranged"
    EMERGENCY_SERVICES = "emergency_services", "Emergency services contacted"
    REVIEWED = "reviewed", "Reviewed, no further action needed"
    OTHER = "other", "Other"


# PHI-free titles. Other apps register their codes here (additively) so the text stays in one
# place; an unknown code is shown as itself.
TITLES: dict[str, str] = {
    "PHQ9_ITEM9": "PHQ-9 item 9 positive: thoughts of death or self-harm",
    "CSSRS_MODERATE": "C-SSRS screen: moderate suicide risk",
    "CSSRS_HIGH": "C-SSRS screen: high suicide risk (imminent danger)",
    "OTHER": "Alert",
}

SEVERITY_ORDER = {value: index for index, value in enumerate(Severity.values)}


class AlertQuerySet(models.QuerySet["Alert"]):
    def open(self) -> AlertQuerySet:
        return self.filter(acknowledged_at__isnull=True)

    def acknowledged(self) -> AlertQuerySet:
        return self.filter(acknowledged_at__isnull=False)

    def for_recipient(self, user) -> AlertQuerySet:
        return self.filter(recipients=user)

    def about(self, object_type: str, object_id) -> AlertQuerySet:
        return self.filter(object_type=object_type, object_id=str(object_id))

    def by_urgency(self) -> AlertQuerySet:
        severity_rank = models.Case(
            *(models.When(severity=value, then=models.Value(rank)) for value, rank in SEVERITY_ORDER.items()),
            default=models.Value(len(SEVERITY_ORDER)),
        )
        return self.alias(severity_rank=severity_rank).order_by("severity_rank", "-created_at", "-id")

    def delete(self):
        raise NeverDeleted("Alerts are acknowledged, never removed.")


class Alert(TimeStampedModel):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="alerts")
    patient = models.ForeignKey(
        "patients.Patient", null=True, blank=True, on_delete=models.PROTECT, related_name="alerts"
    )
    kind = models.CharField(max_length=20, choices=AlertKind.choices)
    severity = models.CharField(max_length=10, choices=Severity.choices, default=Severity.NORMAL)
    title_code = models.CharField(max_length=40, help_text="A PHI-free code; the text comes from TITLES.")
    # The record the alert is about: a model label and that row's public id.
    object_type = models.CharField(max_length=60, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    # One alert, many recipients: whoever acts first acknowledges it for everyone.
    recipients = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="alerts", blank=True)
    raised_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    action_taken = models.CharField(max_length=30, choices=AlertAction.choices, blank=True)
    action_note = models.TextField(blank=True)

    objects = AlertQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["site", "acknowledged_at"], name="alert_site_open_idx"),
            models.Index(fields=["object_type", "object_id"], name="alert_object_idx"),
        ]
        constraints = [
            # Acknowledged means who, when, what and a note: all four or none.
            models.CheckConstraint(
                condition=(
                    Q(acknowledged_at__isnull=True, acknowledged_by__isnull=True, action_taken="")
                    | (
                        Q(acknowledged_at__isnull=False, acknowledged_by__isnull=False)
                        & ~Q(action_taken="")
                        & ~Q(action_note="")
                    )
                ),
                name="alert_acknowledgement_complete",
            ),
            # Raising the same alert twice for the same record is a no-op, not a second alert.
            models.UniqueConstraint(
                fields=["object_type", "object_id", "title_code"],
                condition=~Q(object_id=""),
                name="alert_one_per_object_and_title",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.title}"

    def delete(self, *args, **kwargs):
        raise NeverDeleted("Alerts are acknowledged, never removed.")

    @property
    def title(self) -> str:
        return TITLES.get(self.title_code, self.title_code)

    @property
    def is_open(self) -> bool:
        return self.acknowledged_at is None

    @property
    def target_url(self) -> str | None:
        """Where the record the alert is about can be opened (see ``notifications.links``)."""
        from .links import url_for

        return url_for(self.object_type, self.object_id)

    def clean(self) -> None:
        super().clean()
        if self.patient_id and self.site_id and self.patient.site_id != self.site_id:
            raise ValidationError({"patient": "The patient belongs to another site."})


# --- Outbox: everything sent to a person leaves through one of these rows -------------------------


class Channel(models.TextChoices):
    EMAIL = "email", "Email"
    SMS = "sms", "Text message"
    IN_APP = "in_app", "In the application"


class RecipientKind(models.TextChoices):
    PATIENT = "patient", "Patient"
    STAFF = "staff", "Staff"


class Audience(models.TextChoices):
    PATIENT = "patient", "Patients (privacy linter applies)"
    STAFF = "staff", "Staff"


class MessageStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"
    SUPPRESSED = "suppressed", "Suppressed (no consent or preference)"


# Languages whose revealing words the privacy linter knows (users/privacy_words.py): patient texts
# may have versions in these only.
LINTED_LANGUAGES = frozenset({"english", "spanish"})


class MessageTemplate(TimeStampedModel):
    """The text of one kind of message on one channel. Patient-facing templates are checked by
    ``lint_patient_template`` (DOMAIN.md §13) and cannot be saved with SUD-revealing words or a
    first-plus-last-name placeholder. Each saved edit bumps ``version``; the outbox records the
    version it rendered, never the text."""

    key = models.CharField(max_length=60)
    channel = models.CharField(max_length=10, choices=Channel.choices)
    language = models.CharField(
        max_length=40,
        blank=True,
        help_text="Empty: the text every patient gets unless there is one in their language. Otherwise "
        "English or Spanish, as recorded on patients: patients with that language get this text.",
    )
    audience = models.CharField(max_length=10, choices=Audience.choices, default=Audience.PATIENT)
    subject = models.CharField(max_length=200, blank=True, help_text="Email only.")
    body = models.TextField()
    version = models.PositiveIntegerField(default=1, editable=False)

    class Meta:
        ordering = ["key", "channel", "language"]
        constraints = [
            models.UniqueConstraint(
                F("key"), F("channel"), Lower("language"), name="message_template_key_channel_language_unique"
            )
        ]

    def __str__(self) -> str:
        language = f", {self.language}" if self.language else ""
        return f"{self.key} ({self.get_channel_display()}{language}, v{self.version})"

    def clean(self) -> None:
        super().clean()
        from .outbox import DEFAULT_TEMPLATES
        from .privacy import lint_patient_template, lint_template_syntax

        # A key the product sends to patients is linted whatever audience the row claims.
        patient_keys = {key for (key, _), t in DEFAULT_TEMPLATES.items() if t.audience == Audience.PATIENT}
        patient_facing = self.audience == Audience.PATIENT or self.key in patient_keys
        self.language = " ".join((self.language or "").split())
        errors: dict[str, list[str]] = {}
        if self.language and not patient_facing:
            errors.setdefault("language", []).append("Only patient messages have language versions.")
        elif self.language and self.language.lower() not in LINTED_LANGUAGES:
            errors.setdefault("language", []).append(
                f"The privacy check knows the revealing words of {' and '.join(sorted(LINTED_LANGUAGES)).title()} "
                "only: a text in another language could name treatment unnoticed."
            )
        if (
            self.key
            and self.channel
            and MessageTemplate.objects.filter(key=self.key, channel=self.channel, language__iexact=self.language)
            .exclude(pk=self.pk)
            .exists()
        ):
            errors.setdefault("language", []).append(
                f"This message already has a {self.language or 'default'} text on this channel: change that one."
            )
        if self.channel != Channel.EMAIL and self.subject:
            errors.setdefault("subject", []).append("Only email messages have a subject.")
        for name in ("subject", "body"):
            text = getattr(self, name) or ""
            problems = lint_template_syntax(text)
            if patient_facing:
                problems += lint_patient_template(text)
            if problems:
                errors.setdefault(name, []).extend(problems)
        if errors:
            raise ValidationError(errors)


class OutboundMessageQuerySet(models.QuerySet["OutboundMessage"]):
    def due(self, now) -> OutboundMessageQuerySet:
        return self.filter(status=MessageStatus.PENDING, due_at__lte=now)

    def stuck(self, claimed_before) -> OutboundMessageQuerySet:
        return self.filter(status=MessageStatus.SENDING, claimed_at__lt=claimed_before)

    def problems(self) -> OutboundMessageQuerySet:
        return self.filter(status__in=[MessageStatus.FAILED, MessageStatus.SUPPRESSED])

    def delete(self):
        raise NeverDeleted("The message log is kept; cancel a pending message instead.")


class OutboundMessage(TimeStampedModel):
    """One message to one person on one channel, written in the transaction of its cause.

    ``context`` holds ids only (never names or rendered text); the text is rendered at send time
    from the template and thrown away. ``idempotency_key`` (cause:recipient:channel:kind) is
    unique in the database, so planning the same message twice never makes a second row.
    ``last_error`` is a short code, never a provider's free text (it could echo a number).
    """

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="outbound_messages")
    recipient_kind = models.CharField(max_length=10, choices=RecipientKind.choices)
    patient = models.ForeignKey(
        "patients.Patient", null=True, blank=True, on_delete=models.PROTECT, related_name="outbound_messages"
    )
    staff = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="outbound_messages"
    )
    channel = models.CharField(max_length=10, choices=Channel.choices)
    template_key = models.CharField(max_length=60)
    template_version = models.PositiveIntegerField(null=True, blank=True)
    template_language = models.CharField(
        max_length=40, blank=True, help_text="The language version sent; empty: the default text."
    )
    context = models.JSONField(default=dict, blank=True, help_text="Ids only.")
    cause = models.CharField(max_length=120, db_index=True)
    kind = models.CharField(max_length=40)
    idempotency_key = models.CharField(max_length=255, unique=True)
    due_at = models.DateTimeField()
    status = models.CharField(max_length=12, choices=MessageStatus.choices, default=MessageStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.CharField(max_length=80, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    provider_message_id = models.CharField(max_length=120, blank=True, db_index=True)
    provider_status = models.CharField(max_length=30, blank=True)

    objects = OutboundMessageQuerySet.as_manager()

    class Meta:
        ordering = ["due_at", "id"]
        indexes = [
            models.Index(fields=["status", "due_at"], name="outbound_status_due_idx"),
            models.Index(fields=["site", "status", "created_at"], name="outbound_site_status_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(recipient_kind="patient", patient__isnull=False, staff__isnull=True)
                    | Q(recipient_kind="staff", staff__isnull=False, patient__isnull=True)
                ),
                name="outbound_one_recipient",
            ),
            models.CheckConstraint(
                condition=Q(status__in=["pending", "sending", "sent", "failed", "cancelled", "suppressed"]),
                name="outbound_status_known",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.template_key} by {self.channel} ({self.status})"

    def delete(self, *args, **kwargs):
        raise NeverDeleted("The message log is kept; cancel a pending message instead.")
