"""Treatment plans and relapse-prevention plans as versioned, signed documents; review
triggers and recorded relapses; patient-reported recovery activities; aftercare plans and
post-discharge follow-up check-ins.

Signed versions are immutable: the services refuse to change them and, on PostgreSQL, row
triggers (migration 0002) refuse UPDATE/DELETE of a signed plan and any INSERT/UPDATE/DELETE
of its problems, goals, objectives, interventions, triggers, strategies and listed contacts.
A review is a new version (a deep copy as a draft); old versions stay readable.
"""

from __future__ import annotations

import re
import uuid
from datetime import date

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

from patients.models import Episode, Patient, SupportContact
from users.models import Site, TimeStampedModel


class NeverDeleted(Exception):
    """Plans and their parts are superseded, never removed."""


class PlanImmutable(ValidationError):
    """A signed (or signature-pending) version cannot change."""


class NoDeleteQuerySet(models.QuerySet):
    def delete(self):
        raise NeverDeleted("Plan records are superseded, never removed.")


class PlanStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    # Signed by the clinician (and patient), waiting for the supervisor's signature. Locked.
    AWAITING_COSIGN = "awaiting_cosign", "Awaiting supervisor signature"
    SIGNED = "signed", "Signed"
    SUPERSEDED = "superseded", "Superseded by a later version"


LOCKED_STATUSES = frozenset({PlanStatus.AWAITING_COSIGN, PlanStatus.SIGNED, PlanStatus.SUPERSEDED})


class VersionReason(models.TextChoices):
    INITIAL = "initial", "Initial plan"
    SCHEDULED_REVIEW = "scheduled_review", "Scheduled review"
    LEVEL_OF_CARE_CHANGE = "level_of_care_change", "Level-of-care change"
    RELAPSE = "relapse", "Significant event: relapse"
    HOSPITALISATION = "hospitalisation", "Significant event: hospitalisation"
    NEW_DIAGNOSIS = "new_diagnosis", "Significant event: new diagnosis"
    OTHER = "other", "Other"


class TriggerReason(models.TextChoices):
    """Why a review is due now (a ``PlanReviewTrigger``)."""

    LEVEL_OF_CARE_CHANGE = "level_of_care_change", "Level-of-care change"
    RELAPSE = "relapse", "Relapse"
    HOSPITALISATION = "hospitalisation", "Hospitalisation"
    NEW_DIAGNOSIS = "new_diagnosis", "New diagnosis"
    POSITIVE_TOXICOLOGY = "positive_toxicology", "Unexpected positive toxicology result"
    # Raised by sessions' missed-session follow-up (DOMAIN.md §6): two consecutive no-shows, or
    # under the weekly share of scheduled hours, put engagement on the problem list.
    ENGAGEMENT = "engagement", "Engagement (missed sessions or hours)"
    OTHER = "other", "Other significant event"


# Which version reason a review started because of a trigger carries.
REASON_FOR_TRIGGER = {
    TriggerReason.LEVEL_OF_CARE_CHANGE: VersionReason.LEVEL_OF_CARE_CHANGE,
    TriggerReason.RELAPSE: VersionReason.RELAPSE,
    TriggerReason.POSITIVE_TOXICOLOGY: VersionReason.RELAPSE,
    TriggerReason.HOSPITALISATION: VersionReason.HOSPITALISATION,
    TriggerReason.NEW_DIAGNOSIS: VersionReason.NEW_DIAGNOSIS,
    TriggerReason.ENGAGEMENT: VersionReason.OTHER,
    TriggerReason.OTHER: VersionReason.OTHER,
}

ASAM_DIMENSIONS = [
    (1, "1 Acute intoxication and/or withdrawal potential"),
    (2, "2 Biomedical conditions and complications"),
    (3, "3 Emotional, behavioral or cognitive conditions"),
    (4, "4 Readiness to change"),
    (5, "5 Relapse, continued use or continued problem potential"),
    (6, "6 Recovery/living environment"),
]


# ICD-10-CM shape: a letter, two characters, then optionally a dot and up to four more.
ICD10 = re.compile(r"[A-TV-Z][0-9][0-9A-Z](\.[0-9A-Z]{1,4})?")


