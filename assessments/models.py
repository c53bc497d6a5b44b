"""Assessment responses, level-of-care placements, toxicology and the medication list.

Instruments themselves are code (``assessments.instruments``), not rows: a response stores the
instrument code, the answers and exactly what ``instruments.score`` returned, including the
band-set id, so a later change of cut-offs never rewrites history. A placement stores the full
recommendation of the rule set at decision time and is immutable once signed (the model refuses,
and on PostgreSQL a trigger refuses raw SQL too). Writes go through ``assessments.services``.
"""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from patients.models import Episode, Patient
from users.models import Site, TimeStampedModel

from . import placement as rules
from .instruments import INSTRUMENTS, RULER_TYPES, SAFETY_ALERT, SUICIDE_RISK


class NeverDeleted(Exception):
    """Clinical records are closed, superseded or stopped; never removed."""


class ImmutableRecord(Exception):
    """A signed record cannot be changed; corrections are new records."""


class NoDeleteQuerySet(models.QuerySet):
    def delete(self):
        raise NeverDeleted(f"{self.model._meta.verbose_name_plural} are never removed.")


# --- Assessment responses -------------------------------------------------------------------


INSTRUMENT_CHOICES = [(code, code) for code in INSTRUMENTS]
# Screening instruments an intake coordinator may administer (with "assessment.administer").
SCREENING_INSTRUMENTS = frozenset({"PHQ-9", "GAD-7", "AUDIT", "AUDIT-C", "DAST-10", "C-SSRS"})
# A response carrying one of these flags raises a safety alert and starts open.
SAFETY_FLAGS = frozenset({SUICIDE_RISK, SAFETY_ALERT})


class ResponseContext(models.TextChoices):
    INTAKE = "intake", "Intake"
    WEEKLY = "weekly", "Weekly / routine"
    DISCHARGE = "discharge", "Discharge"
    AD_HOC = "ad_hoc", "Ad hoc"


RulerType = models.TextChoices("RulerType", [(code, (code, label)) for code, label in RULER_TYPES.items()])
RULER_INSTRUMENT = "READINESS-RULER"


class ResponseStatus(models.TextChoices):
    OPEN = "open", "Open: follow-up needed"
    CLOSED = "closed", "Closed"


class AssessmentResponseQuerySet(NoDeleteQuerySet):
    def of(self, code: str) -> AssessmentResponseQuerySet:
        return self.filter(instrument=code)

    def open(self) -> AssessmentResponseQuerySet:
        return self.filter(status=ResponseStatus.OPEN)


