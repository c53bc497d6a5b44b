"""Forms for the plan pages: input validation only; the services decide the rules."""

from __future__ import annotations

from django import forms

from patients.models import DischargeType
from users.models import Membership, Role, User

from .models import (
    ASAM_DIMENSIONS,
    AftercarePlan,
    AftercareReferral,
    FollowUpStatus,
    ObjectiveStatus,
    RecoveryActivity,
    RelapsePreventionPlan,
    TreatmentPlan,
    TriggerCategory,
    TriggerReason,
)
from .services import RP_PLAN_FIELDS, TREATMENT_PLAN_FIELDS

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


def _rows(n: int) -> forms.Textarea:
    return forms.Textarea(attrs={"rows": n})


class TreatmentPlanForm(forms.ModelForm):
    class Meta:
        model = TreatmentPlan
        fields = TREATMENT_PLAN_FIELDS
        widgets = {name: _rows(3) for name in TREATMENT_PLAN_FIELDS}


class ProblemForm(forms.Form):
    statement = forms.CharField(label="Problem statement", widget=_rows(2))
    dimensions = forms.TypedMultipleChoiceField(
        label="ASAM dimensions",
        coerce=int,
        choices=ASAM_DIMENSIONS,
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    diagnosis = forms.CharField(label="Diagnosis", required=False, max_length=200)
    icd10_code = forms.CharField(label="ICD-10 code", required=False, max_length=10, help_text="For example F10.20.")


class GoalForm(forms.Form):
    statement = forms.CharField(label="Goal, in the patient's words", widget=_rows(2))


class ObjectiveForm(forms.Form):
    statement = forms.CharField(label="Measurable objective", widget=_rows(2))
    # Not required here: the service explains why an objective needs a target date.
    target_date = forms.DateField(label="Target date", required=False, widget=DATE)
    status = forms.ChoiceField(choices=ObjectiveStatus.choices, initial=ObjectiveStatus.NOT_STARTED)


class InterventionForm(forms.Form):
    modality = forms.CharField(max_length=120, help_text="For example: CBT group, individual MI, family session.")
    frequency = forms.CharField(max_length=120, help_text="For example: 3 times a week.")
    responsible = forms.ModelChoiceField(label="Responsible staff", queryset=User.objects.none())

    def __init__(self, *args, site, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["responsible"].queryset = User.objects.filter(
            memberships__in=Membership.objects.active().filter(site=site, role__in=[Role.CLINICIAN, Role.SUPERVISOR])
        ).distinct()


class SignForm(forms.Form):
    patient_signed_name = forms.CharField(label="Patient's signature (typed full name)", required=False, max_length=150)
    patient_declined_reason = forms.CharField(label="Patient declined to sign because", required=False, widget=_rows(2))


class RelapsePreventionPlanForm(forms.ModelForm):
    naloxone_on_hand = forms.NullBooleanField(
        label="Naloxone on hand",
        required=False,
        widget=forms.NullBooleanSelect,
    )

    class Meta:
        model = RelapsePreventionPlan
        fields = RP_PLAN_FIELDS
        widgets = {
            "early_warning_signs": _rows(3),
            "cravings_plan": _rows(4),
            "healthy_routine": _rows(3),
            "meetings": _rows(2),
            "moud_details": _rows(2),
            "lapse_plan": _rows(4),
            "internal_note": _rows(2),
            "review_date": DATE,
        }


class RPTriggerForm(forms.Form):
    category = forms.ChoiceField(choices=TriggerCategory.choices)
    description = forms.CharField(label="Trigger or high-risk situation", widget=_rows(2))


class RPStrategyForm(forms.Form):
    trigger = forms.ModelChoiceField(label="Answers the trigger", queryset=None, required=False)
    strategy = forms.CharField(label="Coping strategy", widget=_rows(2))

    def __init__(self, *args, plan, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["trigger"].queryset = plan.triggers.all()
        self.fields["trigger"].label_from_instance = lambda t: f"{t.get_category_display()}: {t.description[:60]}"


class RPContactForm(forms.Form):
    contact = forms.ModelChoiceField(label="Support person", queryset=None)

    def __init__(self, *args, patient, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["contact"].queryset = patient.support_contacts.active()


class ReviewRequestForm(forms.Form):
    reason = forms.ChoiceField(
        label="Event",
        choices=[(v, label) for v, label in TriggerReason.choices if v != TriggerReason.RELAPSE],
    )
    note = forms.CharField(required=False, widget=_rows(2))


class RelapseForm(forms.Form):
    occurred_on = forms.DateField(label="Date of the relapse", required=False, widget=DATE)
    substance = forms.CharField(required=False, max_length=120)
    note = forms.CharField(required=False, widget=_rows(2))


class RecoveryActivityForm(forms.ModelForm):
    class Meta:
        model = RecoveryActivity
        fields = ["date", "activity_type", "type_detail", "duration_minutes", "sponsor_contact", "note"]
        widgets = {"date": DATE, "note": _rows(2)}

    def __init__(self, *args, patient, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["sponsor_contact"].queryset = patient.support_contacts.active()


class AftercareForm(forms.ModelForm):
    """Recommendations, how the patient can come back, and the letter to the patient (or why
    contact is not allowed): what an administrative discharge needs besides a referral."""

    class Meta:
        model = AftercarePlan
        fields = ["recommendations", "readmission_info", "patient_letter", "patient_letter_on", "no_contact_reason"]
        widgets = {
            "recommendations": _rows(4),
            "readmission_info": _rows(3),
            "patient_letter": _rows(6),
            "patient_letter_on": DATE,
            "no_contact_reason": _rows(2),
        }


class AftercareReferralForm(forms.ModelForm):
    class Meta:
        model = AftercareReferral
        fields = ["provider", "level", "appointment_on", "contact", "note"]
        widgets = {"appointment_on": DATE, "note": _rows(2)}


class FollowUpForm(forms.Form):
    status = forms.ChoiceField(
        label="Outcome",
        choices=[(FollowUpStatus.DONE, "Reached: check-in done"), (FollowUpStatus.UNABLE_TO_REACH, "Unable to reach")],
        widget=forms.RadioSelect,
    )
    outcome_note = forms.CharField(label="What happened", required=False, widget=_rows(3))


ADMINISTRATIVE_HELP = "Needed for an administrative discharge. Left blank, what the aftercare plan records is kept."


class DischargeSignForm(forms.Form):
    """The fields are ``plans.services.discharge_sign``'s arguments; it decides what each type
    of discharge needs (an administrative one: a referral, re-admission information, and a
    letter to the patient or why contact is not allowed)."""

    discharge_date = forms.DateField(widget=DATE)
    discharge_type = forms.ChoiceField(choices=[("", "Choose…"), *DischargeType.choices], required=False)
    summary = forms.CharField(
        label="Discharge summary",
        required=False,
        widget=forms.Textarea(attrs={"rows": 22}),
        help_text="Drafted from the record: check and edit it before signing.",
    )
    referral_provider = forms.CharField(
        label="Referred to (provider)",
        required=False,
        max_length=200,
        help_text="Adds an aftercare referral. An administrative discharge needs one (here or on the Aftercare page).",
    )
    referral_contact = forms.CharField(label="Provider contact", required=False, max_length=200)
    readmission_info = forms.CharField(
        label="Re-admission information",
        required=False,
        widget=_rows(3),
        help_text=f"How the patient can come back. {ADMINISTRATIVE_HELP}",
    )
    patient_letter = forms.CharField(
        label="Letter to the patient",
        required=False,
        widget=_rows(6),
        help_text=f"The letter sent or prepared (or give its date below). {ADMINISTRATIVE_HELP}",
    )
    patient_letter_on = forms.DateField(label="Letter sent or prepared on", required=False, widget=DATE)
    no_contact_reason = forms.CharField(
        label="Contact not allowed because",
        required=False,
        widget=_rows(2),
        help_text="Instead of a letter, when the patient may not be contacted.",
    )
