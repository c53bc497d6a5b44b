"""Billing records for IOP (DOMAIN.md §10 "What the app needs"): payers, the service catalogue
(code, modifier, claim type, revenue code, unit type, minimum minutes), each payer's rate table,
authorizations per episode (payer, the UR/billing level of care, dates, units, reference,
care manager) and their utilization-review history.

The UR/billing level of care lives on the authorization, apart from the episode's clinical
level (``patients.Episode.level_of_care``): a payer may authorize a level other than the one the
clinicians placed the patient at, and both are kept as recorded.

Payers, codes and rates are program-wide settings edited in Django admin (the model's ``clean``
refuses bad rows there). Authorizations and reviews are patient records, written only through
``billing.services``; units *used* are never typed: they are counted from attendance
(``billing.selectors.units_used``). Overlapping periods are refused by ``clean``/the services on
both backends, and on PostgreSQL by exclusion constraints too (migration 0002).
"""

from __future__ import annotations

import re
import uuid
from datetime import date

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Lower

from patients.models import LEVEL_CHOICES, Episode
from users.models import Site, TimeStampedModel

# HCPCS level II (H0015, S9480) and CPT (90853, 0001F) codes are five characters.
CODE_RE = re.compile(r"^[A-Z0-9]{5}$")
MODIFIER_RE = re.compile(r"^[A-Z0-9]{2}$")
REVENUE_CODE_RE = re.compile(r"^\d{4}$")
CONDITION_CODE_RE = re.compile(r"^[A-Z0-9]{2}$")


class NeverDeleted(Exception):
    """Billing records are ended or deactivated, never removed."""


class NoDeleteQuerySet(models.QuerySet):
    def delete(self):
        raise NeverDeleted("Billing records are ended or deactivated, never removed.")


def overlapping_q(start: date, end: date | None, *, start_field: str, end_field: str) -> Q:
    """Rows whose inclusive period ``start_field``..``end_field`` (open-ended when the end is
    empty) shares at least one day with ``start``..``end`` (open-ended when None)."""
    q = Q(**{f"{end_field}__isnull": True}) | Q(**{f"{end_field}__gte": start})
    if end is not None:
        q &= Q(**{f"{start_field}__lte": end})
    return q


# --- Payers and the service catalogue --------------------------------------------------------------


class PayerKind(models.TextChoices):
    MEDICAID = "medicaid", "Medicaid"
    MEDICAID_MANAGED = "medicaid_managed", "Medicaid managed care"
    MEDICARE = "medicare", "Medicare"
    MEDICARE_ADVANTAGE = "medicare_advantage", "Medicare Advantage"
    COMMERCIAL = "commercial", "Commercial"
    STATE = "state", "State or grant funding"
    SELF_PAY = "self_pay", "Self-pay"
    OTHER = "other", "Other"