class AssessmentResponse(TimeStampedModel):
    """One administration of one instrument, scored once, at the time it was given."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="assessment_responses")
    # Null only when the patient had no open episode (screening before admission).
    episode = models.ForeignKey(
        Episode, null=True, blank=True, on_delete=models.PROTECT, related_name="assessment_responses"
    )
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="assessment_responses")
    instrument = models.CharField(max_length=20, choices=INSTRUMENT_CHOICES)
    context = models.CharField(max_length=10, choices=ResponseContext.choices, default=ResponseContext.AD_HOC)
    answers = models.JSONField(help_text="In item order; null for an item skipped by the instrument's logic.")
    # Exactly what instruments.score returned (ScoreResult.to_dict()), split into columns for
    # querying and charting. ``total`` is null for the BAM and C-SSRS (no total).
    total = models.FloatField(null=True, blank=True)
    subscales = models.JSONField(default=dict, blank=True)
    band = models.CharField(max_length=40, blank=True)
    band_label = models.CharField(max_length=120, blank=True)
    flags = models.JSONField(default=list, blank=True)
    band_set = models.CharField(max_length=40)
    item_scores = models.JSONField(default=list, blank=True)
    action = models.CharField(max_length=200, blank=True)
    # Readiness ruler only (DOMAIN.md 4.10: store the raw number and the type of ruler).
    ruler_type = models.CharField(
        max_length=12,
        choices=RulerType.choices,
        blank=True,
        help_text="Readiness ruler only: importance, confidence or readiness. Blank for every other instrument.",
    )
    # C-SSRS high risk: read by placement decision support as imminent danger.
    imminent_danger = models.BooleanField(default=False)
    administered_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    administered_at = models.DateTimeField(default=timezone.now)
    status = models.CharField(max_length=10, choices=ResponseStatus.choices, default=ResponseStatus.OPEN)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    closed_at = models.DateTimeField(null=True, blank=True)

    objects = AssessmentResponseQuerySet.as_manager()

    class Meta:
        ordering = ["-administered_at", "-id"]
        indexes = [models.Index(fields=["patient", "instrument", "administered_at"], name="response_patient_instr_idx")]
        constraints = [
            models.CheckConstraint(
                condition=(Q(status="open") & Q(closed_at__isnull=True))
                | (Q(status="closed") & Q(closed_at__isnull=False)),
                name="response_closed_has_time",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.instrument} on {self.administered_at:%Y-%m-%d}"

    def delete(self, *args, **kwargs):
        raise NeverDeleted("Assessment responses are never removed.")

    @property
    def definition(self):
        return INSTRUMENTS[self.instrument]

    @property
    def total_display(self) -> str:
        if self.total is None:
            return ""
        return str(int(self.total)) if float(self.total).is_integer() else f"{self.total:.2f}"

    @property
    def has_safety_flag(self) -> bool:
        return bool(SAFETY_FLAGS.intersection(self.flags or []))

    @property
    def suicide_risk(self) -> bool:
        return SUICIDE_RISK in (self.flags or [])

    @property
    def is_closed(self) -> bool:
        return self.status == ResponseStatus.CLOSED

    def answer_rows(self) -> list[dict]:
        """Each item with the answer given and its label, for the detail page."""
        rows = []
        answers = list(self.answers or [])
        scores = list(self.item_scores or [])
        for index, item in enumerate(self.definition.items):
            value = answers[index] if index < len(answers) else None
            labels = {choice.value: choice.label for choice in item.choices}
            if value is None:
                text = "Skipped" if index < len(answers) else "Not given"
            else:
                text = labels.get(value, str(value))
                if not item.yes_no:
                    text = f"{value}: {text}"
            rows.append(
                {
                    "item": item,
                    "value": value,
                    "text": text,
                    "points": scores[index] if index < len(scores) else None,
                }
            )
        return rows


# --- Instrument settings (per site) -----------------------------------------------------------

INTERVAL_MIN_DAYS, INTERVAL_MAX_DAYS = 1, 365
INTERVAL_RULE = (
    f"The re-administration interval is a whole number of days from {INTERVAL_MIN_DAYS} to {INTERVAL_MAX_DAYS}."
)
# Instruments a site may not turn off, and why: they are part of a safety rule (DOMAIN.md §3-4).
ALWAYS_OFFERED = {
    "C-SSRS": "C-SSRS is the follow-up screen a positive PHQ-9 item 9 calls for (a safety rule), "
    "so it cannot be turned off.",
}


class InstrumentSetting(TimeStampedModel):
    """A site's choices about one instrument of the library: whether it is offered for new
    administrations there, and how many days pass before it is due again.

    A missing row means the defaults: offered, and re-administered on the built-in cadence
    (``REASSESSMENT_CADENCE_DAYS``). Items, scoring, bands and safety rules belong to the
    instrument (``assessments.instruments``) and are never settings. Changed through
    ``services.instrument_setting_save`` (audited).
    """

    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="instrument_settings")
    instrument = models.CharField(max_length=20, choices=INSTRUMENT_CHOICES)
    enabled = models.BooleanField(
        "offered at this site",
        default=True,
        help_text="Staff can administer it to new patients at this site. Responses already recorded "
        "stay visible whatever this says.",
    )
    reassessment_interval_days = models.PositiveSmallIntegerField(
        "re-administration interval (days)",
        null=True,
        blank=True,
        validators=[
            MinValueValidator(INTERVAL_MIN_DAYS, message=INTERVAL_RULE),
            MaxValueValidator(INTERVAL_MAX_DAYS, message=INTERVAL_RULE),
        ],
        help_text=f"Days after the last administration when it is due again ({INTERVAL_MIN_DAYS}–"
        f"{INTERVAL_MAX_DAYS}). Leave empty for the built-in cadence (PHQ-9 and GAD-7 every 30 days, "
        "BAM every 7; other instruments are not scheduled).",
    )

    class Meta:
        ordering = ["site__name", "instrument"]
        constraints = [
            models.UniqueConstraint(
                fields=["site", "instrument"],
                name="instrument_setting_site_unique",
                violation_error_message="This site already has a setting for this instrument: change that one.",
            ),
            models.CheckConstraint(
                condition=Q(reassessment_interval_days__isnull=True)
                | Q(
                    reassessment_interval_days__gte=INTERVAL_MIN_DAYS, reassessment_interval_days__lte=INTERVAL_MAX_DAYS
                ),
                name="instrument_setting_interval_range",
                violation_error_message=INTERVAL_RULE,
            ),
            models.CheckConstraint(
                condition=~Q(instrument__in=list(ALWAYS_OFFERED), enabled=False),
                name="instrument_setting_safety_always_offered",
                violation_error_message="This instrument is part of a safety rule and cannot be turned off.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.instrument} at {self.site}"

    def clean(self) -> None:
        super().clean()
        if not self.enabled and self.instrument in ALWAYS_OFFERED:
            raise ValidationError({"enabled": ALWAYS_OFFERED[self.instrument]})


# --- Placement --------------------------------------------------------------------------------


class PlacementType(models.TextChoices):
    INITIAL = "initial", "Initial placement"
    CONTINUED_STAY = "continued_stay", "Continued stay"
    TRANSFER = "transfer", "Transfer"
    DISCHARGE = "discharge", "Discharge"


class PlacementStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    AWAITING_COSIGN = "awaiting_cosign", "Awaiting co-sign"
    SIGNED = "signed", "Signed"


# Actual level of care: 3rd-edition codes (the recommendation's numbering), plus the WM levels
# a clinician may place someone in directly.
ACTUAL_LEVEL_CHOICES = [
    ("0.5", "0.5 Early intervention"),
    ("1", "1 Outpatient"),
    ("2.1", "2.1 Intensive outpatient (IOP)"),
    ("2.5", "2.5 Partial hospitalization"),
    ("3.1", "3.1 Clinically managed low-intensity residential"),
    ("3.3", "3.3 Clinically managed population-specific high-intensity residential"),
    ("3.5", "3.5 Clinically managed high-intensity residential"),
    ("3.7", "3.7 Medically monitored intensive inpatient"),
    ("4", "4 Medically managed intensive inpatient"),
    ("1-WM", "1-WM Ambulatory withdrawal management"),
    ("2-WM", "2-WM Ambulatory WM with extended on-site monitoring"),
    ("3.2-WM", "3.2-WM Clinically managed residential WM"),
    ("3.7-WM", "3.7-WM Medically monitored inpatient WM"),
    ("4-WM", "4-WM Medically managed inpatient WM"),
]
DIMENSION_LABELS = {
    1: "D1 Acute intoxication and/or withdrawal potential",
    2: "D2 Biomedical conditions and complications",
    3: "D3 Emotional, behavioral, or cognitive conditions and complications",
    4: "D4 Readiness to change",
    5: "D5 Relapse, continued use or continued problem potential",
    6: "D6 Recovery/living environment",
}
RATING_FIELDS = [f"d{n}_rating" for n in rules.DIMENSIONS]
NOTE_FIELDS = [f"d{n}_note" for n in rules.DIMENSIONS]
# What a signature freezes (everything a reviewer relies on).
SIGNED_FIELDS = [
    "placement_type",
    *RATING_FIELDS,
    *NOTE_FIELDS,
    "imminent_danger",
    "suggestions",
    "recommendation",
    "rule_set",
    "recommended_level",
    "actual_level",
    "edition",
    "override_reason",
    "override_note",
    "recovery_residence",
    "housing_plan",
    "signed_by",
    "signed_at",
]


def _rating_field(n: int):
    return models.PositiveSmallIntegerField(
        f"D{n} rating",
        null=True,
        blank=True,
        validators=[MinValueValidator(rules.MIN_RATING), MaxValueValidator(rules.MAX_RATING)],
    )


class PlacementQuerySet(NoDeleteQuerySet):
    def decided(self) -> PlacementQuerySet:
        return self.exclude(status=PlacementStatus.DRAFT)

    def discrepant(self) -> PlacementQuerySet:
        """Decided placements whose actual level differs from the recommended one, or that admit
        to plain IOP while the recommendation attaches a withdrawal step (IOP-RS-1 rule 2)."""
        return self.decided().filter(
            ~Q(actual_level=models.F("recommended_level"))
            | Q(
                actual_level=rules.PLAIN_IOP,
                recommendation__withdrawal_step__in=list(rules.WITHDRAWAL_STEP_TO_4TH),
            )
        )

    def awaiting_cosign(self) -> PlacementQuerySet:
        return self.filter(status=PlacementStatus.AWAITING_COSIGN)

    def update(self, **kwargs):
        # Bulk updates bypass save(); allow them only on drafts.
        if self.exclude(status=PlacementStatus.DRAFT).exists():
            raise ImmutableRecord("Signed placements cannot be changed.")
        return super().update(**kwargs)


class Placement(TimeStampedModel):
    """A level-of-care decision: ratings → recommendation (stored) → actual level → signature."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="placements")
    # Null for a placement decided at intake before admission (it decides whether to admit).
    episode = models.ForeignKey(Episode, null=True, blank=True, on_delete=models.PROTECT, related_name="placements")
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="placements")
    placement_type = models.CharField("Type", max_length=20, choices=PlacementType.choices)
    d1_rating = _rating_field(1)
    d2_rating = _rating_field(2)
    d3_rating = _rating_field(3)
    d4_rating = _rating_field(4)
    d5_rating = _rating_field(5)
    d6_rating = _rating_field(6)
    d1_note = models.TextField("D1 note", blank=True)
    d2_note = models.TextField("D2 note", blank=True)
    d3_note = models.TextField("D3 note", blank=True)
    d4_note = models.TextField("D4 note", blank=True)
    d5_note = models.TextField("D5 note", blank=True)
    d6_note = models.TextField("D6 note", blank=True)
    imminent_danger = models.BooleanField(
        default=False, help_text="C-SSRS high risk, documented homicidal intent, or D3 = 4."
    )
    # Decision support shown to the clinician (latest CIWA-Ar/COWS → D1, C-SSRS high → danger).
    suggestions = models.JSONField(default=dict, blank=True)
    # recommend(...).to_dict(): recomputed while a draft, frozen at signing, never recomputed.
    recommendation = models.JSONField(default=dict, blank=True)
    rule_set = models.CharField(max_length=40, blank=True)
    recommended_level = models.CharField(max_length=6, blank=True)
    actual_level = models.CharField(max_length=6, choices=ACTUAL_LEVEL_CHOICES, blank=True)
    edition = models.CharField("ASAM edition", max_length=1, default="3", choices=[("3", "3rd edition (2013)")])
    override_reason = models.CharField(max_length=30, choices=rules.OVERRIDE_REASONS, blank=True)
    override_note = models.TextField(blank=True)
    # IOP-RS-1 rule 7: "2.1 services plus a recovery residence", an override (CLINICAL_JUDGMENT)
    # allowed where D6 = 3 is the only reason for a higher level, with its housing plan.
    recovery_residence = models.BooleanField(
        "2.1 services plus a recovery residence",
        default=False,
        help_text="Only where D6 = 3 is the only reason for a level above 2.1; reason Clinical judgment.",
    )
    housing_plan = models.TextField(blank=True, help_text="The recovery residence and housing plan (rule 7).")
    status = models.CharField(max_length=20, choices=PlacementStatus.choices, default=PlacementStatus.DRAFT)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    signed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    signed_at = models.DateTimeField(null=True, blank=True)
    cosign_required = models.BooleanField(default=False)
    cosigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    cosigned_at = models.DateTimeField(null=True, blank=True)

    objects = PlacementQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            *(
                models.CheckConstraint(
                    condition=Q(**{f"{name}__isnull": True}) | Q(**{f"{name}__lte": rules.MAX_RATING}),
                    name=f"placement_{name}_0_4",
                )
                for name in RATING_FIELDS
            ),
            models.CheckConstraint(
                condition=Q(status="draft") | (Q(signed_by__isnull=False) & Q(signed_at__isnull=False)),
                name="placement_decided_is_signed",
            ),
            models.CheckConstraint(
                condition=~Q(status="signed") | Q(cosign_required=False) | Q(cosigned_at__isnull=False),
                name="placement_cosigned_when_required",
            ),
            models.CheckConstraint(
                condition=Q(status="draft")
                | Q(actual_level=models.F("recommended_level"))
                | (~Q(override_reason="") & ~Q(override_note="")),
                name="placement_override_explained",
            ),
            models.CheckConstraint(
                condition=Q(status="draft")
                | Q(recovery_residence=False)
                | (Q(actual_level=rules.PLAIN_IOP) & Q(override_reason="CLINICAL_JUDGMENT") & ~Q(housing_plan="")),
                name="placement_recovery_residence_explained",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_placement_type_display()} placement ({self.get_status_display()})"

    @classmethod
    def from_db(cls, db, field_names, values):
        instance = super().from_db(db, field_names, values)
        instance._loaded_status = instance.__dict__.get("status")
        return instance

    def save(self, *args, **kwargs):
        # A signature freezes the record. Co-signing an awaiting row touches only the
        # co-sign fields; anything else on a decided row is refused (the PostgreSQL trigger
        # refuses the same at the database).
        loaded = getattr(self, "_loaded_status", None)
        if loaded == PlacementStatus.SIGNED:
            raise ImmutableRecord("A signed placement cannot be changed; record a new placement instead.")
        if loaded == PlacementStatus.AWAITING_COSIGN:
            allowed = {"status", "cosigned_by", "cosigned_at", "updated_at"}
            fields = kwargs.get("update_fields")
            if fields is None or not set(fields) <= allowed:
                raise ImmutableRecord("A signed placement awaiting co-sign can only be co-signed.")
        super().save(*args, **kwargs)
        self._loaded_status = self.status

    def delete(self, *args, **kwargs):
        raise NeverDeleted("Placements are never removed.")

    @property
    def is_draft(self) -> bool:
        return self.status == PlacementStatus.DRAFT

    @property
    def ratings(self) -> dict[int, int | None]:
        return {n: getattr(self, f"d{n}_rating") for n in rules.DIMENSIONS}

    @property
    def fully_rated(self) -> bool:
        return all(value is not None for value in self.ratings.values())

    @property
    def is_override(self) -> bool:
        """The actual level departs from the recommendation: another level, or plain IOP while the
        recommendation attaches a withdrawal step (IOP-RS-1 rule 2: no plain IOP until D1 <= 1)."""
        if not self.actual_level:
            return False
        return self.actual_level != self.recommended_level or rules.holds_back_plain_iop(
            self.recommendation or {}, self.actual_level
        )

    def dimension_rows(self) -> list[dict]:
        return [
            {
                "number": n,
                "label": DIMENSION_LABELS[n],
                "rating": getattr(self, f"d{n}_rating"),
                "note": getattr(self, f"d{n}_note"),
            }
            for n in rules.DIMENSIONS
        ]


