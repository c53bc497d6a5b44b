"""Patients, the intake pipeline, episodes of care, the support network, and 42 CFR Part 2
consents and disclosures.

Nothing here is ever destroyed: patients and support contacts are soft-deleted, consents are
revoked, episodes are discharged, disclosures and referral events are history. Writes go
through ``patients.services``; the models refuse bad data on their own (``clean()`` and
database constraints) so that a service, the admin or a shell cannot store it either.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import date, datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import DurationField, Exists, ExpressionWrapper, F, OuterRef, Q, Value
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone

from users.models import Membership, Role, Site, TimeStampedModel

from .validators import PHONE_HELP, normalize_phone, validate_phone

# Who this program serves. Adolescent programs commonly start at 12; 10 leaves room for
# early-intervention referrals while still catching a mistyped year (e.g. 2024 for 1994).
MIN_AGE_YEARS = 10
MAX_AGE_YEARS = 120
ADOLESCENT_UNDER_YEARS = 18


class NeverDeleted(Exception):
    """Clinical records are soft-deleted, revoked or closed; never removed."""


def site_today(site: Site | None) -> date:
    """Today's date in the site's time zone (the clinic's calendar day)."""
    return timezone.localdate(timezone=site.zone) if site is not None else timezone.localdate()


def years_between(born: date, on: date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def _lines(text: str) -> list[str]:
    """Recipient lists are one name or class per line (semicolons also separate)."""
    parts = (text or "").replace(";", "\n").splitlines()
    return [" ".join(p.split()) for p in parts if p.strip()]


# --- Patient ------------------------------------------------------------------------------


class SexAtBirth(models.TextChoices):
    FEMALE = "female", "Female"
    MALE = "male", "Male"
    INTERSEX = "intersex", "Intersex"
    UNKNOWN = "unknown", "Unknown"
    DECLINED = "declined", "Declined to answer"


class AgeGroup(models.TextChoices):
    ADULT = "adult", "Adult"
    ADOLESCENT = "adolescent", "Adolescent"


class ContactChannel(models.TextChoices):
    PHONE = "phone", "Phone call"
    SMS = "sms", "Text message"
    EMAIL = "email", "Email"
    MAIL = "mail", "Post"
    NONE = "none", "No reminders"


class SmsOptInSource(models.TextChoices):
    INTAKE_FORM = "intake_form", "Signed intake form"
    VERBAL = "verbal", "Verbal, recorded by staff"
    PORTAL = "portal", "Patient portal"
    TEXT_KEYWORD = "text_keyword", "Texted a keyword"


class PatientQuerySet(models.QuerySet["Patient"]):
    def active(self) -> PatientQuerySet:
        """Patients not soft-deleted."""
        return self.filter(deleted_at__isnull=True)

    def delete(self):
        raise NeverDeleted("Patients are soft-deleted with patient_archive(), never removed.")


class Patient(TimeStampedModel):
    """A person registered at a site. URLs carry ``public_id``, never the row id or the MRN."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    # "P" + 8 random Crockford base32 characters: unique across sites, reveals no count.
    mrn = models.CharField("MRN", max_length=12, unique=True, editable=False)
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="patients")

    legal_first_name = models.CharField(max_length=80)
    legal_last_name = models.CharField(max_length=80)
    preferred_name = models.CharField(max_length=80, blank=True)
    pronouns = models.CharField(max_length=40, blank=True, help_text="For example: she/her, he/him, they/them.")
    date_of_birth = models.DateField()
    sex_at_birth = models.CharField(max_length=10, choices=SexAtBirth.choices, blank=True)
    gender_identity = models.CharField(max_length=60, blank=True)

    phone = models.CharField(max_length=16, blank=True, validators=[validate_phone], help_text=PHONE_HELP)
    email = models.EmailField(blank=True)
    address = models.TextField(blank=True)
    language = models.CharField(max_length=40, default="English")

    emergency_contact_name = models.CharField(max_length=120, blank=True)
    emergency_contact_relationship = models.CharField(max_length=60, blank=True)
    emergency_contact_phone = models.CharField(
        max_length=16, blank=True, validators=[validate_phone], help_text=PHONE_HELP
    )

    payer_name = models.CharField("Payer", max_length=120, blank=True)
    payer_member_id = models.CharField("Member id", max_length=60, blank=True)
    primary_counselor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="primary_patients",
        help_text="A counselor or clinical supervisor at this site.",
    )

    # Contact preferences, one group per channel (DOMAIN.md §13). Defaults are the most
    # private choice: nothing is sent or left until the patient says so.
    preferred_channel = models.CharField(max_length=10, choices=ContactChannel.choices, default=ContactChannel.PHONE)
    sms_opt_in = models.BooleanField("Agrees to text messages", default=False)
    sms_opt_in_on = models.DateField("Text opt-in date", null=True, blank=True)
    sms_opt_in_source = models.CharField(
        "Text opt-in source", max_length=20, choices=SmsOptInSource.choices, blank=True
    )
    sms_number = models.CharField(
        "Number agreed for texts",
        max_length=16,
        blank=True,
        validators=[validate_phone],
        help_text="The exact number the patient agreed to receive texts at.",
    )
    email_opt_in = models.BooleanField("Agrees to email", default=False)
    email_opt_in_on = models.DateField("Email opt-in date", null=True, blank=True)
    voicemail_allowed = models.BooleanField("A voicemail may be left", default=False)
    household_message_allowed = models.BooleanField("A message may be left with a household member", default=False)
    safe_hours_start = models.TimeField("Safe to contact from", null=True, blank=True)
    safe_hours_end = models.TimeField("Safe to contact until", null=True, blank=True)
    # Confidential communications (DOMAIN.md §13): while the patient has asked for them (any of
    # these three filled in), messages go only to the alternate address or number for that
    # channel; a channel without one sends nothing (notifications.outbox.patient_address).
    confidential_contact = models.TextField(
        "Confidential communications request",
        blank=True,
        help_text="What the patient asked for, in their words. While a request is recorded, reminders go only "
        "to the confidential email or text number below; a channel without one sends nothing.",
    )
    confidential_email = models.EmailField(
        "Confidential email", blank=True, help_text="Email only this address (confidential communications)."
    )
    confidential_phone = models.CharField(
        "Confidential phone or text number",
        max_length=16,
        blank=True,
        validators=[validate_phone],
        help_text="Call or text only this number (confidential communications). Texts also need the text "
        "opt-in for this exact number.",
    )

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+", editable=False
    )
    deleted_at = models.DateTimeField(null=True, blank=True, editable=False)
    deleted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+", editable=False
    )
    deletion_reason = models.TextField(blank=True, editable=False)

    objects = PatientQuerySet.as_manager()

    class Meta:
        ordering = ["legal_last_name", "legal_first_name", "id"]
        indexes = [
            models.Index(fields=["site", "legal_last_name", "legal_first_name"], name="patient_site_name_idx"),
            models.Index(fields=["date_of_birth"], name="patient_dob_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(sms_opt_in=False) | (Q(sms_opt_in_on__isnull=False) & ~Q(sms_number="")),
                name="patient_sms_opt_in_complete",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.display_name} ({self.mrn})"

    def delete(self, *args, **kwargs):
        raise NeverDeleted("Patients are soft-deleted with patient_archive(), never removed.")

    @property
    def legal_name(self) -> str:
        return f"{self.legal_first_name} {self.legal_last_name}"

    @property
    def display_name(self) -> str:
        """Preferred name where one is given, with the legal name alongside so records still match."""
        if self.preferred_name and self.preferred_name != self.legal_first_name:
            return f"{self.preferred_name} ({self.legal_first_name}) {self.legal_last_name}"
        return self.legal_name

    @property
    def confidential_communications(self) -> bool:
        """The patient asked for confidential communications (an alternate address or number)."""
        return bool((self.confidential_contact or "").strip() or self.confidential_email or self.confidential_phone)

    def age_on(self, day: date) -> int:
        return years_between(self.date_of_birth, day)

    def age_group_on(self, day: date) -> str:
        return AgeGroup.ADOLESCENT if self.age_on(day) < ADOLESCENT_UNDER_YEARS else AgeGroup.ADULT

    @property
    def age(self) -> int:
        return self.age_on(site_today(self.site))

    @property
    def age_group(self) -> str:
        return self.age_group_on(site_today(self.site))

    def clean(self) -> None:
        super().clean()
        errors: dict[str, list] = {}
        for name in ("legal_first_name", "legal_last_name", "preferred_name", "pronouns", "gender_identity"):
            setattr(self, name, " ".join((getattr(self, name) or "").split()))
        for name in ("phone", "emergency_contact_phone", "sms_number", "confidential_phone"):
            try:
                setattr(self, name, normalize_phone(getattr(self, name)))
            except ValidationError as exc:
                errors.setdefault(name, []).extend(exc.messages)
        self.email = (self.email or "").strip().lower()
        self.confidential_email = (self.confidential_email or "").strip().lower()
        self.confidential_contact = (self.confidential_contact or "").strip()
        if self.date_of_birth:
            today = site_today(self.site if self.site_id else None)
            if self.date_of_birth > today:
                errors.setdefault("date_of_birth", []).append("The birth date cannot be in the future.")
            else:
                age = years_between(self.date_of_birth, today)
                if age > MAX_AGE_YEARS:
                    errors.setdefault("date_of_birth", []).append(
                        f"That makes the patient {age} years old; check the year (the limit is {MAX_AGE_YEARS})."
                    )
                elif age < MIN_AGE_YEARS:
                    errors.setdefault("date_of_birth", []).append(
                        f"That makes the patient {age} years old; this program serves people aged "
                        f"{MIN_AGE_YEARS} and over. Check the year."
                    )
        if self.sms_opt_in:
            if not self.sms_opt_in_on:
                errors.setdefault("sms_opt_in_on", []).append("Record the date the patient agreed to texts.")
            if not self.sms_opt_in_source:
                errors.setdefault("sms_opt_in_source", []).append("Record how the patient agreed to texts.")
            if not self.sms_number:
                errors.setdefault("sms_number", []).append("Record the exact number the patient agreed to.")
        if self.email_opt_in:
            if not self.email and not self.confidential_email:
                errors.setdefault("email", []).append("An email address is needed for email opt-in.")
            if not self.email_opt_in_on:
                errors.setdefault("email_opt_in_on", []).append("Record the date the patient agreed to email.")
        if (self.safe_hours_start is None) != (self.safe_hours_end is None):
            errors.setdefault("safe_hours_end", []).append("Give both ends of the safe hours, or neither.")
        if self.primary_counselor_id and self.site_id:
            if (
                not Membership.objects.active()
                .filter(
                    user_id=self.primary_counselor_id,
                    site_id=self.site_id,
                    role__in=[Role.CLINICIAN, Role.SUPERVISOR],
                )
                .exists()
            ):
                errors.setdefault("primary_counselor", []).append(
                    "The primary counselor must be a counselor or clinical supervisor at this site."
                )
        if errors:
            raise ValidationError(errors)


# --- Episode of care ------------------------------------------------------------------------


class LocEdition(models.TextChoices):
    THIRD = "3", "ASAM 3rd edition (2013)"
    FOURTH = "4", "ASAM 4th edition (2023)"


LEVELS_BY_EDITION: dict[str, list[tuple[str, str]]] = {
    LocEdition.THIRD: [
        ("0.5", "0.5 Early intervention"),
        ("1", "1 Outpatient"),
        ("2.1", "2.1 Intensive outpatient (IOP)"),
        ("2.5", "2.5 Partial hospitalization"),
        ("3.1", "3.1 Clinically managed low-intensity residential"),
        ("3.3", "3.3 Clinically managed population-specific high-intensity residential"),
        ("3.5", "3.5 Clinically managed high-intensity residential"),
        ("3.7", "3.7 Medically monitored intensive inpatient"),
        ("4", "4 Medically managed intensive inpatient"),
    ],
    LocEdition.FOURTH: [
        ("1.0", "1.0 Long-term remission monitoring"),
        ("1.5", "1.5 Outpatient therapy"),
        ("1.7", "1.7 Medically managed outpatient"),
        ("2.1", "2.1 Intensive outpatient (IOP)"),
        ("2.5", "2.5 High-intensity outpatient"),
        ("2.7", "2.7 Medically managed intensive outpatient"),
        ("3.1", "3.1 Clinically managed low-intensity residential"),
        ("3.5", "3.5 Clinically managed high-intensity residential"),
        ("3.7", "3.7 Medically managed residential"),
        ("4.0", "4.0 Medically managed inpatient"),
    ],
}
LEVEL_CHOICES = list({code: label for edition in LEVELS_BY_EDITION.values() for code, label in edition}.items())
LEVEL_CHOICES.sort(key=lambda c: float(c[0]))


class DischargeType(models.TextChoices):
    COMPLETED = "completed", "Completed treatment"
    STEP_DOWN = "step_down", "Stepped down to a lower level"
    STEP_UP = "step_up", "Step-up / transfer to a higher level"
    AGAINST_ADVICE = "against_advice", "Left against advice"
    ADMINISTRATIVE = "administrative", "Administrative discharge"
    INCARCERATED = "incarcerated", "Incarcerated"
    DECEASED = "deceased", "Deceased"
    OTHER = "other", "Other"


class EpisodeQuerySet(models.QuerySet["Episode"]):
    def open(self) -> EpisodeQuerySet:
        return self.filter(discharge_date__isnull=True)

    def with_length_of_stay(self, today: date) -> EpisodeQuerySet:
        """Annotate ``stay_length`` (a timedelta, so ``.days``): the discharge date, or ``today``
        while open, minus the admission date. Filterable and sortable in SQL, e.g.
        ``.with_length_of_stay(today).filter(stay_length__gte=timedelta(days=30))``."""
        end = Coalesce(F("discharge_date"), Value(today, output_field=models.DateField()))
        return self.annotate(stay_length=ExpressionWrapper(end - F("admission_date"), output_field=DurationField()))

    def delete(self):
        raise NeverDeleted("Episodes are discharged, never removed.")


class Episode(TimeStampedModel):
    """One stay: opens at admission, closes at discharge. Re-admission opens a new episode."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="episodes")
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="episodes")
    admission_date = models.DateField()
    level_of_care = models.CharField("Level of care at admission", max_length=5, choices=LEVEL_CHOICES, default="2.1")
    level_of_care_edition = models.CharField(
        "ASAM edition", max_length=1, choices=LocEdition.choices, default=LocEdition.THIRD
    )
    primary_counselor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="counseled_episodes"
    )
    admitted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    discharge_date = models.DateField(null=True, blank=True)
    discharge_type = models.CharField(max_length=20, choices=DischargeType.choices, blank=True)
    discharge_summary = models.TextField(blank=True)
    discharged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    objects = EpisodeQuerySet.as_manager()

    class Meta:
        ordering = ["-admission_date", "-id"]
        constraints = [
            # The database itself refuses a second open episode for a patient.
            models.UniqueConstraint(
                fields=["patient"], condition=Q(discharge_date__isnull=True), name="episode_one_open_per_patient"
            ),
            models.CheckConstraint(
                condition=Q(discharge_date__isnull=True) | Q(discharge_date__gte=F("admission_date")),
                name="episode_discharge_not_before_admission",
            ),
            models.CheckConstraint(
                condition=(Q(discharge_date__isnull=True) & Q(discharge_type=""))
                | (Q(discharge_date__isnull=False) & ~Q(discharge_type="")),
                name="episode_discharge_type_with_date",
            ),
        ]

    def __str__(self) -> str:
        return f"Episode from {self.admission_date:%Y-%m-%d} at level {self.level_of_care}"

    def delete(self, *args, **kwargs):
        raise NeverDeleted("Episodes are discharged, never removed.")

    @property
    def is_open(self) -> bool:
        return self.discharge_date is None

    def length_of_stay_on(self, today: date) -> int:
        return ((self.discharge_date or today) - self.admission_date).days

    @property
    def length_of_stay(self) -> int:
        """Days from admission to discharge (or to today in the site's zone while open)."""
        return self.length_of_stay_on(site_today(self.site))

    @property
    def level_label(self) -> str:
        labels = dict(LEVELS_BY_EDITION.get(self.level_of_care_edition, []))
        return f"{labels.get(self.level_of_care, self.level_of_care)} ({self.get_level_of_care_edition_display()})"

    def clean(self) -> None:
        super().clean()
        errors: dict[str, str] = {}
        codes = dict(LEVELS_BY_EDITION.get(self.level_of_care_edition, []))
        if self.level_of_care not in codes:
            errors["level_of_care"] = (
                f"Level {self.level_of_care} does not exist in the {self.get_level_of_care_edition_display()}."
            )
        if self.discharge_date and self.admission_date and self.discharge_date < self.admission_date:
            errors["discharge_date"] = "The discharge date cannot be before the admission date."
        if self.discharge_date and not self.discharge_type:
            errors["discharge_type"] = "Choose the type of discharge."
        if errors:
            raise ValidationError(errors)