class Payer(TimeStampedModel):
    """Who pays: a health plan, a state program, or the patient (self-pay)."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(max_length=150)
    kind = models.CharField(max_length=20, choices=PayerKind.choices)
    is_active = models.BooleanField("Active", default=True, help_text="Inactive payers take no new authorizations.")

    objects = NoDeleteQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(Lower("name"), name="billing_payer_name_unique_ci")]

    def __str__(self) -> str:
        return self.name

    def delete(self, *args, **kwargs):
        raise NeverDeleted("Deactivate a payer instead of removing it.")

    def clean(self) -> None:
        super().clean()
        self.name = " ".join((self.name or "").split())
        if self.name and Payer.objects.filter(name__iexact=self.name).exclude(pk=self.pk).exists():
            raise ValidationError({"name": "A payer with this name already exists."})


class ClaimType(models.TextChoices):
    PROFESSIONAL = "professional", "Professional (CMS-1500)"
    INSTITUTIONAL = "institutional", "Institutional (UB-04)"


class UnitType(models.TextChoices):
    PER_DIEM = "per_diem", "Per diem (one unit a day)"
    PER_SERVICE = "per_service", "Per service"
    TIME = "time", "Time (a unit of minutes)"


class ServiceCode(TimeStampedModel):
    """One entry of the service catalogue: a billable code as a payer's claim carries it."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    code = models.CharField("HCPCS/CPT code", max_length=5, help_text="Five characters, e.g. H0015, S9480, 90853.")
    modifier = models.CharField(max_length=2, blank=True, help_text="Two characters, e.g. HQ; empty for none.")
    claim_type = models.CharField(max_length=15, choices=ClaimType.choices)
    revenue_code = models.CharField(
        max_length=4,
        blank=True,
        help_text="UB-04 revenue code for institutional claims: 0906 IOP chemical dependency, 0905 IOP psychiatric.",
    )
    condition_code = models.CharField(
        max_length=2, blank=True, help_text="Institutional claims only, e.g. 92 for Medicare IOP; empty for none."
    )
    unit_type = models.CharField(max_length=15, choices=UnitType.choices)
    unit_minutes = models.PositiveSmallIntegerField(
        "Minutes per unit", null=True, blank=True, help_text="Time-based codes only, e.g. 15."
    )
    minimum_minutes = models.PositiveSmallIntegerField(
        "Minimum minutes",
        null=True,
        blank=True,
        help_text="Attended minutes a day (per diem) or a service needs to be billed, e.g. 180.",
    )
    description = models.CharField(max_length=200)
    is_active = models.BooleanField("Active", default=True)

    objects = NoDeleteQuerySet.as_manager()

    class Meta:
        ordering = ["code", "modifier", "claim_type"]
        constraints = [
            models.UniqueConstraint(fields=["code", "modifier", "claim_type"], name="billing_servicecode_unique"),
            models.CheckConstraint(
                condition=~Q(claim_type="institutional") | ~Q(revenue_code=""),
                name="billing_servicecode_institutional_has_revenue_code",
            ),
            models.CheckConstraint(
                condition=~Q(unit_type="time") | Q(unit_minutes__gt=0),
                name="billing_servicecode_time_has_unit_minutes",
            ),
        ]

    def __str__(self) -> str:
        modifier = f"-{self.modifier}" if self.modifier else ""
        revenue = f" / rev {self.revenue_code}" if self.revenue_code else ""
        return f"{self.code}{modifier}{revenue} ({self.get_unit_type_display().split(' (')[0].lower()})"

    def delete(self, *args, **kwargs):
        raise NeverDeleted("Deactivate a service code instead of removing it.")

    @property
    def is_s_code(self) -> bool:
        return self.code.startswith("S")

    def clean(self) -> None:
        super().clean()
        self.code = (self.code or "").strip().upper()
        self.modifier = (self.modifier or "").strip().upper()
        self.revenue_code = (self.revenue_code or "").strip()
        self.condition_code = (self.condition_code or "").strip().upper()
        errors: dict[str, str] = {}
        if self.code and not CODE_RE.match(self.code):
            errors["code"] = "A HCPCS or CPT code is five letters or digits, e.g. H0015 or 90853."
        if self.modifier and not MODIFIER_RE.match(self.modifier):
            errors["modifier"] = "A modifier is two letters or digits, e.g. HQ."
        if self.revenue_code and not REVENUE_CODE_RE.match(self.revenue_code):
            errors["revenue_code"] = "A revenue code is four digits, e.g. 0906."
        if self.condition_code and not CONDITION_CODE_RE.match(self.condition_code):
            errors["condition_code"] = "A condition code is two letters or digits, e.g. 92."
        if self.claim_type == ClaimType.INSTITUTIONAL and not self.revenue_code:
            errors["revenue_code"] = "Institutional (UB-04) claims pair the code with a revenue code, e.g. 0906."
        if self.claim_type == ClaimType.PROFESSIONAL and self.revenue_code:
            errors["revenue_code"] = "Revenue codes belong to institutional (UB-04) claims only."
        if self.claim_type == ClaimType.PROFESSIONAL and self.condition_code:
            errors["condition_code"] = "Condition codes belong to institutional (UB-04) claims only."
        if self.unit_type == UnitType.TIME and not self.unit_minutes:
            errors["unit_minutes"] = "Give the minutes one unit stands for (e.g. 15)."
        if self.unit_type != UnitType.TIME and self.unit_minutes:
            errors["unit_minutes"] = "Only time-based codes have minutes per unit."
        if errors:
            raise ValidationError(errors)


def s_code_problem(payer: Payer | None, service_code: ServiceCode | None) -> str | None:
    """DOMAIN.md §10: S-codes (S9480) are not valid for Medicare."""
    if payer is not None and service_code is not None and payer.kind == PayerKind.MEDICARE and service_code.is_s_code:
        return f"{service_code.code} is an S-code: S-codes are not valid for Medicare."
    return None