# --- Medications ------------------------------------------------------------------------------


class MedicationClass(models.TextChoices):
    MOUD = "moud", "MOUD (opioid use disorder)"
    MAUD = "maud", "MAUD (alcohol use disorder)"
    NALOXONE = "naloxone", "Naloxone (overdose reversal)"
    OTHER = "other", "Other"


class Agent(models.TextChoices):
    """The active agent, so toxicology can tell which analytes a medication explains.

    The MOUD/MAUD agents and naloxone (DOMAIN.md §9), then the prescribed drugs a drug test
    commonly finds (benzodiazepines, barbiturates, stimulants, opioid analgesics, dronabinol),
    recorded with the class "Other". "Other" itself is any drug named only in ``name``: it
    explains no analyte."""

    BUPRENORPHINE = "buprenorphine", "Buprenorphine (incl. buprenorphine/naloxone)"
    METHADONE = "methadone", "Methadone"
    NALTREXONE = "naltrexone", "Naltrexone"
    ACAMPROSATE = "acamprosate", "Acamprosate"
    DISULFIRAM = "disulfiram", "Disulfiram"
    NALOXONE = "naloxone", "Naloxone"
    ALPRAZOLAM = "alprazolam", "Alprazolam"
    CHLORDIAZEPOXIDE = "chlordiazepoxide", "Chlordiazepoxide"
    CLONAZEPAM = "clonazepam", "Clonazepam"
    DIAZEPAM = "diazepam", "Diazepam"
    LORAZEPAM = "lorazepam", "Lorazepam"
    OXAZEPAM = "oxazepam", "Oxazepam"
    TEMAZEPAM = "temazepam", "Temazepam"
    BUTALBITAL = "butalbital", "Butalbital"
    PHENOBARBITAL = "phenobarbital", "Phenobarbital"
    AMPHETAMINE = "amphetamine", "Amphetamine (mixed salts, dextroamphetamine, lisdexamfetamine)"
    METHAMPHETAMINE = "methamphetamine", "Methamphetamine"
    METHYLPHENIDATE = "methylphenidate", "Methylphenidate"
    CODEINE = "codeine", "Codeine"
    FENTANYL = "fentanyl", "Fentanyl"
    HYDROCODONE = "hydrocodone", "Hydrocodone"
    HYDROMORPHONE = "hydromorphone", "Hydromorphone"
    MORPHINE = "morphine", "Morphine"
    OXYCODONE = "oxycodone", "Oxycodone"
    OXYMORPHONE = "oxymorphone", "Oxymorphone"
    TAPENTADOL = "tapentadol", "Tapentadol"
    TRAMADOL = "tramadol", "Tramadol"
    DRONABINOL = "dronabinol", "Dronabinol"
    OTHER = "other", "Other"