def validate_dimensions(value) -> None:
    """A non-empty list of distinct ASAM dimension numbers 1–6 (stored as JSON, so it works on SQLite)."""
    if not isinstance(value, list) or not value:
        raise ValidationError("Link the problem to at least one ASAM dimension (1–6).")
    if any(isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= 6 for v in value):
        raise ValidationError("ASAM dimensions are whole numbers from 1 to 6.")
    if len(set(value)) != len(value):
        raise ValidationError("Each ASAM dimension may be listed once.")


class SignedDocument(TimeStampedModel):
    """What a treatment plan and a relapse-prevention plan share: a numbered version of one
    episode's document, with the patient's and the clinician's signatures."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    episode = models.ForeignKey(Episode, on_delete=models.PROTECT, related_name="+")
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="+")
    version = models.PositiveIntegerField()
    status = models.CharField(max_length=20, choices=PlanStatus.choices, default=PlanStatus.DRAFT)
    reason = models.CharField("Reason for this version", max_length=30, choices=VersionReason.choices)
    reason_detail = models.CharField("Reason, described", max_length=300, blank=True)
    plan_date = models.DateField("Plan date", help_text="The date this version was started.")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    patient_signed_name = models.CharField("Patient's signature (typed full name)", max_length=150, blank=True)
    patient_signed_at = models.DateTimeField(null=True, blank=True)
    patient_declined_reason = models.TextField("Patient declined to sign because", blank=True)
    clinician_signed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    clinician_credentials = models.CharField(max_length=60, blank=True)
    clinician_signed_at = models.DateTimeField(null=True, blank=True)
    # When the version took effect (the last required signature), in UTC and as the site's date.
    signed_at = models.DateTimeField(null=True, blank=True)
    signed_on = models.DateField(null=True, blank=True)
    superseded_at = models.DateTimeField(null=True, blank=True)

    objects = NoDeleteQuerySet.as_manager()

    class Meta:
        abstract = True

    def delete(self, *args, **kwargs):
        raise NeverDeleted("Plan versions are superseded, never removed.")

    @property
    def is_draft(self) -> bool:
        return self.status == PlanStatus.DRAFT

    @property
    def is_locked(self) -> bool:
        return self.status in LOCKED_STATUSES

    @property
    def patient_declined(self) -> bool:
        return bool(self.patient_declined_reason)

    def clean(self) -> None:
        super().clean()
        errors: dict[str, str] = {}
        if self.reason == VersionReason.INITIAL and self.version and self.version > 1:
            errors["reason"] = "Only the first version is the initial plan; choose why this version is written."
        if self.reason and self.reason != VersionReason.INITIAL and self.version == 1:
            errors["reason"] = "The first version of a plan is the initial plan."
        if self.reason == VersionReason.OTHER and not self.reason_detail.strip():
            errors["reason_detail"] = "Describe why this version is written."
        if self.patient_signed_name and self.patient_declined_reason:
            errors["patient_declined_reason"] = "Record either the patient's signature or why they declined, not both."
        if errors:
            raise ValidationError(errors)


# --- Treatment plan ---------------------------------------------------------------------------


class TreatmentPlanQuerySet(NoDeleteQuerySet):
    def signed(self) -> TreatmentPlanQuerySet:
        """Versions that took effect (the current one and those it superseded)."""
        return self.filter(status__in=[PlanStatus.SIGNED, PlanStatus.SUPERSEDED])


class TreatmentPlan(SignedDocument):
    """One version of an episode's treatment plan (DOMAIN.md §7)."""

    episode = models.ForeignKey(Episode, on_delete=models.PROTECT, related_name="treatment_plans")
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="treatment_plans")
    strengths = models.TextField(blank=True)
    needs = models.TextField(blank=True)
    abilities = models.TextField(blank=True)
    preferences = models.TextField(blank=True)
    discharge_criteria = models.TextField("Discharge criteria", blank=True)

    supervisor_signed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    supervisor_credentials = models.CharField(max_length=60, blank=True)
    supervisor_signed_at = models.DateTimeField(null=True, blank=True)

    objects = TreatmentPlanQuerySet.as_manager()

    class Meta:
        ordering = ["episode_id", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["episode", "version"], name="treatmentplan_episode_version"),
            models.UniqueConstraint(
                fields=["episode"],
                condition=Q(status__in=["draft", "awaiting_cosign"]),
                name="treatmentplan_one_unsigned_per_episode",
            ),
            models.CheckConstraint(
                condition=Q(status="draft") | Q(clinician_signed_at__isnull=False),
                name="treatmentplan_locked_has_clinician_signature",
            ),
            models.CheckConstraint(
                condition=~Q(status__in=["signed", "superseded"]) | Q(signed_on__isnull=False),
                name="treatmentplan_signed_has_date",
            ),
            models.CheckConstraint(
                condition=Q(status="draft") | Q(patient_signed_at__isnull=False) | ~Q(patient_declined_reason=""),
                name="treatmentplan_patient_signed_or_declined",
            ),
        ]

    def __str__(self) -> str:
        return f"Treatment plan v{self.version} ({self.get_status_display()})"