class PayerRate(TimeStampedModel):
    """A payer's rate for one catalogue entry over a period (the rate table). Periods of the same
    payer and code never overlap; a rate that changes gets an end date and a new row."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    payer = models.ForeignKey(Payer, on_delete=models.PROTECT, related_name="rates")
    service_code = models.ForeignKey(ServiceCode, on_delete=models.PROTECT, related_name="rates")
    rate = models.DecimalField("Rate per unit (USD)", max_digits=10, decimal_places=2)
    effective_from = models.DateField()
    effective_to = models.DateField(null=True, blank=True, help_text="Last day the rate applies; empty while current.")

    objects = NoDeleteQuerySet.as_manager()

    class Meta:
        ordering = ["payer__name", "service_code__code", "-effective_from"]
        constraints = [
            models.CheckConstraint(condition=Q(rate__gte=0), name="billing_payerrate_rate_not_negative"),
            models.CheckConstraint(
                condition=Q(effective_to__isnull=True) | Q(effective_to__gte=F("effective_from")),
                name="billing_payerrate_ends_after_start",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.service_code.code} at {self.rate} from {self.effective_from:%Y-%m-%d}"

    def delete(self, *args, **kwargs):
        raise NeverDeleted("End a rate (give it an end date) instead of removing it.")

    def applies_on(self, day: date) -> bool:
        return self.effective_from <= day and (self.effective_to is None or day <= self.effective_to)

    def clean(self) -> None:
        super().clean()
        errors: dict[str, str] = {}
        if self.rate is not None and self.rate < 0:
            errors["rate"] = "A rate cannot be negative."
        if self.effective_from and self.effective_to and self.effective_to < self.effective_from:
            errors["effective_to"] = "The rate cannot end before it starts."
        payer = self.payer if self.payer_id else None
        code = self.service_code if self.service_code_id else None
        if problem := s_code_problem(payer, code):
            errors["service_code"] = problem
        if not errors and payer is not None and code is not None and self.effective_from:
            clash = (
                PayerRate.objects.filter(payer_id=self.payer_id, service_code_id=self.service_code_id)
                .filter(
                    overlapping_q(
                        self.effective_from, self.effective_to, start_field="effective_from", end_field="effective_to"
                    )
                )
                .exclude(pk=self.pk)
                .order_by("effective_from")
                .first()
            )
            if clash is not None:
                until = f"{clash.effective_to:%Y-%m-%d}" if clash.effective_to else "open-ended"
                errors["effective_from"] = (
                    f"{payer} already has a rate for {code.code} from {clash.effective_from:%Y-%m-%d} ({until}) "
                    "overlapping these dates; end that rate first."
                )
        if errors:
            raise ValidationError(errors)


# --- Authorizations and utilization review ---------------------------------------------------------


class AuthorizationQuerySet(NoDeleteQuerySet):
    def covering(self, day: date) -> AuthorizationQuerySet:
        return self.filter(start_date__lte=day, end_date__gte=day)

    def overlapping(self, start: date, end: date) -> AuthorizationQuerySet:
        return self.filter(overlapping_q(start, end, start_field="start_date", end_field="end_date"))


class Authorization(TimeStampedModel):
    """A payer's authorization of IOP days for one episode of care.

    ``authorized_level`` is the UR/billing level of care, kept apart from the episode's clinical
    level: the two may differ (DOMAIN.md §10). Units used are counted from attendance
    (``billing.selectors.units_used``), never typed."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="authorizations")
    episode = models.ForeignKey(Episode, on_delete=models.PROTECT, related_name="authorizations")
    payer = models.ForeignKey(Payer, on_delete=models.PROTECT, related_name="authorizations")
    service_code = models.ForeignKey(
        ServiceCode,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="authorizations",
        help_text="The per-diem code the payer authorized; empty: the payer's per-diem code from its rate table.",
    )
    authorized_level = models.CharField(
        "Authorized (UR/billing) level of care",
        max_length=5,
        choices=LEVEL_CHOICES,
        help_text="The level the payer authorized; it may differ from the clinical level of care.",
    )
    start_date = models.DateField("First authorized day")
    end_date = models.DateField("Last authorized day")
    units_authorized = models.PositiveIntegerField("Units authorized")
    reference_number = models.CharField("Authorization reference", max_length=60)
    care_manager_name = models.CharField("Care manager", max_length=150, blank=True)
    care_manager_phone = models.CharField("Care manager phone", max_length=40, blank=True)
    care_manager_email = models.EmailField("Care manager email", blank=True)
    notes = models.TextField(blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    objects = AuthorizationQuerySet.as_manager()

    class Meta:
        ordering = ["episode_id", "-start_date", "-id"]
        indexes = [models.Index(fields=["episode", "start_date"], name="billing_auth_episode_start_idx")]
        constraints = [
            models.CheckConstraint(
                condition=Q(end_date__gte=F("start_date")), name="billing_authorization_ends_after_start"
            ),
            models.CheckConstraint(condition=~Q(reference_number=""), name="billing_authorization_has_reference"),
            models.UniqueConstraint(fields=["payer", "reference_number"], name="billing_authorization_reference"),
        ]

    def __str__(self) -> str:
        return f"Authorization {self.reference_number} ({self.start_date:%Y-%m-%d} – {self.end_date:%Y-%m-%d})"

    def delete(self, *args, **kwargs):
        raise NeverDeleted("Authorizations are corrected, never removed.")

    @property
    def units_used(self) -> int:
        """Billable per-diem days of the episode within the authorization's dates (counted from
        attendance). Lists fill ``_units_used`` for every row in one query."""
        if not hasattr(self, "_units_used"):
            from .selectors import units_used  # noqa: PLC0415 - the selectors read this module

            self._units_used = units_used([self])[self.pk]
        return self._units_used

    @property
    def units_remaining(self) -> int:
        return self.units_authorized - self.units_used

    @property
    def next_review_date(self) -> date | None:
        """The date the latest recorded review set for the next one; None before any review or
        after a discharge review. Reads ``reviews.all()`` (newest first): lists prefetch it."""
        latest = next(iter(self.reviews.all()), None)
        return latest.next_review_date if latest is not None else None

    def covers(self, day: date) -> bool:
        return self.start_date <= day <= self.end_date

    def clean(self) -> None:
        super().clean()
        self.reference_number = (self.reference_number or "").strip()
        errors: dict[str, str] = {}
        if self.start_date and self.end_date and self.end_date < self.start_date:
            errors["end_date"] = "The authorization cannot end before it starts."
        if self.units_authorized is not None and self.units_authorized < 0:
            errors["units_authorized"] = "Units cannot be negative."
        code = self.service_code if self.service_code_id else None
        if code is not None and code.unit_type != UnitType.PER_DIEM:
            errors["service_code"] = "Authorizations here count per-diem days: choose a per-diem code."
        if problem := s_code_problem(self.payer if self.payer_id else None, code):
            errors["service_code"] = problem
        if (
            self.payer_id
            and self.reference_number
            and Authorization.objects.filter(payer_id=self.payer_id, reference_number__iexact=self.reference_number)
            .exclude(pk=self.pk)
            .exists()
        ):
            errors["reference_number"] = "This payer's authorization reference is already recorded."
        episode = self.episode if self.episode_id else None
        if episode is not None and self.end_date and self.end_date < episode.admission_date:
            errors["end_date"] = (
                f"The episode starts on {episode.admission_date:%Y-%m-%d}, after this authorization ends."
            )
        if (
            episode is not None
            and episode.discharge_date
            and self.start_date
            and self.start_date > episode.discharge_date
        ):
            errors["start_date"] = (
                f"The episode ended on {episode.discharge_date:%Y-%m-%d}, before this authorization starts."
            )
        if errors:
            raise ValidationError(errors)


class ReviewKind(models.TextChoices):
    INITIAL = "initial", "Initial review"
    CONCURRENT = "concurrent", "Concurrent (continued-stay) review"
    DISCHARGE = "discharge", "Discharge review"


class ReviewOutcome(models.TextChoices):
    APPROVED = "approved", "Approved"
    PARTIALLY_APPROVED = "partially_approved", "Partially approved"
    PENDING = "pending", "Pending: more information requested"
    PEER_TO_PEER = "peer_to_peer", "Referred to peer-to-peer review"
    DENIED = "denied", "Denied"


class UtilizationReview(TimeStampedModel):
    """One utilization review (UR) of an authorization: when, which kind, the outcome and when
    the next is due. Reviews are history: recorded, never changed or removed."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    authorization = models.ForeignKey(Authorization, on_delete=models.PROTECT, related_name="reviews")
    review_date = models.DateField()
    kind = models.CharField(max_length=15, choices=ReviewKind.choices)
    outcome = models.CharField(max_length=20, choices=ReviewOutcome.choices)
    next_review_date = models.DateField("Next review due", null=True, blank=True)
    reviewer = models.CharField(
        "Reviewer", max_length=150, help_text="The payer's reviewer (name and credentials) who decided."
    )
    notes = models.TextField(blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    objects = NoDeleteQuerySet.as_manager()

    class Meta:
        ordering = ["authorization_id", "-review_date", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(next_review_date__isnull=True) | Q(next_review_date__gte=F("review_date")),
                name="billing_review_next_not_before_review",
            ),
            models.CheckConstraint(
                condition=~Q(kind="discharge") | Q(next_review_date__isnull=True),
                name="billing_review_discharge_has_no_next",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} on {self.review_date:%Y-%m-%d}: {self.get_outcome_display()}"

    def delete(self, *args, **kwargs):
        raise NeverDeleted("Reviews are history: record a new one instead.")

    def clean(self) -> None:
        super().clean()
        self.reviewer = " ".join((self.reviewer or "").split())
        errors: dict[str, str] = {}
        if self.next_review_date and self.review_date and self.next_review_date < self.review_date:
            errors["next_review_date"] = "The next review cannot be due before this one."
        if self.kind == ReviewKind.DISCHARGE and self.next_review_date:
            errors["next_review_date"] = "A discharge review ends the reviews: leave the next review date empty."
        if errors:
            raise ValidationError(errors)