def _agent_group(label: str, *agents: Agent) -> tuple[str, list[tuple[str, str]]]:
    return label, [(agent.value, agent.label) for agent in agents]


# The agent list as the form shows it: grouped, MOUD/MAUD first.
AGENT_CHOICES = [
    _agent_group(
        "MOUD, MAUD and naloxone",
        Agent.BUPRENORPHINE,
        Agent.METHADONE,
        Agent.NALTREXONE,
        Agent.ACAMPROSATE,
        Agent.DISULFIRAM,
        Agent.NALOXONE,
    ),
    _agent_group(
        "Benzodiazepines",
        Agent.ALPRAZOLAM,
        Agent.CHLORDIAZEPOXIDE,
        Agent.CLONAZEPAM,
        Agent.DIAZEPAM,
        Agent.LORAZEPAM,
        Agent.OXAZEPAM,
        Agent.TEMAZEPAM,
    ),
    _agent_group("Barbiturates", Agent.BUTALBITAL, Agent.PHENOBARBITAL),
    _agent_group("Stimulants", Agent.AMPHETAMINE, Agent.METHAMPHETAMINE, Agent.METHYLPHENIDATE),
    _agent_group(
        "Opioid analgesics",
        Agent.CODEINE,
        Agent.FENTANYL,
        Agent.HYDROCODONE,
        Agent.HYDROMORPHONE,
        Agent.MORPHINE,
        Agent.OXYCODONE,
        Agent.OXYMORPHONE,
        Agent.TAPENTADOL,
        Agent.TRAMADOL,
    ),
    _agent_group("Cannabinoids", Agent.DRONABINOL),
    (Agent.OTHER.value, Agent.OTHER.label),
]

# DOMAIN.md §9: "Record MOUD status: buprenorphine, methadone via an OTP, extended-release
# naltrexone. Record the MAUD (acamprosate, naltrexone, disulfiram). Record naloxone dispensed or
# prescribed." The class "Other" takes any agent but naloxone (naloxone is its own class).
CLASS_AGENTS: dict[str, frozenset[str]] = {
    MedicationClass.MOUD: frozenset({Agent.BUPRENORPHINE, Agent.METHADONE, Agent.NALTREXONE}),
    MedicationClass.MAUD: frozenset({Agent.ACAMPROSATE, Agent.NALTREXONE, Agent.DISULFIRAM}),
    MedicationClass.NALOXONE: frozenset({Agent.NALOXONE}),
}
CLASS_AGENT_RULES = {
    MedicationClass.MOUD: "MOUD is buprenorphine, methadone (via an opioid treatment program) or "
    "extended-release naltrexone",
    MedicationClass.MAUD: "MAUD is acamprosate, naltrexone or disulfiram",
    MedicationClass.NALOXONE: "naloxone is recorded with the agent Naloxone",
}


class Formulation(models.TextChoices):
    ORAL = "oral", "Oral (tablet, capsule or liquid)"
    SUBLINGUAL = "sublingual", "Sublingual or buccal"
    EXTENDED_RELEASE = "extended_release", "Extended-release injection or implant"
    INJECTION = "injection", "Injection (immediate-release)"
    NASAL = "nasal", "Nasal spray"
    TRANSDERMAL = "transdermal", "Transdermal patch"
    OTHER = "other", "Other"


class NaloxoneSupply(models.TextChoices):
    DISPENSED = "dispensed", "Dispensed (handed to the patient by the program)"
    PRESCRIBED = "prescribed", "Prescribed"


# Each rule once, worded for the clinician; clean() names the field, the constraint repeats it
# for the database.
MOUD_NALTREXONE_RULE = (
    "Naltrexone for opioid use disorder is extended-release naltrexone: choose the formulation "
    "“Extended-release injection or implant” (oral naltrexone is recorded as MAUD or Other)."
)
METHADONE_OTP_RULE = (
    "Methadone for opioid use disorder is dispensed only by an opioid treatment program (OTP): "
    "give the OTP's name, not a prescriber on staff."
)
OTP_ONLY_MOUD_RULE = "Only MOUD is dosed by an opioid treatment program: leave the OTP empty for this class."
PRESCRIBER_RULE = "Give the prescriber: choose a prescriber on staff, or type the external prescriber's name."
ONE_PRESCRIBER_RULE = "Give either a prescriber on staff or an external name, not both."
NALOXONE_SUPPLY_RULE = "Say whether the naloxone was dispensed by the program or prescribed."
SUPPLY_ONLY_NALOXONE_RULE = "Dispensed or prescribed is recorded for naloxone only: leave it empty for this class."
NALOXONE_CLASS_RULE = "Record naloxone with the class “Naloxone”, so dispensed or prescribed is recorded."