# --- Intake pipeline --------------------------------------------------------------------------


class ReferralSource(models.TextChoices):
    SELF = "self", "Self"
    FAMILY = "family", "Family"
    COURT = "court", "Court / criminal justice"
    HOSPITAL = "hospital", "Hospital"
    RESIDENTIAL_STEP_DOWN = "residential_step_down", "Residential step-down"
    OUTPATIENT_STEP_UP = "outpatient_step_up", "Outpatient step-up"
    EMPLOYER = "employer", "Employer / EAP"
    OTHER = "other", "Other"


class Stage(models.TextChoices):
    RECEIVED = "received", "Referral received"
    SCREENING_SCHEDULED = "screening_scheduled", "Screening scheduled"
    SCREENED = "screened", "Screened"
    ASSESSED = "assessed", "Assessed"
    PLACEMENT_DECIDED = "placement_decided", "Placement decided"
    ADMITTED = "admitted", "Admitted"
    WAITLISTED = "waitlisted", "Waitlisted"
    REFERRED_ELSEWHERE = "referred_elsewhere", "Referred elsewhere"
    DECLINED = "declined", "Declined"
    CLOSED_NO_CONTACT = "closed_no_contact", "Closed after no contact"


S = Stage
_EXITS = {S.WAITLISTED, S.REFERRED_ELSEWHERE, S.DECLINED, S.CLOSED_NO_CONTACT}