class Problem(TimeStampedModel):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    plan = models.ForeignKey(TreatmentPlan, on_delete=models.PROTECT, related_name="problems")
    position = models.PositiveIntegerField(default=0)
    statement = models.TextField("Problem statement")
    dimensions = models.JSONField("ASAM dimensions", default=list, validators=[validate_dimensions])
    diagnosis = models.CharField("Diagnosis", max_length=200, blank=True)
    icd10_code = models.CharField("ICD-10 code", max_length=10, blank=True)
    copied_from = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="+")

    objects = NoDeleteQuerySet.as_manager()

    class Meta:
        ordering = ["plan_id", "position", "id"]

    def __str__(self) -> str:
        return self.statement[:60]

    def delete(self, *args, **kwargs):
        raise NeverDeleted("Remove draft items with the plan services.")

    @property
    def dimension_labels(self) -> list[str]:
        labels = dict(ASAM_DIMENSIONS)
        return [labels.get(d, str(d)) for d in self.dimensions or []]

    def clean(self) -> None:
        super().clean()
        self.icd10_code = (self.icd10_code or "").strip().upper()
        if isinstance(self.dimensions, list) and all(type(d) is int for d in self.dimensions):
            self.dimensions = sorted(self.dimensions)
        if not self.diagnosis.strip() and not self.icd10_code:
            raise ValidationError({"diagnosis": "Link the problem to a diagnosis (text or ICD-10 code)."})
        if self.icd10_code and not ICD10.fullmatch(self.icd10_code):
            raise ValidationError({"icd10_code": "That is not an ICD-10-CM code (for example F10.20)."})


class Goal(TimeStampedModel):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    plan = models.ForeignKey(TreatmentPlan, on_delete=models.PROTECT, related_name="goals")
    problem = models.ForeignKey(Problem, on_delete=models.PROTECT, related_name="goals")
    statement = models.TextField("Goal, in the patient's words")
    copied_from = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="+")

    objects = NoDeleteQuerySet.as_manager()

    class Meta:
        ordering = ["problem_id", "id"]

    def __str__(self) -> str:
        return self.statement[:60]

    def delete(self, *args, **kwargs):
        raise NeverDeleted("Remove draft items with the plan services.")


class ObjectiveStatus(models.TextChoices):
    NOT_STARTED = "not_started", "Not started"
    IN_PROGRESS = "in_progress", "In progress"
    ACHIEVED = "achieved", "Achieved"
    REVISED = "revised", "Revised"
    DISCONTINUED = "discontinued", "Discontinued"


OPEN_OBJECTIVE_STATUSES = frozenset({ObjectiveStatus.NOT_STARTED, ObjectiveStatus.IN_PROGRESS})