_METHADONE_MOUD = Q(medication_class=MedicationClass.MOUD, agent=Agent.METHADONE)


class MedicationQuerySet(NoDeleteQuerySet):
    def active_on(self, day: date) -> MedicationQuerySet:
        return self.filter(Q(start_date__lte=day) & (Q(stop_date__isnull=True) | Q(stop_date__gte=day)))


class Medication(TimeStampedModel):
    """One medication on the patient's list. The IOP usually coordinates rather than prescribes.

    The model refuses what DOMAIN.md §9 rules out: an agent outside its class (MOUD:
    buprenorphine, methadone, extended-release naltrexone; MAUD: acamprosate, naltrexone,
    disulfiram; naloxone: naloxone), a medication without its prescriber (exactly one of a
    prescriber on staff or an external name), methadone MOUD other than through an OTP, and
    naloxone without "dispensed or prescribed".
    """

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="medications")
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="medications")
    name = models.CharField(max_length=120, help_text="As prescribed, e.g. 'Buprenorphine/naloxone 8/2 mg film'.")
    medication_class = models.CharField("Class", max_length=10, choices=MedicationClass.choices)
    agent = models.CharField(
        max_length=20,
        choices=AGENT_CHOICES,
        default=Agent.OTHER,
        help_text="MOUD: buprenorphine, methadone or extended-release naltrexone. MAUD: acamprosate, naltrexone "
        "or disulfiram. For any other medication choose its agent if listed (drug tests are checked against "
        "the whole list), else Other.",
    )
    formulation = models.CharField(
        max_length=16,
        choices=Formulation.choices,
        blank=True,
        help_text="Naltrexone for opioid use disorder must be the extended-release injection.",
    )
    dose = models.CharField(max_length=120, blank=True, help_text="Free text, e.g. '16 mg daily'.")
    start_date = models.DateField()
    stop_date = models.DateField(null=True, blank=True)
    prescriber = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="A prescriber on staff; otherwise give the external prescriber's name.",
    )
    prescriber_name = models.CharField("External prescriber", max_length=120, blank=True)
    otp_name = models.CharField(
        "Opioid treatment program (OTP)",
        max_length=120,
        blank=True,
        help_text="Required for methadone MOUD: the OTP that doses the patient (its prescriber, if known, "
        "goes in External prescriber).",
    )
    dispensed_or_prescribed = models.CharField(
        "Naloxone dispensed or prescribed",
        max_length=10,
        choices=NaloxoneSupply.choices,
        blank=True,
        help_text="Naloxone only (required): handed to the patient by the program, or prescribed.",
    )
    notes = models.TextField(blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    objects = MedicationQuerySet.as_manager()

    class Meta:
        ordering = ["stop_date", "-start_date", "name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(stop_date__isnull=True) | Q(stop_date__gte=models.F("start_date")),
                name="medication_stop_not_before_start",
            ),
            models.CheckConstraint(
                condition=(Q(medication_class=MedicationClass.OTHER) & ~Q(agent=Agent.NALOXONE))
                | Q(
                    medication_class=MedicationClass.MOUD,
                    agent__in=sorted(CLASS_AGENTS[MedicationClass.MOUD]),
                )
                | Q(
                    medication_class=MedicationClass.MAUD,
                    agent__in=sorted(CLASS_AGENTS[MedicationClass.MAUD]),
                )
                | Q(medication_class=MedicationClass.NALOXONE, agent=Agent.NALOXONE),
                name="medication_agent_in_class",
                violation_error_message="The agent does not belong to the class: "
                + "; ".join(CLASS_AGENT_RULES.values())
                + ".",
            ),
            models.CheckConstraint(
                condition=~Q(medication_class=MedicationClass.MOUD, agent=Agent.NALTREXONE)
                | Q(formulation=Formulation.EXTENDED_RELEASE),
                name="medication_moud_naltrexone_extended_release",
                violation_error_message=MOUD_NALTREXONE_RULE,
            ),
            models.CheckConstraint(
                condition=~_METHADONE_MOUD | (~Q(otp_name="") & Q(prescriber__isnull=True)),
                name="medication_methadone_moud_via_otp",
                violation_error_message=METHADONE_OTP_RULE,
            ),
            models.CheckConstraint(
                condition=Q(medication_class=MedicationClass.MOUD) | Q(otp_name=""),
                name="medication_otp_only_for_moud",
                violation_error_message=OTP_ONLY_MOUD_RULE,
            ),
            models.CheckConstraint(
                condition=Q(prescriber__isnull=True) | Q(prescriber_name=""),
                name="medication_one_prescriber",
                violation_error_message=ONE_PRESCRIBER_RULE,
            ),
            models.CheckConstraint(
                condition=_METHADONE_MOUD | Q(prescriber__isnull=False) | ~Q(prescriber_name=""),
                name="medication_has_prescriber",
                violation_error_message=PRESCRIBER_RULE,
            ),
            models.CheckConstraint(
                condition=(Q(medication_class=MedicationClass.NALOXONE) & ~Q(dispensed_or_prescribed=""))
                | (~Q(medication_class=MedicationClass.NALOXONE) & Q(dispensed_or_prescribed="")),
                name="medication_naloxone_dispensed_or_prescribed",
                violation_error_message=NALOXONE_SUPPLY_RULE,
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def delete(self, *args, **kwargs):
        raise NeverDeleted("Medications are stopped, never removed.")

    def active_on(self, day: date) -> bool:
        return self.start_date <= day and (self.stop_date is None or self.stop_date >= day)

    @property
    def active(self) -> bool:
        from patients.models import site_today

        return self.active_on(site_today(self.site))

    @property
    def is_methadone_moud(self) -> bool:
        return self.medication_class == MedicationClass.MOUD and self.agent == Agent.METHADONE

    @property
    def prescriber_display(self) -> str:
        who = str(self.prescriber) if self.prescriber_id else self.prescriber_name
        return ", ".join(part for part in (f"OTP: {self.otp_name}" if self.otp_name else "", who) if part)

    def clean(self) -> None:
        super().clean()
        for name in ("prescriber_name", "otp_name"):
            setattr(self, name, (getattr(self, name) or "").strip())
        errors: dict[str, str] = {}
        if self.stop_date and self.start_date and self.stop_date < self.start_date:
            errors["stop_date"] = "The stop date cannot be before the start date."
        errors.update(self._agent_errors())
        errors.update(self._prescriber_errors())
        if self.medication_class == MedicationClass.NALOXONE and not self.dispensed_or_prescribed:
            errors["dispensed_or_prescribed"] = NALOXONE_SUPPLY_RULE
        elif self.medication_class != MedicationClass.NALOXONE and self.dispensed_or_prescribed:
            errors["dispensed_or_prescribed"] = SUPPLY_ONLY_NALOXONE_RULE
        if errors:
            raise ValidationError(errors)

    def _agent_errors(self) -> dict[str, str]:
        klass, agent = self.medication_class, self.agent
        if klass in (MedicationClass.MOUD, MedicationClass.MAUD) and agent == Agent.OTHER:
            return {"agent": "Choose the agent for MOUD/MAUD, so drug-test results can be checked against it."}
        if klass == MedicationClass.NALOXONE and agent == Agent.OTHER:
            return {"agent": "Choose the agent Naloxone: naloxone is recorded with the agent Naloxone."}
        if klass in CLASS_AGENTS and agent not in CLASS_AGENTS[klass]:
            agent_label = dict(Agent.choices).get(agent, agent)
            return {"agent": f"{agent_label} is not {MedicationClass(klass).label}: {CLASS_AGENT_RULES[klass]}."}
        if klass == MedicationClass.OTHER and agent == Agent.NALOXONE:
            return {"agent": NALOXONE_CLASS_RULE}
        if (
            klass == MedicationClass.MOUD
            and agent == Agent.NALTREXONE
            and self.formulation != Formulation.EXTENDED_RELEASE
        ):
            # Both fields: the pair is what is wrong, and either may be the one to change.
            return {"agent": MOUD_NALTREXONE_RULE, "formulation": MOUD_NALTREXONE_RULE}
        return {}

    def _prescriber_errors(self) -> dict[str, str]:
        if self.is_methadone_moud:
            errors = {}
            if self.prescriber_id:
                errors["prescriber"] = METHADONE_OTP_RULE
            if not self.otp_name:
                errors["otp_name"] = METHADONE_OTP_RULE
            return errors
        if self.otp_name and self.medication_class != MedicationClass.MOUD:
            return {"otp_name": OTP_ONLY_MOUD_RULE}
        if self.prescriber_id and self.prescriber_name:
            return {"prescriber_name": ONE_PRESCRIBER_RULE}
        if not self.prescriber_id and not self.prescriber_name:
            return {"prescriber": PRESCRIBER_RULE}
        return {}


# --- Toxicology -------------------------------------------------------------------------------


class SpecimenType(models.TextChoices):
    URINE = "urine", "Urine"
    ORAL_FLUID = "oral_fluid", "Oral fluid"
    BLOOD = "blood", "Blood"
    BREATH = "breath", "Breath alcohol"


class Validity(models.TextChoices):
    VALID = "valid", "Valid"
    DILUTE = "dilute", "Dilute"
    SUBSTITUTED = "substituted", "Substituted"
    ADULTERATED = "adulterated", "Adulterated"
    NOT_ASSESSED = "not_assessed", "Not assessed"


# DOMAIN.md §8 (HHS Mandatory Guidelines style cut-offs).
DILUTE_CREATININE_BELOW = Decimal("20")  # mg/dL
DILUTE_SG_BELOW = Decimal("1.003")
SUBSTITUTED_CREATININE_BELOW = Decimal("2")  # mg/dL
SUBSTITUTED_SG_AT_OR_BELOW = Decimal("1.001")
SUBSTITUTED_SG_AT_OR_ABOVE = Decimal("1.020")
ADULTERATED_NITRITE_AT_OR_ABOVE = Decimal("500")  # µg/mL
ADULTERATED_PH_BELOW = Decimal("4")
ADULTERATED_PH_AT_OR_ABOVE = Decimal("11")


def specimen_validity(
    *,
    specimen_type: str,
    creatinine: Decimal | None,
    specific_gravity: Decimal | None,
    ph: Decimal | None,
    nitrite: Decimal | None,
    foreign_substance: bool = False,
) -> str:
    """Validity of a urine specimen from its validity-test values (DOMAIN.md §8).

    Adulterated (nitrite >= 500 µg/mL, pH < 4 or >= 11, or a foreign substance) wins over
    substituted (creatinine < 2 mg/dL and SG <= 1.001 or >= 1.020), which wins over dilute
    (creatinine < 20 mg/dL and SG < 1.003). Other specimen types, or a urine specimen with no
    creatinine/SG/pH/nitrite measured, are "not assessed".
    """
    if specimen_type != SpecimenType.URINE:
        return Validity.NOT_ASSESSED
    if foreign_substance:
        return Validity.ADULTERATED
    if nitrite is not None and nitrite >= ADULTERATED_NITRITE_AT_OR_ABOVE:
        return Validity.ADULTERATED
    if ph is not None and (ph < ADULTERATED_PH_BELOW or ph >= ADULTERATED_PH_AT_OR_ABOVE):
        return Validity.ADULTERATED
    if creatinine is not None and specific_gravity is not None:
        if creatinine < SUBSTITUTED_CREATININE_BELOW and (
            specific_gravity <= SUBSTITUTED_SG_AT_OR_BELOW or specific_gravity >= SUBSTITUTED_SG_AT_OR_ABOVE
        ):
            return Validity.SUBSTITUTED
        if creatinine < DILUTE_CREATININE_BELOW and specific_gravity < DILUTE_SG_BELOW:
            return Validity.DILUTE
    if all(v is None for v in (creatinine, specific_gravity, ph, nitrite)):
        return Validity.NOT_ASSESSED
    return Validity.VALID


FORENSIC_RULE = "A forensic collection needs its chain of custody: give the chain-of-custody form number."
CUSTODY_ONLY_FORENSIC_RULE = (
    "A chain-of-custody form belongs to a forensic collection: tick “Forensic collection”, or leave it empty."
)


class Specimen(TimeStampedModel):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="specimens")
    episode = models.ForeignKey(Episode, null=True, blank=True, on_delete=models.PROTECT, related_name="specimens")
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="specimens")
    specimen_type = models.CharField("Type", max_length=12, choices=SpecimenType.choices)
    collected_at = models.DateTimeField()
    collected_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    observed = models.BooleanField("Collection observed", default=False)
    # DOMAIN.md §8: "Record whether the collection was observed, and chain of custody if forensic."
    forensic = models.BooleanField(
        "Forensic collection",
        default=False,
        help_text="Collected for a legal purpose (court, probation, employer): needs a chain-of-custody form.",
    )
    chain_of_custody_id = models.CharField(
        "Chain-of-custody form number",
        max_length=40,
        blank=True,
        help_text="Forensic collections only (required): the number of the custody and control form that "
        "travels with the specimen.",
    )
    creatinine = models.DecimalField(
        "Creatinine (mg/dL)", max_digits=6, decimal_places=2, null=True, blank=True, validators=[MinValueValidator(0)]
    )
    specific_gravity = models.DecimalField(
        "Specific gravity",
        max_digits=5,
        decimal_places=4,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0.9")), MaxValueValidator(Decimal("1.2"))],
    )
    ph = models.DecimalField(
        "pH",
        max_digits=4,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(0), MaxValueValidator(14)],
    )
    nitrite = models.DecimalField(
        "Nitrite (µg/mL)", max_digits=8, decimal_places=1, null=True, blank=True, validators=[MinValueValidator(0)]
    )
    foreign_substance = models.BooleanField("Foreign substance detected", default=False)
    validity = models.CharField(max_length=12, choices=Validity.choices, default=Validity.NOT_ASSESSED)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    discussed_with_patient = models.BooleanField(null=True, blank=True)
    clinical_response = models.TextField(blank=True)

    objects = NoDeleteQuerySet.as_manager()

    class Meta:
        ordering = ["-collected_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(forensic=True) & ~Q(chain_of_custody_id=""))
                | (Q(forensic=False) & Q(chain_of_custody_id="")),
                name="specimen_forensic_has_chain_of_custody",
                violation_error_message=FORENSIC_RULE,
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_specimen_type_display()} specimen, {self.collected_at:%Y-%m-%d}"

    def clean(self) -> None:
        super().clean()
        self.chain_of_custody_id = (self.chain_of_custody_id or "").strip()
        if self.forensic and not self.chain_of_custody_id:
            raise ValidationError({"chain_of_custody_id": FORENSIC_RULE})
        if self.chain_of_custody_id and not self.forensic:
            raise ValidationError({"chain_of_custody_id": CUSTODY_ONLY_FORENSIC_RULE})

    def delete(self, *args, **kwargs):
        raise NeverDeleted("Specimens are never removed.")

    def compute_validity(self) -> str:
        return specimen_validity(
            specimen_type=self.specimen_type,
            creatinine=self.creatinine,
            specific_gravity=self.specific_gravity,
            ph=self.ph,
            nitrite=self.nitrite,
            foreign_substance=self.foreign_substance,
        )

    @property
    def is_reviewed(self) -> bool:
        return self.reviewed_at is not None