# The allowed moves, one row per stage. Every open stage may leave the pipeline (waitlist,
# refer elsewhere, decline, close). From the waitlist a person re-enters where intake picks
# them up again; admission additionally needs a placement decision on the referral's history.
TRANSITIONS: dict[str, frozenset[str]] = {
    S.RECEIVED: frozenset({S.SCREENING_SCHEDULED, *_EXITS}),
    S.SCREENING_SCHEDULED: frozenset({S.SCREENED, *_EXITS}),
    S.SCREENED: frozenset({S.ASSESSED, *_EXITS}),
    S.ASSESSED: frozenset({S.PLACEMENT_DECIDED, *_EXITS}),
    S.PLACEMENT_DECIDED: frozenset({S.ADMITTED, *_EXITS}),
    S.WAITLISTED: frozenset(
        {S.SCREENING_SCHEDULED, S.SCREENED, S.ASSESSED, S.PLACEMENT_DECIDED, S.ADMITTED} | (_EXITS - {S.WAITLISTED})
    ),
    S.ADMITTED: frozenset(),
    S.REFERRED_ELSEWHERE: frozenset(),
    S.DECLINED: frozenset(),
    S.CLOSED_NO_CONTACT: frozenset(),
}
PIPELINE = [S.RECEIVED, S.SCREENING_SCHEDULED, S.SCREENED, S.ASSESSED, S.PLACEMENT_DECIDED, S.WAITLISTED]
TERMINAL = frozenset(stage for stage, moves in TRANSITIONS.items() if not moves)


class ReferralQuerySet(models.QuerySet["Referral"]):
    def open(self) -> ReferralQuerySet:
        return self.exclude(stage__in=TERMINAL)

    def waitlist(self) -> ReferralQuerySet:
        """Waitlisted referrals, longest waiting first."""
        return self.filter(stage=Stage.WAITLISTED).order_by("waitlisted_at", "id")

    def delete(self):
        raise NeverDeleted("Referrals are closed, never removed.")