class Objective(TimeStampedModel):
    """A measurable, time-bound step toward a goal. Progress notes link here (the golden thread);
    ``copied_from`` follows an objective across versions."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    plan = models.ForeignKey(TreatmentPlan, on_delete=models.PROTECT, related_name="objectives")
    goal = models.ForeignKey(Goal, on_delete=models.PROTECT, related_name="objectives")
    statement = models.TextField("Measurable objective")
    target_date = models.DateField("Target date")
    status = models.CharField(max_length=20, choices=ObjectiveStatus.choices, default=ObjectiveStatus.NOT_STARTED)
    copied_from = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="+")

    objects = NoDeleteQuerySet.as_manager()

    class Meta:
        ordering = ["goal_id", "target_date", "id"]

    def __str__(self) -> str:
        return self.statement[:60]

    def delete(self, *args, **kwargs):
        raise NeverDeleted("Remove draft items with the plan services.")

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_OBJECTIVE_STATUSES


class Intervention(TimeStampedModel):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    plan = models.ForeignKey(TreatmentPlan, on_delete=models.PROTECT, related_name="interventions")
    objective = models.ForeignKey(Objective, on_delete=models.PROTECT, related_name="interventions")
    modality = models.CharField(max_length=120, help_text="For example: CBT group, individual MI, family session.")
    frequency = models.CharField(max_length=120, help_text="For example: 3 times a week, weekly.")
    responsible = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name="Responsible staff"
    )
    copied_from = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="+")

    objects = NoDeleteQuerySet.as_manager()

    class Meta:
        ordering = ["objective_id", "id"]

    def __str__(self) -> str:
        return f"{self.modality}, {self.frequency}"

    def delete(self, *args, **kwargs):
        raise NeverDeleted("Remove draft items with the plan services.")


# --- Review triggers and relapses ---------------------------------------------------------------


class PlanReviewTrigger(models.Model):
    """A significant event that makes a review of both plans due now, until a version of each
    is signed after it (no flag to clear: the selector compares times)."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    episode = models.ForeignKey(Episode, on_delete=models.PROTECT, related_name="plan_review_triggers")
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="+")
    reason = models.CharField(max_length=30, choices=TriggerReason.choices)
    note = models.TextField(blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    requested_at = models.DateTimeField()
    requested_on = models.DateField()

    objects = NoDeleteQuerySet.as_manager()

    class Meta:
        ordering = ["-requested_at", "-id"]
        indexes = [models.Index(fields=["episode", "requested_at"], name="plantrigger_episode_at_idx")]

    def __str__(self) -> str:
        return f"{self.get_reason_display()} on {self.requested_on:%Y-%m-%d}"

    def delete(self, *args, **kwargs):
        raise NeverDeleted("Review requests are history.")


class RelapseEvent(models.Model):
    """A relapse recorded by a clinician. Recording one prompts a review of both plans."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    episode = models.ForeignKey(Episode, on_delete=models.PROTECT, related_name="relapses")
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="+")
    occurred_on = models.DateField()
    substance = models.CharField(max_length=120, blank=True)
    note = models.TextField(blank=True)
    trigger = models.OneToOneField(PlanReviewTrigger, on_delete=models.PROTECT, related_name="relapse")
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField()

    objects = NoDeleteQuerySet.as_manager()

    class Meta:
        ordering = ["-occurred_on", "-id"]

    def __str__(self) -> str:
        return f"Relapse on {self.occurred_on:%Y-%m-%d}"

    def delete(self, *args, **kwargs):
        raise NeverDeleted("Relapses are history.")


# --- Relapse-prevention plan -----------------------------------------------------------------

DEFAULT_CRAVINGS_PLAN = (
    "Urge surfing: notice the craving, breathe, and let it rise and fall (most pass within 20–30 minutes).\n"
    "Delay: wait 15 minutes before deciding anything.\n"
    "Distraction: call someone, take a walk, change where I am.\n"
    "Play the tape forward: think past the first use to how the night and the next day really end."
)
DEFAULT_LAPSE_PLAN = (
    "Stop: stop using as soon as I notice; one slip does not have to become a relapse.\n"
    "Call: call my sponsor, a support person or my counselor today.\n"
    "Return: come back to my next group or session. The program welcomes me back without shame; "
    "a lapse is information for my plan, not a failure."
)
DEFAULT_CRISIS_LINE = "988 Suicide & Crisis Lifeline: call or text 988 (24/7)"
DEFAULT_EMERGENCY = "Call 911 for an overdose or a medical emergency. Use naloxone if I have it, then call 911."


class RelapsePreventionPlan(SignedDocument):
    """One version of the patient's relapse-prevention plan: a document they take away."""

    episode = models.ForeignKey(Episode, on_delete=models.PROTECT, related_name="relapse_prevention_plans")
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="relapse_prevention_plans")
    early_warning_signs = models.TextField(
        "Early warning signs", blank=True, help_text="Thinking, mood, behaviour; skipping meetings or sessions."
    )
    cravings_plan = models.TextField("My cravings plan", blank=True, default=DEFAULT_CRAVINGS_PLAN)
    healthy_routine = models.TextField("Healthy routine and activities", blank=True)
    meetings = models.TextField("Meetings I will attend", blank=True)
    moud_details = models.TextField(
        "Medication for addiction treatment (MOUD/MAUD)", blank=True, help_text="Medicine, dose, prescriber; or none."
    )
    naloxone_on_hand = models.BooleanField("Naloxone on hand", null=True, blank=True)
    naloxone_who_knows = models.CharField("Who knows where the naloxone is", max_length=300, blank=True)
    lapse_plan = models.TextField("If I lapse (stop, call, return)", blank=True, default=DEFAULT_LAPSE_PLAN)
    emergency_number = models.CharField("Emergency", max_length=200, default=DEFAULT_EMERGENCY)
    crisis_line = models.CharField("Crisis line", max_length=200, default=DEFAULT_CRISIS_LINE)
    nearest_ed = models.CharField("Nearest emergency department", max_length=300, blank=True)
    other_crisis_line = models.CharField("Local crisis line", max_length=200, blank=True)
    review_date = models.DateField("Review date", null=True, blank=True)
    # Staff-only: never printed on the patient's copy.
    internal_note = models.TextField("Internal note (not on the patient's copy)", blank=True)
    support_contacts = models.ManyToManyField(SupportContact, through="RPSupportContact", related_name="+")

    class Meta:
        ordering = ["episode_id", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["episode", "version"], name="rpplan_episode_version"),
            models.UniqueConstraint(
                fields=["episode"], condition=Q(status="draft"), name="rpplan_one_draft_per_episode"
            ),
            models.CheckConstraint(
                condition=Q(status="draft") | (Q(clinician_signed_at__isnull=False) & Q(signed_on__isnull=False)),
                name="rpplan_signed_has_signature",
            ),
            models.CheckConstraint(
                condition=Q(status="draft") | Q(patient_signed_at__isnull=False) | ~Q(patient_declined_reason=""),
                name="rpplan_patient_signed_or_declined",
            ),
        ]

    def __str__(self) -> str:
        return f"Relapse-prevention plan v{self.version} ({self.get_status_display()})"

    def clean(self) -> None:
        super().clean()
        if self.naloxone_on_hand is False and self.naloxone_who_knows.strip():
            raise ValidationError({"naloxone_who_knows": "Naloxone is recorded as not on hand."})