class Analyte(models.TextChoices):
    AMPHETAMINE = "amphetamine", "Amphetamine"
    METHAMPHETAMINE = "methamphetamine", "Methamphetamine"
    MDMA = "mdma", "MDMA"
    BARBITURATES = "barbiturates", "Barbiturates"
    BENZODIAZEPINES = "benzodiazepines", "Benzodiazepines"
    BUPRENORPHINE = "buprenorphine", "Buprenorphine"
    NORBUPRENORPHINE = "norbuprenorphine", "Norbuprenorphine"
    COCAINE = "cocaine", "Cocaine (benzoylecgonine)"
    THC = "thc", "THC metabolite"
    METHADONE = "methadone", "Methadone"
    EDDP = "eddp", "EDDP (methadone metabolite)"
    OPIATES = "opiates", "Opiates (morphine/codeine screen)"
    SIX_MAM = "6-mam", "6-MAM (heroin metabolite)"
    OXYCODONE = "oxycodone", "Oxycodone/oxymorphone"
    FENTANYL = "fentanyl", "Fentanyl"
    NORFENTANYL = "norfentanyl", "Norfentanyl"
    TRAMADOL = "tramadol", "Tramadol"
    NALTREXONE = "naltrexone", "Naltrexone"
    NALTREXOL = "6-beta-naltrexol", "6-beta-naltrexol"
    XYLAZINE = "xylazine", "Xylazine"
    ETHANOL = "ethanol", "Ethanol"
    ETG = "etg", "Ethyl glucuronide (EtG)"
    ETS = "ets", "Ethyl sulfate (EtS)"
    OTHER = "other", "Other (name it)"