class Referral(TimeStampedModel):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="referrals")
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="referrals")
    source = models.CharField(max_length=30, choices=ReferralSource.choices)
    source_detail = models.CharField(
        "Referred by", max_length=200, blank=True, help_text="The referring person or organisation, if any."
    )
    received_on = models.DateField("Date received")
    reason = models.TextField("Reason for referral")
    stage = models.CharField(max_length=30, choices=Stage.choices, default=Stage.RECEIVED)
    stage_changed_at = models.DateTimeField(default=timezone.now)
    waitlisted_at = models.DateTimeField(null=True, blank=True)
    episode = models.OneToOneField(Episode, null=True, blank=True, on_delete=models.PROTECT, related_name="referral")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    objects = ReferralQuerySet.as_manager()

    class Meta:
        ordering = ["-received_on", "-id"]
        indexes = [models.Index(fields=["site", "stage"], name="referral_site_stage_idx")]
        constraints = [
            models.CheckConstraint(
                condition=Q(stage="waitlisted", waitlisted_at__isnull=False) | ~Q(stage="waitlisted"),
                name="referral_waitlisted_has_time",
            ),
        ]

    def __str__(self) -> str:
        return f"Referral received {self.received_on:%Y-%m-%d} ({self.get_stage_display()})"

    def delete(self, *args, **kwargs):
        raise NeverDeleted("Referrals are closed, never removed.")

    @property
    def is_open(self) -> bool:
        return self.stage not in TERMINAL

    @property
    def allowed_stages(self) -> list[str]:
        """The stages this referral may move to, in pipeline order."""
        moves = TRANSITIONS.get(self.stage, frozenset())
        return [s for s in Stage.values if s in moves]

    def days_since_referral(self, today: date) -> int:
        return (today - self.received_on).days


class ReferralEvent(models.Model):
    """One step of a referral's history: who moved it, from where to where, and when."""

    referral = models.ForeignKey(Referral, on_delete=models.PROTECT, related_name="events")
    from_stage = models.CharField(max_length=30, choices=Stage.choices, blank=True)
    to_stage = models.CharField(max_length=30, choices=Stage.choices)
    at = models.DateTimeField(default=timezone.now)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.from_stage or 'new'} → {self.to_stage}"


# --- Part 2 consents ------------------------------------------------------------------------------


class ConsentKind(models.TextChoices):
    STANDARD = "standard", "Standard consent (named recipients)"
    TPO = "tpo", "Single consent for treatment, payment and health care operations (TPO)"
    COUNSELLING_NOTES = "counselling_notes", "SUD counselling notes (separate consent)"


class InfoCategory(models.TextChoices):
    ATTENDANCE = "attendance", "Attendance only"
    DIAGNOSIS = "diagnosis", "Diagnosis"
    ASSESSMENTS = "assessments", "Assessments"
    TOXICOLOGY = "toxicology", "Toxicology results"
    TREATMENT_PLAN = "treatment_plan", "Treatment plan"
    PROGRESS_NOTES = "progress_notes", "Progress notes"
    ALL_SUD_RECORDS = "all_sud_records", "All SUD treatment records"
    COUNSELLING_NOTES = "sud_counselling_notes", "SUD counselling notes"


class Purpose(models.TextChoices):
    TREATMENT = "treatment", "Treatment"
    PAYMENT = "payment", "Payment"
    OPERATIONS = "operations", "Health care operations"
    PATIENT_REQUEST = "patient_request", "At the request of the patient"
    CARE_COORDINATION = "care_coordination", "Coordinating care with family or supports"
    LEGAL = "legal", "Court, probation or parole requirement"
    EMPLOYMENT = "employment", "Employment or return to work"
    OTHER = "other", "Other (described)"


TPO_PURPOSES = frozenset({Purpose.TREATMENT, Purpose.PAYMENT, Purpose.OPERATIONS})
TPO_PURPOSE_TEXT = "treatment, payment, and health care operations"
TPO_RECIPIENTS = "My treating providers, health plans, third-party payers, and people helping to operate this program"

# Statements shown to the signer and stored with each consent, so the record keeps the exact
# words the patient saw. The program's counsel should review them against the current eCFR.
REVOCATION_STATEMENT = (
    "I understand that I may revoke this consent at any time, in writing, by giving or sending a "
    "signed, dated request to the program, except to the extent that action has already been "
    "taken in reliance on it."
)
REDISCLOSURE_STATEMENT = (
    "I understand that information disclosed under this consent may be redisclosed by the "
    "recipient and may then no longer be protected by 42 CFR part 2."
)
REFUSAL_STATEMENT = (
    "I understand that I may refuse to sign this consent, and that the program will not condition "
    "my treatment on my signing it, except where the law allows."
)
TPO_REDISCLOSURE_STATEMENT = (
    "Where a recipient is a HIPAA covered entity or business associate, my records may be "
    "redisclosed as HIPAA permits, except for use in civil, criminal, administrative or "
    "legislative proceedings against me."
)
# Only where the program fundraises (settings.PROGRAM_FUNDRAISES), on consents for TPO.
FUNDRAISING_STATEMENT = (
    "I understand that the program may use my information to raise funds for the program, and that "
    "I have the right to opt out of receiving fundraising communications, now or at any time."
)


def is_tpo_use(kind: str, purposes) -> bool:
    """A consent for treatment, payment or health care operations: the single TPO consent, or any
    consent with a TPO purpose (its covered-entity recipients may redisclose as HIPAA permits)."""
    return kind == ConsentKind.TPO or bool(set(purposes or []) & TPO_PURPOSES)


class ExpiryEvent(models.TextChoices):
    """The event or condition that ends a consent (§2.31(a)(7)), besides or instead of a date."""

    END_OF_TREATMENT = "end_of_treatment", "At the end of treatment (discharge)"
    NONE = "none", "None: no expiry (TPO consents only)"
    OTHER = "other", "Another event or condition (described)"


# The earlier free-text answers that mean one of the choices (also mapped by migration 0007).
_END_OF_TREATMENT_WORDS = frozenset(
    {
        "end of treatment",
        "the end of treatment",
        "at the end of treatment",
        "at end of treatment",
        "end of treatment (discharge)",
        "until the end of treatment",
        "until end of treatment",
        "discharge",
        "at discharge",
        "upon discharge",
        "on discharge",
        "until discharge",
        "end_of_treatment",
    }
)
_NO_EXPIRY_WORDS = frozenset({"none", "no expiry", "no expiration", "never", "does not expire"})


def expiry_event_from_text(text: str) -> tuple[str, str]:
    """(choice, description) for an expiry event given as a choice or as free text.

    API clients and saved forms from before the choice send text: "End of treatment" or "none"
    become those choices, anything else is another event described in the patient's words."""
    text = " ".join((text or "").split())
    if text in ExpiryEvent.values or not text:
        return text, ""
    key = text.casefold().rstrip(".")
    if key in _END_OF_TREATMENT_WORDS:
        return ExpiryEvent.END_OF_TREATMENT, ""
    if key in _NO_EXPIRY_WORDS:
        return ExpiryEvent.NONE, ""
    return ExpiryEvent.OTHER, text[:200]


class SignedBy(models.TextChoices):
    PATIENT = "patient", "The patient"
    REPRESENTATIVE = "representative", "An authorized representative"