class TriggerCategory(models.TextChoices):
    PEOPLE = "people", "People"
    PLACES = "places", "Places"
    EMOTIONS = "emotions", "Emotions"
    HALT = "halt", "HALT (hungry, angry, lonely, tired)"
    DATES = "dates", "Dates and anniversaries"
    CUES = "cues", "Cues (sights, smells, things)"
    OTHER = "other", "Other high-risk situation"


class RPTrigger(TimeStampedModel):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    plan = models.ForeignKey(RelapsePreventionPlan, on_delete=models.PROTECT, related_name="triggers")
    category = models.CharField(max_length=20, choices=TriggerCategory.choices)
    description = models.TextField()
    copied_from = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="+")

    objects = NoDeleteQuerySet.as_manager()

    class Meta:
        ordering = ["plan_id", "category", "id"]

    def __str__(self) -> str:
        return f"{self.get_category_display()}: {self.description[:40]}"

    def delete(self, *args, **kwargs):
        raise NeverDeleted("Remove draft items with the plan services.")


class RPCopingStrategy(TimeStampedModel):
    """A coping strategy matched to one trigger."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    plan = models.ForeignKey(RelapsePreventionPlan, on_delete=models.PROTECT, related_name="strategies")
    trigger = models.ForeignKey(RPTrigger, on_delete=models.PROTECT, related_name="strategies")
    strategy = models.TextField()
    copied_from = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="+")

    objects = NoDeleteQuerySet.as_manager()

    class Meta:
        ordering = ["trigger_id", "id"]

    def __str__(self) -> str:
        return self.strategy[:60]

    def delete(self, *args, **kwargs):
        raise NeverDeleted("Remove draft items with the plan services.")


class RPSupportContact(models.Model):
    """A support person listed on the plan: only those the patient consented to list."""

    plan = models.ForeignKey(RelapsePreventionPlan, on_delete=models.PROTECT, related_name="listed_contacts")
    contact = models.ForeignKey(SupportContact, on_delete=models.PROTECT, related_name="+")

    objects = NoDeleteQuerySet.as_manager()

    class Meta:
        ordering = ["plan_id", "id"]
        constraints = [models.UniqueConstraint(fields=["plan", "contact"], name="rpcontact_once_per_plan")]

    def __str__(self) -> str:
        return f"Listed support contact {self.contact_id}"

    def delete(self, *args, **kwargs):
        raise NeverDeleted("Remove draft items with the plan services.")


# --- Recovery activities -----------------------------------------------------------------------


class RecoveryActivityType(models.TextChoices):
    AA = "aa", "Alcoholics Anonymous (AA)"
    NA = "na", "Narcotics Anonymous (NA)"
    SMART = "smart", "SMART Recovery"
    REFUGE = "refuge", "Refuge Recovery"
    CHURCH = "church", "Church-based recovery group"
    OTHER = "other", "Other"


class RecoveryActivity(TimeStampedModel):
    """A mutual-help meeting or recovery activity **reported by the patient** (DOMAIN.md §5).

    These are not program services: they never count toward clinical IOP hours. Nothing in
    the product sums ``duration_minutes`` into attendance or hours; ``clinical_minutes`` is
    always 0 so any generic "clinical minutes" roll-up that meets this model adds nothing.
    """

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="recovery_activities")
    episode = models.ForeignKey(Episode, on_delete=models.PROTECT, related_name="recovery_activities")
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="+")
    date = models.DateField()
    activity_type = models.CharField("Type", max_length=10, choices=RecoveryActivityType.choices)
    type_detail = models.CharField("Type, described", max_length=120, blank=True)
    duration_minutes = models.PositiveIntegerField("Duration (minutes, as reported)", null=True, blank=True)
    sponsor_contact = models.ForeignKey(
        SupportContact, null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name="Sponsor"
    )
    note = models.TextField(blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    objects = NoDeleteQuerySet.as_manager()

    class Meta:
        ordering = ["-date", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(duration_minutes__isnull=True) | Q(duration_minutes__lte=24 * 60),
                name="recoveryactivity_duration_within_a_day",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_activity_type_display()} on {self.date:%Y-%m-%d}"

    def delete(self, *args, **kwargs):
        raise NeverDeleted("Recovery activities are history.")

    @property
    def clinical_minutes(self) -> int:
        """Always 0: patient-reported mutual help is not a clinical service."""
        return 0

    def clean(self) -> None:
        super().clean()
        if self.activity_type == RecoveryActivityType.OTHER and not self.type_detail.strip():
            raise ValidationError({"type_detail": "Describe the activity."})
        if self.sponsor_contact_id and self.patient_id and self.sponsor_contact.patient_id != self.patient_id:
            raise ValidationError({"sponsor_contact": "That person is in another patient's support network."})


# --- Aftercare and follow-up ------------------------------------------------------------------


class AftercarePlan(TimeStampedModel):
    """What happens after discharge: referrals and recommendations (one per episode), how the
    patient can come back, and the letter sent to them (or why they may not be contacted).

    An administrative discharge needs a referral, the re-admission information and the letter
    or the reason (DOMAIN.md §6); ``plans.services.discharge_sign`` checks them."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    episode = models.OneToOneField(Episode, on_delete=models.PROTECT, related_name="aftercare_plan")
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="+")
    recommendations = models.TextField(blank=True)
    readmission_info = models.TextField(
        "Re-admission information",
        blank=True,
        help_text="How the patient can come back: whom to call, how re-entry works, without waiting for a new referral.",
    )
    patient_letter = models.TextField(
        "Letter to the patient",
        blank=True,
        help_text="The letter sent (or prepared) at discharge: the referral, how to come back, crisis numbers.",
    )
    patient_letter_on = models.DateField("Letter sent or prepared on", null=True, blank=True)
    no_contact_reason = models.TextField(
        "Contact not allowed because",
        blank=True,
        help_text="When no letter may be sent: for example, the patient asked not to be contacted.",
    )
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    objects = NoDeleteQuerySet.as_manager()

    def __str__(self) -> str:
        return "Aftercare plan"

    def delete(self, *args, **kwargs):
        raise NeverDeleted("Aftercare plans are kept.")

    @property
    def has_letter(self) -> bool:
        return bool((self.patient_letter or "").strip() or self.patient_letter_on)

    def clean(self) -> None:
        super().clean()
        if self.has_letter and (self.no_contact_reason or "").strip():
            raise ValidationError(
                {"no_contact_reason": "Record the letter to the patient or why contact is not allowed, not both."}
            )