class Method(models.TextChoices):
    POC_IMMUNOASSAY = "poc_ia", "Point-of-care immunoassay"
    LAB_IMMUNOASSAY = "lab_ia", "Lab immunoassay"
    LC_MS_MS = "lc_ms_ms", "LC-MS/MS"
    GC_MS = "gc_ms", "GC-MS"
    BREATH = "breath", "Breath analyser"


class Result(models.TextChoices):
    NEGATIVE = "negative", "Negative"
    PRESUMPTIVE_POSITIVE = "presumptive_positive", "Presumptive positive"
    CONFIRMED_POSITIVE = "confirmed_positive", "Confirmed positive"
    INVALID = "invalid", "Invalid"
    NOT_TESTED = "not_tested", "Not tested"


POSITIVE_RESULTS = frozenset({Result.PRESUMPTIVE_POSITIVE, Result.CONFIRMED_POSITIVE})
# Results read against a cut-off (DOMAIN.md §8: "Store the cut-off with each result"); an
# invalid or untested analyte has none.
CUTOFF_RESULTS = frozenset({Result.NEGATIVE, *POSITIVE_RESULTS})
CUTOFF_RULE = (
    "Give the cut-off: a negative or positive result is read against its cut-off concentration, "
    "which is stored with the result."
)


class Expectation(models.TextChoices):
    EXPECTED = "expected", "Expected"
    UNEXPECTED = "unexpected", "Unexpected"
    NOT_APPLICABLE = "n/a", "Not applicable"


_BENZODIAZEPINE = frozenset({Analyte.BENZODIAZEPINES})
_BARBITURATE = frozenset({Analyte.BARBITURATES})
_OPIATE_SCREEN = frozenset({Analyte.OPIATES})
_OXYCODONE = frozenset({Analyte.OXYCODONE, Analyte.OPIATES})