class RevocationMethod(models.TextChoices):
    LETTER = "letter", "Signed letter"
    FORM = "form", "Signed revocation form"
    ELECTRONIC = "electronic", "Signed electronic message (portal or secure email)"


class ConsentStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    EXPIRED = "expired", "Expired"
    REVOKED = "revoked", "Revoked"


class ConsentQuerySet(models.QuerySet["Consent"]):
    def active_on(self, day: date, *, zone=None) -> ConsentQuerySet:
        """Consents in force on ``day``: not revoked, not past their date, and (for those that end
        with treatment) not ended by a discharge (``Consent.treatment_ended_on``; the day of
        signing in ``zone``, the site's, default the current zone). As ``Consent.status_on``."""
        ended = Episode.objects.filter(
            Q(discharge_date__gte=OuterRef("signed_on_day")) | Q(updated_at__gte=OuterRef("created_at")),
            patient_id=OuterRef("patient_id"),
            discharge_date__isnull=False,
            discharge_date__lte=day,
        )
        return (
            self.filter(revoked_on__isnull=True)
            .filter(Q(expires_on__isnull=True) | Q(expires_on__gte=day))
            .alias(signed_on_day=TruncDate("signed_at", tzinfo=zone))
            .exclude(Q(expiry_event=ExpiryEvent.END_OF_TREATMENT) & Exists(ended))
        )

    def delete(self):
        raise NeverDeleted("Consents are revoked, never removed.")