class AftercareReferral(TimeStampedModel):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    aftercare = models.ForeignKey(AftercarePlan, on_delete=models.PROTECT, related_name="referrals")
    provider = models.CharField(max_length=200)
    level = models.CharField("Level of care or service", max_length=120, blank=True)
    appointment_on = models.DateField("First appointment", null=True, blank=True)
    contact = models.CharField("Provider contact", max_length=200, blank=True)
    note = models.TextField(blank=True)
    withdrawn_at = models.DateTimeField(null=True, blank=True)

    objects = NoDeleteQuerySet.as_manager()

    class Meta:
        ordering = ["appointment_on", "id"]

    def __str__(self) -> str:
        return self.provider

    def delete(self, *args, **kwargs):
        raise NeverDeleted("Referrals are withdrawn, never removed.")


FOLLOW_UP_DAYS = (30, 60, 90)


class FollowUpStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    DONE = "done", "Done"
    UNABLE_TO_REACH = "unable_to_reach", "Unable to reach"


class FollowUpQuerySet(NoDeleteQuerySet):
    def pending(self) -> FollowUpQuerySet:
        return self.filter(status=FollowUpStatus.PENDING)

    def due_by(self, day: date) -> FollowUpQuerySet:
        return self.pending().filter(due_on__lte=day)


class FollowUpCheckIn(TimeStampedModel):
    """A check-in 30, 60 or 90 days after discharge: a task for the care team."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    episode = models.ForeignKey(Episode, on_delete=models.PROTECT, related_name="follow_ups")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="follow_ups")
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="+")
    days_after_discharge = models.PositiveSmallIntegerField()
    due_on = models.DateField()
    status = models.CharField(max_length=20, choices=FollowUpStatus.choices, default=FollowUpStatus.PENDING)
    outcome_note = models.TextField("Outcome", blank=True)
    completed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    completed_at = models.DateTimeField(null=True, blank=True)

    objects = FollowUpQuerySet.as_manager()

    class Meta:
        ordering = ["due_on", "id"]
        indexes = [models.Index(fields=["site", "status", "due_on"], name="followup_site_status_due_idx")]
        constraints = [
            models.UniqueConstraint(fields=["episode", "days_after_discharge"], name="followup_once_per_interval"),
            models.CheckConstraint(
                condition=Q(status="pending") | Q(completed_at__isnull=False), name="followup_completed_has_time"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.days_after_discharge}-day follow-up due {self.due_on:%Y-%m-%d}"

    def delete(self, *args, **kwargs):
        raise NeverDeleted("Follow-ups are history.")
