"""Input forms for the patient views. They check input shape only; the services and models
decide what may be saved and put their messages on these fields."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError

from users.models import Role, User

from .models import (
    EMERGENCY_REASON_MIN_LENGTH,
    FUNDRAISING_STATEMENT,
    LEVEL_CHOICES,
    REDISCLOSURE_STATEMENT,
    REFUSAL_STATEMENT,
    REVOCATION_STATEMENT,
    Consent,
    ConsentKind,
    DischargeType,
    DisclosureChannel,
    ExpiryEvent,
    InfoCategory,
    LegalBasis,
    LocEdition,
    Patient,
    Purpose,
    ReferralSource,
    ReviewOutcome,
    RevocationMethod,
    SignedBy,
    Stage,
    SupportContact,
)
from .services import PATIENT_FIELDS, SUPPORT_CONTACT_FIELDS
from .validators import PHONE_HELP, normalize_phone

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
TIME = forms.TimeInput(attrs={"type": "time"}, format="%H:%M")


class PhoneField(forms.CharField):
    """A phone number, normalised to E.164; a clear message when it is not a number."""

    widget = forms.TextInput(attrs={"type": "tel", "autocomplete": "off"})

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("max_length", 30)
        kwargs.setdefault("help_text", PHONE_HELP)
        super().__init__(**kwargs)

    def clean(self, value):
        return normalize_phone(super().clean(value))


def counselors_at(site) -> forms.ModelChoiceField:
    staff = User.objects.filter(
        memberships__site=site,
        memberships__is_active=True,
        memberships__role__in=[Role.CLINICIAN, Role.SUPERVISOR],
    ).distinct()
    return forms.ModelChoiceField(
        queryset=staff, required=False, empty_label="Not assigned yet", label="Primary counselor"
    )


class PatientForm(forms.ModelForm):
    phone = PhoneField()
    emergency_contact_phone = PhoneField(label="Emergency contact phone")
    sms_number = PhoneField(
        label="Number agreed for texts",
        help_text="The exact number the patient agreed to. A new number needs a new opt-in date and source.",
    )
    confidential_phone = PhoneField(
        label="Confidential phone or text number",
        help_text="Call or text only this number (confidential communications). Texts also need the text opt-in "
        "for this exact number.",
    )
    confirm_different_person = forms.BooleanField(
        required=False,
        widget=forms.HiddenInput,
        label="I checked the records above: this is a different person. Register anyway.",
    )

    class Meta:
        model = Patient
        fields = PATIENT_FIELDS
        widgets = {
            "date_of_birth": DATE,
            "sms_opt_in_on": DATE,
            "email_opt_in_on": DATE,
            "safe_hours_start": TIME,
            "safe_hours_end": TIME,
            "address": forms.Textarea(attrs={"rows": 3}),
            "confidential_contact": forms.Textarea(attrs={"rows": 2}),
        }

    def __init__(self, *args, site, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["primary_counselor"] = counselors_at(site)
        self.fields["email"].widget.attrs["autocomplete"] = "off"

    def ask_to_confirm(self) -> None:
        """Show the "different person" checkbox (after a possible duplicate was found), first in
        the form: right under the warning, not below thirty other fields."""
        field = self.fields["confirm_different_person"]
        field.widget = forms.CheckboxInput()
        self.order_fields(["confirm_different_person"])


class SearchForm(forms.Form):
    q = forms.CharField(label="Name or MRN", required=False, max_length=120)
    date_of_birth = forms.DateField(label="Date of birth", required=False, widget=DATE)
    page = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)

    def clean(self):
        cleaned = super().clean()
        if not (cleaned.get("q") or "").strip() and not cleaned.get("date_of_birth"):
            raise ValidationError("Enter a name, an MRN or a date of birth.")
        if cleaned.get("q") and len(cleaned["q"].strip()) < 2:
            self.add_error("q", "Enter at least two characters.")
        return cleaned


class ReferralForm(forms.Form):
    source = forms.ChoiceField(choices=ReferralSource.choices)
    source_detail = forms.CharField(label="Referred by", required=False, max_length=200)
    received_on = forms.DateField(label="Date received", widget=DATE)
    reason = forms.CharField(label="Reason for referral", widget=forms.Textarea(attrs={"rows": 3}))


class AdvanceForm(forms.Form):
    to_stage = forms.ChoiceField(label="Move to", widget=forms.RadioSelect)
    note = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, stages: list[str], accept_any: bool = False, **kwargs):
        """Offers the allowed ``stages``; with ``accept_any`` (a submitted form) any stage passes
        here so that the service explains why a move is not allowed."""
        super().__init__(*args, **kwargs)
        labels = dict(Stage.choices)
        offered = Stage.values if accept_any else [s for s in stages if s != Stage.ADMITTED]
        self.fields["to_stage"].choices = [(s, labels[s]) for s in offered]


class AdmitForm(forms.Form):
    admission_date = forms.DateField(widget=DATE)
    level_of_care = forms.ChoiceField(label="Level of care at admission", choices=LEVEL_CHOICES, initial="2.1")
    level_of_care_edition = forms.ChoiceField(label="ASAM edition", choices=LocEdition.choices, initial="3")
    note = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, site, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["primary_counselor"] = counselors_at(site)


class DischargeForm(forms.Form):
    discharge_date = forms.DateField(widget=DATE)
    discharge_type = forms.ChoiceField(choices=[("", "Choose…"), *DischargeType.choices])
    summary = forms.CharField(label="Discharge summary", required=False, widget=forms.Textarea(attrs={"rows": 6}))


class ExpiryEventField(forms.ChoiceField):
    """The expiry event as a choice; the free text of the earlier form (a saved page, a script)
    is still accepted and the service maps it ("end of treatment", "none", or another event)."""

    def valid_value(self, value) -> bool:
        return super().valid_value(value) or len(str(value)) <= 200


class ConsentForm(forms.Form):
    """Every element is optional here so that the consent rules (model and service) name what
    is missing, field by field, in one place."""

    kind = forms.ChoiceField(choices=ConsentKind.choices, initial=ConsentKind.STANDARD, widget=forms.RadioSelect)
    disclosing_party = forms.CharField(label="Who may disclose", required=False, max_length=200)
    categories = forms.MultipleChoiceField(
        label="Information to be disclosed",
        choices=InfoCategory.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    recipients = forms.CharField(
        label="Recipients",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="One name, organisation or class per line. A TPO consent may leave this blank for the "
        "general description (treating providers, health plans, payers, program operations).",
    )
    purposes = forms.MultipleChoiceField(
        label="Purpose", choices=Purpose.choices, required=False, widget=forms.CheckboxSelectMultiple
    )
    purpose_detail = forms.CharField(label="Purpose, described", required=False, max_length=500)
    expires_on = forms.DateField(label="Expires on", required=False, widget=DATE)
    expiry_event = ExpiryEventField(
        label="…or expires on this event",
        required=False,
        choices=[("", "No event (the date above)"), *ExpiryEvent.choices],
        help_text="End of treatment: the consent ends when the patient is discharged. None: only for a TPO consent.",
    )
    expiry_event_detail = forms.CharField(
        label="The event or condition, described", required=False, max_length=200, help_text="For another event."
    )
    revocation_acknowledged = forms.BooleanField(required=False, label=REVOCATION_STATEMENT)
    redisclosure_acknowledged = forms.BooleanField(required=False, label=REDISCLOSURE_STATEMENT)
    refusal_acknowledged = forms.BooleanField(required=False, label=REFUSAL_STATEMENT)
    signed_by = forms.ChoiceField(choices=SignedBy.choices, initial=SignedBy.PATIENT, label="Signed by")
    representative_relationship = forms.CharField(label="Representative's authority", required=False, max_length=120)
    signer_name = forms.CharField(
        label="Signature: the signer types their full name",
        required=False,
        max_length=150,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    # Only where the program fundraises (PROGRAM_FUNDRAISES): a consent for treatment, payment or
    # operations then carries the statement and records the patient's answer.
    fundraising_opt_out = forms.BooleanField(
        label="The patient opts out of fundraising communications",
        required=False,
        help_text=f"Read to the patient on a consent for treatment, payment or operations: “{FUNDRAISING_STATEMENT}”",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not settings.PROGRAM_FUNDRAISES:
            del self.fields["fundraising_opt_out"]


class RevokeForm(forms.Form):
    revoked_on = forms.DateField(label="Date of the written revocation", widget=DATE)
    method = forms.ChoiceField(label="How it was received", choices=RevocationMethod.choices)


def consent_choice_label(consent: Consent) -> str:
    return f"{consent.get_kind_display()}, signed {consent.signed_at:%Y-%m-%d} ({consent.get_status_display()})"


class DisclosureForm(forms.Form):
    consent = forms.ModelChoiceField(
        queryset=Consent.objects.none(),
        required=False,
        empty_label="Find a covering consent on file",
        label="Under consent",
    )
    recipient = forms.CharField(max_length=200, help_text="As named on the consent.")
    purpose = forms.ChoiceField(choices=[("", "Choose…"), *Purpose.choices], required=False)
    categories = forms.MultipleChoiceField(
        label="Information released", choices=InfoCategory.choices, required=False, widget=forms.CheckboxSelectMultiple
    )
    channel = forms.ChoiceField(choices=[("", "Choose…"), *DisclosureChannel.choices], required=False)
    notes = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, consents, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["consent"]
        field.queryset = consents
        field.label_from_instance = consent_choice_label


class SupportContactForm(forms.ModelForm):
    phone = PhoneField()

    class Meta:
        model = SupportContact
        fields = SUPPORT_CONTACT_FIELDS
        widgets = {"notes": forms.Textarea(attrs={"rows": 2})}

    def __init__(self, *args, consents, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["consent"]
        field.queryset = consents
        field.label_from_instance = consent_choice_label
        field.empty_label = "No consent linked"


class ArchiveForm(forms.Form):
    reason = forms.CharField(
        label="Why is this record archived?",
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="For example: registered twice (the other record is P…), or a test record.",
    )


class EmergencyAccessForm(forms.Form):
    """Break-glass look-up: the exact MRN and the date of birth together, and the reason."""

    mrn = forms.CharField(
        label="MRN",
        max_length=20,
        required=False,
        help_text="Exactly as on the patient's record, for example P7K2M9QX4.",
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    date_of_birth = forms.DateField(required=False, widget=DATE)
    reason = forms.CharField(
        label="Reason for emergency access",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=(
            f"What is the emergency? At least {EMERGENCY_REASON_MIN_LENGTH} characters. It is shown on every page "
            "you open, recorded with each one, and reviewed by the supervisors and directors of the patient's site."
        ),
    )


class EmergencyReviewForm(forms.Form):
    outcome = forms.ChoiceField(
        label="Was this access appropriate?",
        choices=ReviewOutcome.choices,
        required=False,
        widget=forms.RadioSelect,
    )
    note = forms.CharField(
        label="Review note",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Required when the access was inappropriate: why, and what follows.",
    )


class NoConsentDisclosureForm(forms.Form):
    """A release without consent: the exception, and what that exception requires on record."""

    legal_basis = forms.ChoiceField(
        label="Legal basis",
        choices=[(b.value, b.label) for b in (LegalBasis.MEDICAL_EMERGENCY, LegalBasis.COURT_ORDER)],
        required=False,
        widget=forms.RadioSelect,
    )
    recipient = forms.CharField(
        max_length=200,
        required=False,
        help_text="Medical emergency: the name of the medical personnel. Court order: the recipient the order names.",
    )
    recipient_facility = forms.CharField(
        label="Health care facility (medical emergency)",
        max_length=200,
        required=False,
        help_text="Where the medical personnel work, for example the emergency department of a named hospital.",
    )
    emergency_nature = forms.CharField(
        label="Nature of the emergency (medical emergency)", required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    consent_unobtainable = forms.BooleanField(
        label="The patient's consent could not be obtained in time (medical emergency)", required=False
    )
    court_order_reference = forms.CharField(
        label="Court order reference (court order)",
        max_length=200,
        required=False,
        help_text="Court, case or docket number, and the judge.",
    )
    court_order_date = forms.DateField(label="Date of the order (court order)", required=False, widget=DATE)
    court_order_confirmed = forms.BooleanField(
        label="This is a court order under 42 CFR part 2 subpart E, not only a subpoena (court order)", required=False
    )
    categories = forms.MultipleChoiceField(
        label="Information released",
        # SUD counselling notes leave only under the patient's own consent for them.
        choices=[c for c in InfoCategory.choices if c[0] != InfoCategory.COUNSELLING_NOTES],
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Only what the emergency or the order needs.",
    )
    channel = forms.ChoiceField(choices=[("", "Choose…"), *DisclosureChannel.choices], required=False)
    disclosed_at = forms.DateTimeField(
        label="Date and time of the disclosure",
        required=False,
        input_formats=["%Y-%m-%dT%H:%M"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        help_text="In the site's time; leave empty for now. Log a disclosure as soon as it is made.",
    )
    notes = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