class Consent(TimeStampedModel):
    """A 42 CFR §2.31 consent. Saved only with every required element; never deleted."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="consents")
    kind = models.CharField(max_length=20, choices=ConsentKind.choices, default=ConsentKind.STANDARD)
    disclosing_party = models.CharField(
        "Who may disclose",
        max_length=200,
        help_text="The program, or the named person or class of persons who may make the disclosure.",
    )
    categories = models.JSONField("Information to be disclosed", default=list)
    recipients = models.TextField(
        "Recipients", blank=True, help_text="One name, organisation or class of recipients per line."
    )
    purposes = models.JSONField("Purposes", default=list)
    purpose_detail = models.TextField("Purpose, described", blank=True)
    expires_on = models.DateField("Expires on", null=True, blank=True)
    expiry_event = models.CharField(
        "Expires on this event",
        max_length=20,
        choices=ExpiryEvent.choices,
        blank=True,
        help_text="End of treatment: the consent ends when the patient is discharged. None: only for a TPO consent.",
    )
    expiry_event_detail = models.CharField(
        "Event or condition, described",
        max_length=200,
        blank=True,
        help_text="For another event or condition: in the words of the consent.",
    )
    revocation_acknowledged = models.BooleanField(default=False)
    revocation_statement = models.TextField(blank=True)
    redisclosure_acknowledged = models.BooleanField(default=False)
    redisclosure_statement = models.TextField(blank=True)
    refusal_acknowledged = models.BooleanField(default=False)
    refusal_statement = models.TextField(blank=True)
    # Where the program fundraises, a TPO consent tells of the right to opt out (§2.31(a)(10)) and
    # records the patient's answer; both empty (None) where that does not apply.
    fundraising_statement = models.TextField(blank=True)
    fundraising_opt_out = models.BooleanField(
        "Opts out of fundraising communications",
        null=True,
        blank=True,
        help_text="Empty when the program does not fundraise or the consent is not for TPO.",
    )
    signed_by = models.CharField(max_length=20, choices=SignedBy.choices, default=SignedBy.PATIENT)
    representative_relationship = models.CharField(
        "Representative's authority",
        max_length=120,
        blank=True,
        help_text="For example: parent of a minor, legal guardian, health care agent.",
    )
    signer_name = models.CharField("Signature (typed full name)", max_length=150)
    signed_at = models.DateTimeField(null=True, blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    revoked_on = models.DateField(null=True, blank=True)
    revocation_method = models.CharField(max_length=20, choices=RevocationMethod.choices, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    objects = ConsentQuerySet.as_manager()

    class Meta:
        ordering = ["-signed_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(expires_on__isnull=False) | ~Q(expiry_event=""), name="consent_has_expiry"
            ),
            models.CheckConstraint(
                condition=Q(revocation_acknowledged=True, redisclosure_acknowledged=True, refusal_acknowledged=True),
                name="consent_statements_acknowledged",
            ),
            models.CheckConstraint(
                condition=Q(revoked_on__isnull=True) | ~Q(revocation_method=""), name="consent_revocation_method"
            ),
            models.CheckConstraint(
                condition=~Q(expiry_event=ExpiryEvent.OTHER) | ~Q(expiry_event_detail=""),
                name="consent_other_expiry_described",
            ),
            models.CheckConstraint(
                condition=Q(fundraising_statement="", fundraising_opt_out__isnull=True)
                | (~Q(fundraising_statement="") & Q(fundraising_opt_out__isnull=False)),
                name="consent_fundraising_choice_recorded",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} signed {self.signed_at:%Y-%m-%d}" if self.signed_at else "Consent"

    def delete(self, *args, **kwargs):
        raise NeverDeleted("Consents are revoked, never removed.")

    # -- status and scope --------------------------------------------------------------------

    @property
    def signed_on(self) -> date | None:
        """The day of signing in the patient's site zone."""
        if self.signed_at is None:
            return None
        return timezone.localtime(self.signed_at, self.patient.site.zone).date()

    def treatment_ended_on(self, day: date, *, episodes: Iterable[Episode] | None = None) -> date | None:
        """For a consent that ends with treatment: the discharge that ended it by ``day``, else None.

        The treatment it ends with is the one under way when it was signed, or the next one: an
        episode discharged on or after the day of signing, or whose discharge was recorded after
        the consent was (a discharge dated back to before the signing). Once that treatment ends
        the consent has expired for good: a re-admission is a new treatment, with a new consent.
        A consent signed between episodes (a returning patient at intake) lasts until the coming
        treatment ends. ``episodes`` are the patient's (``discharge_date`` and ``updated_at``)
        when the caller has read them; otherwise they are read here (or from a prefetch)."""
        if self.expiry_event != ExpiryEvent.END_OF_TREATMENT or self.signed_at is None:
            return None
        if episodes is None:
            episodes = self.patient.episodes.all()
        signed_on, recorded = self.signed_on, self.created_at
        ended = [
            e.discharge_date
            for e in episodes
            if e.discharge_date is not None
            and e.discharge_date <= day
            and (e.discharge_date >= signed_on or (recorded is not None and e.updated_at >= recorded))
        ]
        return min(ended) if ended else None

    def status_on(self, day: date, *, episodes: Iterable[Episode] | None = None) -> str:
        """Active, expired or revoked on ``day``. Expired: past ``expires_on``, or the expiry event
        "end of treatment" has happened (``treatment_ended_on``)."""
        if self.revoked_on is not None:
            return ConsentStatus.REVOKED
        if self.expiry_problem(day, episodes=episodes) is not None:
            return ConsentStatus.EXPIRED
        return ConsentStatus.ACTIVE

    def expiry_problem(self, day: date, *, episodes: Iterable[Episode] | None = None) -> str | None:
        """Why the consent has expired by ``day``, in staff's words, or None."""
        if self.expires_on is not None and day > self.expires_on:
            return f"expired on {self.expires_on:%Y-%m-%d}"
        ended = self.treatment_ended_on(day, episodes=episodes)
        if ended is not None:
            return f"expired at the end of treatment (the patient was discharged on {ended:%Y-%m-%d})"
        return None

    @property
    def status(self) -> str:
        """Active, expired or revoked, on today's date in the patient's site zone."""
        return self.status_on(site_today(self.patient.site))

    @property
    def expiry_description(self) -> str:
        """When the consent ends, as the consent says it: a date, an event, or both."""
        if self.expiry_event == ExpiryEvent.OTHER:
            event = self.expiry_event_detail
        elif self.expiry_event == ExpiryEvent.END_OF_TREATMENT:
            event = "at the end of treatment (discharge)"
        elif self.expiry_event == ExpiryEvent.NONE:
            event = "no expiry (TPO consent)"
        else:
            event = ""
        when = f"{self.expires_on:%Y-%m-%d}" if self.expires_on else ""
        text = f"{when}, or {event}, whichever comes first" if when and event else when or event
        return text[:1].upper() + text[1:]

    def facial_defects(self) -> list[str]:
        """The §2.31 elements this consent fails on its face (the model's own rules), [] if none.

        A row can reach the database without them (an import, the shell, a data fix, or rules
        that became stricter since it was signed); no disclosure may rest on it."""
        ruled: dict[str, list[str]] = {}
        try:
            self.clean()
        except ValidationError as exc:
            ruled = exc.message_dict
        try:
            self.clean_fields(exclude=["patient", "recorded_by", "revoked_by", *ruled])
        except ValidationError as exc:
            for name, messages in exc.message_dict.items():
                label = str(self._meta.get_field(name).verbose_name)
                ruled[name] = [f"{label[:1].upper()}{label[1:]}: {m}" for m in messages]
        return list(dict.fromkeys(m for messages in ruled.values() for m in messages))

    def get_status_display(self) -> str:
        return ConsentStatus(self.status).label

    @property
    def recipient_lines(self) -> list[str]:
        return _lines(self.recipients)

    @property
    def category_labels(self) -> list[str]:
        labels = dict(InfoCategory.choices)
        return [labels.get(c, c) for c in self.categories]

    @property
    def purpose_labels(self) -> list[str]:
        labels = dict(Purpose.choices)
        return [labels.get(p, p) for p in self.purposes]

    def covers_category(self, category: str) -> bool:
        if category in self.categories:
            return True
        # "All SUD records" never includes counselling notes: those need their own consent.
        return InfoCategory.ALL_SUD_RECORDS in self.categories and category != InfoCategory.COUNSELLING_NOTES

    def covers_recipient(self, recipient: str, *, purpose: str | None = None) -> bool:
        """A listed name or class matches (case-insensitive); a TPO consent's general
        description covers any recipient receiving for a TPO purpose."""
        if self.kind == ConsentKind.TPO and purpose in TPO_PURPOSES:
            return True
        wanted = " ".join((recipient or "").split()).casefold()
        return bool(wanted) and any(line.casefold() == wanted for line in self.recipient_lines)

    def covers_purpose(self, purpose: str) -> bool:
        return purpose in self.purposes

    # -- required elements (§2.31(a)) -------------------------------------------------------------

    def clean(self) -> None:
        super().clean()
        errors: dict[str, list[str]] = {}

        def add(field: str, message: str) -> None:
            errors.setdefault(field, []).append(message)

        self.disclosing_party = (self.disclosing_party or "").strip()
        self.signer_name = " ".join((self.signer_name or "").split())
        self.recipients = "\n".join(_lines(self.recipients))
        if not self.disclosing_party:
            add("disclosing_party", "Say who may make the disclosure (the program, or a named person or class).")

        categories = self.categories if isinstance(self.categories, list) else []
        if not isinstance(self.categories, list) or not categories:
            add("categories", "Choose at least one kind of information the patient agrees to release.")
        unknown = [c for c in categories if c not in InfoCategory.values]
        if unknown:
            add("categories", f"Unknown information categories: {', '.join(map(str, unknown))}.")
        elif self.kind == ConsentKind.COUNSELLING_NOTES and categories != [InfoCategory.COUNSELLING_NOTES]:
            add(
                "categories", "A counselling-notes consent covers SUD counselling notes only; record others separately."
            )
        elif self.kind != ConsentKind.COUNSELLING_NOTES and InfoCategory.COUNSELLING_NOTES in categories:
            add("categories", "SUD counselling notes need their own consent: choose the counselling-notes kind.")
        if len(set(categories)) != len(categories):
            add("categories", "Each category may be chosen once.")

        if not self.recipients:
            add("recipients", "Name the recipients, or describe the class of recipients.")

        purposes = self.purposes if isinstance(self.purposes, list) else []
        if not purposes:
            add("purposes", "Give the purpose of the disclosure.")
        elif any(p not in Purpose.values for p in purposes):
            add("purposes", "Unknown purpose.")
        elif self.kind == ConsentKind.TPO and not set(purposes) <= TPO_PURPOSES:
            add("purposes", "A TPO consent covers treatment, payment and health care operations only.")
        if Purpose.OTHER in purposes and not self.purpose_detail.strip():
            add("purpose_detail", "Describe the purpose.")

        self.expiry_event_detail = " ".join((self.expiry_event_detail or "").split())
        if self.expiry_event != ExpiryEvent.OTHER:
            self.expiry_event_detail = ""
        if self.expires_on is None and not self.expiry_event:
            add("expires_on", "Give an expiry date or an expiry event (for example, end of treatment).")
        elif self.expiry_event == ExpiryEvent.OTHER and not self.expiry_event_detail:
            add("expiry_event_detail", "Describe the event or condition that ends the consent.")
        elif self.expiry_event == ExpiryEvent.NONE and self.kind != ConsentKind.TPO:
            add(
                "expiry_event",
                "“None” as expiry is acceptable only for a single consent for treatment, payment and health care "
                "operations (TPO) (42 CFR §2.31(a)(7)): give an expiry date or event.",
            )
        elif self.expiry_event == ExpiryEvent.NONE and self.expires_on is not None:
            add("expires_on", "A consent with no expiry has no expiry date: choose one or the other.")
        if self.fundraising_statement.strip() and self.fundraising_opt_out is None:
            add(
                "fundraising_opt_out",
                "The program fundraises: record whether the patient opts out of fundraising communications "
                "(42 CFR §2.31(a)(10)).",
            )
        elif not self.fundraising_statement.strip() and self.fundraising_opt_out is not None:
            add("fundraising_opt_out", "The patient was not told of fundraising: leave the opt-out empty.")
        if not self.revocation_acknowledged or not self.revocation_statement.strip():
            add("revocation_acknowledged", "The patient must be told of the right to revoke in writing.")
        if not self.redisclosure_acknowledged or not self.redisclosure_statement.strip():
            add("redisclosure_acknowledged", "The patient must be told that redisclosed records may lose protection.")
        if not self.refusal_acknowledged or not self.refusal_statement.strip():
            add("refusal_acknowledged", "The patient must be told the consequences of refusing to sign.")

        if not self.signer_name:
            add("signer_name", "The consent must be signed: type the signer's full name.")
        if self.signed_at is None:
            add("signer_name", "The date of signing is missing.")
        if self.signed_by == SignedBy.REPRESENTATIVE and not self.representative_relationship.strip():
            add("representative_relationship", "Say what authority the representative signs with.")
        if self.signed_at and self.expires_on and self.expires_on < self.signed_at.date():
            add("expires_on", "The expiry date is before the date of signing.")
        if errors:
            raise ValidationError(errors)


