"""Forms for assessments, placements, toxicology and medications: input parsing only.

``InstrumentForm`` is built from ``instruments.INSTRUMENTS[code].items``: one radio group per
item (rendered as a fieldset with a legend), yes/no items as two radios, and a "Skipped (not
asked)" radio only where the instrument's skip logic allows a blank. Completeness, allowed
values and skip logic are enforced by ``instruments.score`` in the service; its per-item
errors come back onto the matching radio group.
"""

from __future__ import annotations

from django import forms
from django.utils import timezone

from . import placement as rules
from .instruments import Instrument
from .models import (
    NOTE_FIELDS,
    RATING_FIELDS,
    RULER_INSTRUMENT,
    AnalyteResult,
    Formulation,
    Medication,
    NaloxoneSupply,
    Placement,
    ResponseContext,
    RulerType,
    Specimen,
)

SKIPPED = ""

# Skip logic in words, per instrument and item field name (DOMAIN.md §4). Items listed here
# get a "Skipped (not asked)" choice; score() decides whether the blank is allowed.
SKIP_HELP: dict[str, dict[str, str]] = {
    "AUDIT": {
        **{
            f"item_{n}": "Interview version: skip when item 1 is Never (go to item 9); "
            + ("skip items 4-8 when items 2 and 3 are both 0." if n >= 4 else "skipped items score 0.")
            for n in range(2, 9)
        },
    },
    "C-SSRS": {
        "item_3": "Ask only if item 2 is Yes; if item 2 is No, leave as Skipped.",
        "item_4": "Ask only if item 2 is Yes; if item 2 is No, leave as Skipped.",
        "item_5": "Ask only if item 2 is Yes; if item 2 is No, leave as Skipped.",
        "item_6_recent": "Ask only if item 6 is Yes; if item 6 is No, leave as Skipped.",
    },
    "BAM": {
        "item_5": "Ask only if item 4 is more than 0 days; otherwise leave as Skipped.",
        **{
            f"item_7{letter}": "Ask only if item 6 is more than 0 days; otherwise leave as Skipped."
            for letter in "abcdefg"
        },
    },
}
INTRO: dict[str, str] = {
    "PHQ-9": "Over the last 2 weeks, how often has the patient been bothered by the following problems?",
    "GAD-7": "Over the last 2 weeks, how often has the patient been bothered by the following problems?",
    "AUDIT": "Past year. Items 9 and 10 score 0, 2 or 4.",
    "AUDIT-C": "Past year.",
    "DAST-10": "Past 12 months, drugs other than alcohol and tobacco. Item 3 scores for No.",
    "C-SSRS": "Since the last visit (or past month). Use the official wording when asking.",
    "BAM": "Past 30 days. Day counts are coded 0 / 1-3 / 4-8 / 9-15 / 16-30 days.",
    "URICA": "1 = strongly disagree … 5 = strongly agree.",
}