# Analytes a medication on the list explains: a positive for one of them is expected. Checked
# against every active medication, whatever its class (DOMAIN.md §8: "checked against the
# medication list"), so buprenorphine prescribed for pain explains buprenorphine as MOUD does.
# Agents absent here (acamprosate, disulfiram, naloxone, methylphenidate, tapentadol, Other)
# explain nothing on the panel.
EXPECTED_ANALYTES: dict[str, frozenset[str]] = {
    Agent.BUPRENORPHINE: frozenset({Analyte.BUPRENORPHINE, Analyte.NORBUPRENORPHINE}),
    Agent.METHADONE: frozenset({Analyte.METHADONE, Analyte.EDDP}),
    Agent.NALTREXONE: frozenset({Analyte.NALTREXONE, Analyte.NALTREXOL}),
    Agent.ALPRAZOLAM: _BENZODIAZEPINE,
    Agent.CHLORDIAZEPOXIDE: _BENZODIAZEPINE,
    Agent.CLONAZEPAM: _BENZODIAZEPINE,
    Agent.DIAZEPAM: _BENZODIAZEPINE,
    Agent.LORAZEPAM: _BENZODIAZEPINE,
    Agent.OXAZEPAM: _BENZODIAZEPINE,
    Agent.TEMAZEPAM: _BENZODIAZEPINE,
    Agent.BUTALBITAL: _BARBITURATE,
    Agent.PHENOBARBITAL: _BARBITURATE,
    Agent.AMPHETAMINE: frozenset({Analyte.AMPHETAMINE}),
    # Methamphetamine is metabolised to amphetamine.
    Agent.METHAMPHETAMINE: frozenset({Analyte.METHAMPHETAMINE, Analyte.AMPHETAMINE}),
    # Codeine is metabolised to morphine; hydrocodone to hydromorphone: all read by the opiate screen.
    Agent.CODEINE: _OPIATE_SCREEN,
    Agent.MORPHINE: _OPIATE_SCREEN,
    Agent.HYDROCODONE: _OPIATE_SCREEN,
    Agent.HYDROMORPHONE: _OPIATE_SCREEN,
    # Oxycodone and oxymorphone have their own assay; high concentrations also cross-react with
    # the opiate screen.
    Agent.OXYCODONE: _OXYCODONE,
    Agent.OXYMORPHONE: _OXYCODONE,
    Agent.FENTANYL: frozenset({Analyte.FENTANYL, Analyte.NORFENTANYL}),
    Agent.TRAMADOL: frozenset({Analyte.TRAMADOL}),
    Agent.DRONABINOL: frozenset({Analyte.THC}),
}
# Of those, the analytes a test often misses while the medication is taken (poor immunoassay
# cross-reactivity), so a negative for them is not called unexpected.
OFTEN_MISSED: dict[str, frozenset[str]] = {
    Agent.CLONAZEPAM: _BENZODIAZEPINE,
    Agent.LORAZEPAM: _BENZODIAZEPINE,
    Agent.HYDROCODONE: _OPIATE_SCREEN,
    Agent.HYDROMORPHONE: _OPIATE_SCREEN,
    Agent.OXYCODONE: _OPIATE_SCREEN,
    Agent.OXYMORPHONE: _OPIATE_SCREEN,
}


def explained_analytes(agents: set[str] | frozenset[str]) -> set[str]:
    """Analytes the given agents explain: a positive for any of them is expected."""
    return set().union(*(EXPECTED_ANALYTES.get(agent, frozenset()) for agent in agents))


def expected_present_analytes(agents: set[str] | frozenset[str]) -> set[str]:
    """Analytes a test should find while the given agents are taken: a negative is unexpected."""
    return set().union(
        *(EXPECTED_ANALYTES.get(agent, frozenset()) - OFTEN_MISSED.get(agent, frozenset()) for agent in agents)
    )


def expectation_for(*, analyte: str, result: str, agents: set[str]) -> str:
    """Expected or unexpected, given the agents of the patient's active medications (the whole
    list, any class).

    A positive is expected when an active medication explains the analyte, else unexpected.
    A negative for an analyte an active medication should produce (e.g. no buprenorphine while
    on buprenorphine) is unexpected, unless screens often miss it for that drug (lorazepam and
    clonazepam on a benzodiazepine screen, hydrocodone, hydromorphone, oxycodone and oxymorphone
    on the opiate screen); any other negative is expected. Invalid or untested results are not
    applicable.
    """
    if result not in (Result.NEGATIVE, *POSITIVE_RESULTS):
        return Expectation.NOT_APPLICABLE
    if result in POSITIVE_RESULTS:
        return Expectation.EXPECTED if analyte in explained_analytes(agents) else Expectation.UNEXPECTED
    return Expectation.UNEXPECTED if analyte in expected_present_analytes(agents) else Expectation.EXPECTED


class AnalyteResult(TimeStampedModel):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    specimen = models.ForeignKey(Specimen, on_delete=models.PROTECT, related_name="results")
    analyte = models.CharField(max_length=20, choices=Analyte.choices)
    analyte_other = models.CharField("Other analyte", max_length=80, blank=True)
    method = models.CharField(max_length=10, choices=Method.choices)
    loinc_code = models.CharField("LOINC code", max_length=12, blank=True)
    result = models.CharField(max_length=22, choices=Result.choices)
    concentration = models.DecimalField(
        max_digits=10, decimal_places=2, null=True, blank=True, validators=[MinValueValidator(0)]
    )
    # Nullable for invalid and untested analytes only (clean() requires it otherwise).
    cutoff = models.DecimalField(
        "Cut-off",
        max_digits=10,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
        help_text="Required with a negative or positive result: positive means at or above the cut-off.",
    )
    unit = models.CharField(max_length=12, default="ng/mL", blank=True)
    expectation = models.CharField(max_length=10, choices=Expectation.choices, default=Expectation.NOT_APPLICABLE)
    # The agents of the active medications the expectation was judged against, for the record.
    expectation_basis = models.JSONField(default=list, blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    objects = NoDeleteQuerySet.as_manager()

    class Meta:
        ordering = ["specimen", "analyte", "id"]

    def __str__(self) -> str:
        return f"{self.analyte_display}: {self.get_result_display()}"

    def delete(self, *args, **kwargs):
        raise NeverDeleted("Results are never removed.")

    @property
    def analyte_display(self) -> str:
        return self.analyte_other if self.analyte == Analyte.OTHER else self.get_analyte_display()

    def clean(self) -> None:
        super().clean()
        errors: dict[str, str] = {}
        if self.analyte == Analyte.OTHER and not self.analyte_other.strip():
            errors["analyte_other"] = "Name the analyte."
        if self.result == Result.CONFIRMED_POSITIVE and self.method not in (Method.LC_MS_MS, Method.GC_MS):
            errors["method"] = "A confirmed positive needs a definitive method (LC-MS/MS or GC-MS)."
        if self.result in CUTOFF_RESULTS and self.cutoff is None:
            errors["cutoff"] = CUTOFF_RULE
        if self.concentration is not None and self.cutoff is not None:
            # Positive means at or above the cut-off concentration (DOMAIN.md §8).
            if self.result in POSITIVE_RESULTS and self.concentration < self.cutoff:
                errors["concentration"] = "Below the cut-off: a result under the cut-off is negative."
            elif self.result == Result.NEGATIVE and self.concentration >= self.cutoff:
                unit = f" {self.unit}" if self.unit else ""
                errors["result"] = (
                    f"At or above the cut-off: {self.concentration}{unit} is at or above the cut-off of "
                    f"{self.cutoff}{unit}, which is positive, not negative. Record a presumptive or confirmed "
                    "positive, or correct the concentration."
                )
        if errors:
            raise ValidationError(errors)