# --- Support network ------------------------------------------------------------------------------


class Relationship(models.TextChoices):
    FAMILY = "family", "Family member"
    PARTNER = "partner", "Partner or spouse"
    SPONSOR = "sponsor", "Sponsor"
    PEER = "peer", "Peer support"
    FRIEND = "friend", "Friend"
    EMPLOYER = "employer", "Employer"
    OTHER = "other", "Other"


class SupportContactQuerySet(models.QuerySet["SupportContact"]):
    def active(self) -> SupportContactQuerySet:
        return self.filter(removed_at__isnull=True)

    def delete(self):
        raise NeverDeleted("Support contacts are removed from the list, never deleted.")


class SupportContact(TimeStampedModel):
    """A person in the patient's support network. Contacting them discloses that the
    patient is in treatment, so it is allowed only under a consent that names them."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="support_contacts")
    name = models.CharField(max_length=120)
    relationship = models.CharField(max_length=20, choices=Relationship.choices)
    phone = models.CharField(max_length=16, blank=True, validators=[validate_phone], help_text=PHONE_HELP)
    email = models.EmailField(blank=True)
    may_contact = models.BooleanField("Staff may contact this person", default=False)
    joins_family_sessions = models.BooleanField("Joins family sessions", default=False)
    consent = models.ForeignKey(
        Consent,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="support_contacts",
        help_text="The consent that names this person as a recipient.",
    )
    notes = models.TextField(blank=True)
    removed_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects = SupportContactQuerySet.as_manager()

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_relationship_display()})"

    def delete(self, *args, **kwargs):
        raise NeverDeleted("Support contacts are removed from the list, never deleted.")

    def clean(self) -> None:
        super().clean()
        self.name = " ".join((self.name or "").split())
        self.email = (self.email or "").strip().lower()
        try:
            self.phone = normalize_phone(self.phone)
        except ValidationError as exc:
            raise ValidationError({"phone": exc.messages}) from None
        if self.consent_id and self.patient_id and self.consent.patient_id != self.patient_id:
            raise ValidationError({"consent": "That consent belongs to another patient."})


# --- Disclosures --------------------------------------------------------------------------------


# The first notice version (also written by migration 0003). The long statement is left for the
# program to paste from the current eCFR text word for word: the product must not paraphrase it.
DEFAULT_PART2_NOTICE = {
    "title": "Notice accompanying disclosure (42 CFR §2.32)",
    "short_statement": "42 CFR part 2 prohibits unauthorized use or disclosure of these records.",
    "long_statement": (
        "[Program to complete before first use] Paste here, word for word, the full statement from the "
        "current eCFR text of 42 CFR §2.32 (“Notice and copy of consent to accompany disclosure”), then "
        "publish it as a new notice version. Until then each disclosure carries the abbreviated "
        "statement above, with a copy of the consent's scope."
    ),
    "effective_on": date(2024, 4, 16),
}


class Part2NoticeTemplate(models.Model):
    """The program's §2.32 notice, versioned: each disclosure records the version it carried."""

    version = models.PositiveIntegerField(unique=True)
    title = models.CharField(max_length=120, default="Notice accompanying disclosure (42 CFR §2.32)")
    short_statement = models.TextField(help_text="The abbreviated statement stamped on every page.")
    long_statement = models.TextField(help_text="The full mandated statement, copied from the current eCFR text.")
    effective_on = models.DateField()
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-version"]

    def __str__(self) -> str:
        return f"{self.title}, version {self.version}"

    def delete(self, *args, **kwargs):
        raise NeverDeleted("Notice versions are kept: disclosures refer to them.")

    @classmethod
    def current(cls, day: date | None = None) -> Part2NoticeTemplate | None:
        """The version in force on ``day``.

        A database with no notice at all (a fresh install, a restore, a reset) gets version 1,
        the abbreviated statement, so a disclosure never leaves without one. Once a program has
        versions of its own, only those are used.
        """
        day = day or timezone.localdate()
        notice = cls.objects.filter(effective_on__lte=day).order_by("-version").first()
        if notice is None and not cls.objects.exists():
            notice, _ = cls.objects.get_or_create(version=1, defaults=DEFAULT_PART2_NOTICE)
        return notice


class DisclosureChannel(models.TextChoices):
    PRINT = "print", "Printed and handed over"
    MAIL = "mail", "Post"
    FAX = "fax", "Fax"
    SECURE_EMAIL = "secure_email", "Secure email"
    ELECTRONIC = "electronic", "Electronic health record / exchange"
    IN_PERSON = "in_person", "Verbal, in person or by phone"


class LegalBasis(models.TextChoices):
    CONSENT = "consent", "Patient consent (§2.31)"
    MEDICAL_EMERGENCY = "medical_emergency", "Medical emergency (§2.51)"
    COURT_ORDER = "court_order", "Court order (§2.61–2.67)"


# The exceptions a disclosure without the patient's consent may rest on (DOMAIN.md §11).
NO_CONSENT_BASES = frozenset({LegalBasis.MEDICAL_EMERGENCY, LegalBasis.COURT_ORDER})


ACCOUNTING_YEARS = 3


def accounting_period_start(now: datetime, zone=None) -> datetime:
    """Where the accounting of disclosures (§2.25: the 3 years before the request) starts for a
    request at ``now``: the start of the same calendar day 3 years earlier, in ``zone`` (the
    site's; default the current zone).

    From 29 February that day does not exist; the period then starts on 28 February, the inclusive
    reading (one day more rather than one day less: a patient is never told of fewer
    disclosures than the rule asks for)."""
    today = timezone.localtime(now, zone).date()
    try:
        first = today.replace(year=today.year - ACCOUNTING_YEARS)
    except ValueError:  # 29 February
        first = today.replace(year=today.year - ACCOUNTING_YEARS, day=28)
    return datetime.combine(first, datetime.min.time(), tzinfo=zone or timezone.get_current_timezone())