class InstrumentForm(forms.Form):
    context = forms.ChoiceField(label="Context", choices=ResponseContext.choices, initial=ResponseContext.AD_HOC)
    administered_at = forms.DateTimeField(
        label="Administered at",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        help_text="In the site's time zone. Defaults to now.",
        required=False,
    )

    def __init__(self, *args, definition: Instrument, zone=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.definition = definition
        if zone is not None:
            self.fields["administered_at"].initial = timezone.localtime(timezone.now(), zone).replace(
                second=0, microsecond=0
            )
        skip_help = SKIP_HELP.get(definition.code, {})
        self.item_fields: list[str] = []
        if definition.code == RULER_INSTRUMENT:
            # DOMAIN.md 4.10: the type of ruler is stored with the raw number (checked by the service).
            self.fields["ruler_type"] = forms.ChoiceField(
                label="Type of ruler",
                choices=RulerType.choices,
                widget=forms.RadioSelect,
                required=False,
                help_text="What the patient rated. Values are shown as a trend per type, never as a category.",
            )
            self.item_fields.append("ruler_type")
        for item in definition.items:
            name = item.field_name
            choices = [
                ("yes" if c.value is True else "no" if c.value is False else str(c.value), c.label)
                for c in item.choices
            ]
            if not item.yes_no:
                choices = [(value, f"{value}: {label}") for value, label in choices]
            help_parts = []
            if not item.scored:
                help_parts.append("Not scored.")
            if item.optional and name not in skip_help:
                help_parts.append("Optional.")
            if name in skip_help:
                help_parts.append(skip_help[name])
            if item.optional or name in skip_help:
                choices.append((SKIPPED, "Skipped (not asked)"))
            self.fields[name] = forms.ChoiceField(
                label=f"{item.number}. {item.label}",
                choices=choices,
                widget=forms.RadioSelect,
                required=False,
                help_text=" ".join(help_parts),
            )
            self.item_fields.append(name)

    @property
    def intro(self) -> str:
        return INTRO.get(self.definition.code, "")

    @property
    def ruler_type(self) -> str:
        return self.cleaned_data.get("ruler_type") or ""

    def item_bound_fields(self):
        return [self[name] for name in self.item_fields]

    def answers(self) -> list:
        """The answers in item order: ints, True/False, or None for a blank/skipped item."""
        values = []
        for item in self.definition.items:
            raw = self.cleaned_data.get(item.field_name, SKIPPED)
            if raw in (SKIPPED, None):
                values.append(None)
            elif item.yes_no:
                values.append(raw == "yes")
            else:
                values.append(int(raw))
        return values


RATING_CHOICES = [
    ("", "Not yet rated"),
    ("0", "0 No risk / stable"),
    ("1", "1 Mild"),
    ("2", "2 Moderate"),
    ("3", "3 Serious"),
    ("4", "4 Severe / imminent danger"),
]


class PlacementForm(forms.ModelForm):
    class Meta:
        model = Placement
        fields = [
            "placement_type",
            *[f for pair in zip(RATING_FIELDS, NOTE_FIELDS, strict=True) for f in pair],
            "imminent_danger",
            "actual_level",
            "override_reason",
            "override_note",
            "recovery_residence",
            "housing_plan",
        ]
        widgets = {name: forms.Textarea(attrs={"rows": 2}) for name in [*NOTE_FIELDS, "override_note", "housing_plan"]}
        help_texts = {
            "actual_level": (
                "The level decided. If it differs from the recommendation (or is plain 2.1 while a "
                "withdrawal step is attached), give a reason and a note."
            ),
            "override_reason": "Required when the actual level differs from the recommendation.",
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in RATING_FIELDS:
            self.fields[name] = forms.TypedChoiceField(
                label=self.fields[name].label,
                choices=RATING_CHOICES,
                coerce=int,
                empty_value=None,
                required=False,
            )
        self.fields["actual_level"].required = False
        self.fields["override_reason"].choices = [("", "No override"), *rules.OVERRIDE_REASONS]


class MedicationForm(forms.ModelForm):
    class Meta:
        model = Medication
        fields = [
            "name",
            "medication_class",
            "agent",
            "formulation",
            "dose",
            "start_date",
            "stop_date",
            "prescriber",
            "prescriber_name",
            "otp_name",
            "dispensed_or_prescribed",
            "notes",
        ]
        widgets = {
            "start_date": forms.DateInput(attrs={"type": "date"}),
            "stop_date": forms.DateInput(attrs={"type": "date"}),
            "notes": forms.Textarea(attrs={"rows": 2}),
        }

    def __init__(self, *args, prescribers=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["prescriber"].queryset = (
            prescribers if prescribers is not None else self.fields["prescriber"].queryset.none()
        )
        self.fields["prescriber"].label = "Prescriber on staff"
        self.fields["prescriber"].help_text = (
            "A prescriber on staff, or else an external prescriber's name below (exactly one). "
            "Methadone MOUD is dosed by an OTP: name the OTP instead."
        )
        self.fields["formulation"].choices = [("", "Not recorded"), *Formulation.choices]
        self.fields["dispensed_or_prescribed"].choices = [("", "Not naloxone"), *NaloxoneSupply.choices]


class SpecimenForm(forms.ModelForm):
    class Meta:
        model = Specimen
        fields = [
            "specimen_type",
            "collected_at",
            "observed",
            "forensic",
            "chain_of_custody_id",
            "creatinine",
            "specific_gravity",
            "ph",
            "nitrite",
            "foreign_substance",
        ]
        widgets = {"collected_at": forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")}
        help_texts = {
            "creatinine": "Urine validity: dilute below 20 mg/dL (with SG < 1.003); substituted below 2.",
            "specific_gravity": "For example 1.015.",
            "nitrite": "Adulterated at 500 µg/mL or more.",
            "ph": "Adulterated below 4 or at 11 and above.",
        }


class AnalyteResultForm(forms.ModelForm):
    class Meta:
        model = AnalyteResult
        fields = ["analyte", "analyte_other", "method", "result", "concentration", "cutoff", "unit", "loinc_code"]


class SpecimenReviewForm(forms.Form):
    discussed_with_patient = forms.TypedChoiceField(
        label="Discussed with the patient",
        choices=[("yes", "Yes"), ("no", "No")],
        coerce=lambda v: v == "yes",
        widget=forms.RadioSelect,
        error_messages={"required": "Say whether the result was discussed with the patient."},
    )
    clinical_response = forms.CharField(
        label="Clinical response",
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Use results therapeutically: for example, plan adjusted, MOUD dose reviewed, more support offered.",
        error_messages={"required": "Describe the clinical response."},
    )