class DisclosureQuerySet(models.QuerySet["Disclosure"]):
    def for_accounting(self, now=None, *, zone=None) -> DisclosureQuerySet:
        """Disclosures in the 3 years before ``now`` (§2.25 accounting; ``accounting_period_start``)."""
        return self.filter(disclosed_at__gte=accounting_period_start(now or timezone.now(), zone))

    def delete(self):
        raise NeverDeleted("The disclosure log is permanent.")


class Disclosure(models.Model):
    """One release of Part 2 records: the log row the accounting of disclosures is built from."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="disclosures")
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="disclosures")
    legal_basis = models.CharField(max_length=20, choices=LegalBasis.choices, default=LegalBasis.CONSENT)
    # Set exactly when the legal basis is the patient's consent.
    consent = models.ForeignKey(Consent, null=True, blank=True, on_delete=models.PROTECT, related_name="disclosures")
    recipient = models.CharField(max_length=200)
    # Medical emergency (§2.51(c)): the medical personnel's name is ``recipient``; their facility,
    # the nature of the emergency; who disclosed and when are ``disclosed_by``/``disclosed_at``.
    recipient_facility = models.CharField("Health care facility", max_length=200, blank=True)
    emergency_nature = models.TextField("Nature of the emergency", blank=True)
    # Court order (§2.61–2.67): which order authorised it.
    court_order_reference = models.CharField(
        "Court order", max_length=200, blank=True, help_text="Court, case or docket number, judge."
    )
    court_order_date = models.DateField("Date of the order", null=True, blank=True)
    purpose = models.CharField(max_length=30, choices=Purpose.choices)
    categories = models.JSONField(default=list)
    channel = models.CharField(max_length=20, choices=DisclosureChannel.choices)
    notice = models.ForeignKey(Part2NoticeTemplate, on_delete=models.PROTECT, related_name="disclosures")
    notes = models.TextField(blank=True)
    disclosed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    disclosed_at = models.DateTimeField(default=timezone.now)

    objects = DisclosureQuerySet.as_manager()

    class Meta:
        ordering = ["-disclosed_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(legal_basis=LegalBasis.CONSENT, consent__isnull=False)
                    | (~Q(legal_basis=LegalBasis.CONSENT) & Q(consent__isnull=True))
                ),
                name="disclosure_consent_iff_consent_basis",
            ),
            models.CheckConstraint(
                condition=~Q(legal_basis=LegalBasis.MEDICAL_EMERGENCY)
                | (~Q(recipient_facility="") & ~Q(emergency_nature="")),
                name="disclosure_emergency_documented",
            ),
            models.CheckConstraint(
                condition=~Q(legal_basis=LegalBasis.COURT_ORDER)
                | (~Q(court_order_reference="") & Q(court_order_date__isnull=False)),
                name="disclosure_court_order_documented",
            ),
        ]

    def __str__(self) -> str:
        return f"Disclosure on {self.disclosed_at:%Y-%m-%d}"

    @property
    def without_consent(self) -> bool:
        return self.legal_basis != LegalBasis.CONSENT

    def delete(self, *args, **kwargs):
        raise NeverDeleted("The disclosure log is permanent.")

    @property
    def category_labels(self) -> list[str]:
        labels = dict(InfoCategory.choices)
        return [labels.get(c, c) for c in self.categories]


# --- Break-glass emergency access (HIPAA §164.312(a)(2)(ii)) ----------------------------------------

# A reason that says what the emergency is, not "urgent" or "needed it".
EMERGENCY_REASON_MIN_LENGTH = 20


class ReviewOutcome(models.TextChoices):
    APPROPRIATE = "appropriate", "Appropriate"
    INAPPROPRIATE = "inappropriate", "Inappropriate"


class EmergencyAccessQuerySet(models.QuerySet["EmergencyAccess"]):
    def live(self, now=None) -> EmergencyAccessQuerySet:
        """Grants in force at ``now``: not ended early and not expired."""
        return self.filter(ended_at__isnull=True, expires_at__gt=now or timezone.now())

    def unreviewed(self) -> EmergencyAccessQuerySet:
        return self.filter(reviewed_at__isnull=True)

    def delete(self):
        raise NeverDeleted("Emergency accesses are part of the access record, never removed.")


class EmergencyAccess(models.Model):
    """One break-glass grant: ``user`` may read ``patient``'s chart (at a site where the user
    holds no role) from ``started_at`` until ``expires_at``, for ``reason``. Never a write.

    The patient's site's supervisors and directors are alerted and review it afterwards
    (``reviewed_*``); what was seen is in the audit trail, each event tagged with this grant.
    """

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="emergency_accesses")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="emergency_accesses")
    # The patient's site when access was granted: whose supervisors are alerted and review it.
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="emergency_accesses")
    reason = models.TextField()
    started_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True, help_text="Ended before it expired.")
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    review_outcome = models.CharField(max_length=20, choices=ReviewOutcome.choices, blank=True)
    review_note = models.TextField(blank=True)

    objects = EmergencyAccessQuerySet.as_manager()

    class Meta:
        ordering = ["-started_at", "-id"]
        verbose_name = "emergency access"
        verbose_name_plural = "emergency accesses"
        indexes = [
            models.Index(fields=["user", "expires_at"], name="emergency_user_expires_idx"),
            models.Index(fields=["site", "reviewed_at"], name="emergency_site_review_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(expires_at__gt=F("started_at")), name="emergency_access_expires_after_start"
            ),
            models.CheckConstraint(
                condition=Q(ended_at__isnull=True) | Q(ended_at__gte=F("started_at")),
                name="emergency_access_ends_after_start",
            ),
            models.CheckConstraint(
                condition=(
                    Q(reviewed_at__isnull=True, reviewed_by__isnull=True, review_outcome="")
                    | (Q(reviewed_at__isnull=False, reviewed_by__isnull=False) & ~Q(review_outcome=""))
                ),
                name="emergency_access_review_complete",
            ),
            models.CheckConstraint(
                condition=~Q(review_outcome=ReviewOutcome.INAPPROPRIATE) | ~Q(review_note=""),
                name="emergency_access_inappropriate_has_note",
            ),
        ]

    def __str__(self) -> str:
        return f"Emergency access on {self.started_at:%Y-%m-%d %H:%M}"

    def delete(self, *args, **kwargs):
        raise NeverDeleted("Emergency accesses are part of the access record, never removed.")

    def clean(self) -> None:
        super().clean()
        self.reason = (self.reason or "").strip()
        if len(self.reason) < EMERGENCY_REASON_MIN_LENGTH:
            raise ValidationError(
                {"reason": f"Say what the emergency is, in at least {EMERGENCY_REASON_MIN_LENGTH} characters."}
            )
        if self.patient_id and self.site_id and self.patient.site_id != self.site_id:
            raise ValidationError({"site": "The grant is recorded at the patient's site."})

    def is_live(self, now=None) -> bool:
        now = now or timezone.now()
        return self.ended_at is None and self.expires_at > now

    @property
    def closed_at(self):
        """When access stopped (or will stop): ended early, else the expiry."""
        return self.ended_at or self.expires_at
