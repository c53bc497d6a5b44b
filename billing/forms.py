"""Input forms for the authorization pages. They check input shape only; ``billing.services``
and the models decide what may be saved and put their messages on these fields."""

from __future__ import annotations

from django import forms
from django.db.models import Q

from patients.models import LEVEL_CHOICES

from .models import Payer, ReviewKind, ReviewOutcome, ServiceCode, UnitType

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class EpisodeChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        if obj.discharge_date:
            return f"Admitted {obj.admission_date:%Y-%m-%d}, discharged {obj.discharge_date:%Y-%m-%d}"
        return f"Admitted {obj.admission_date:%Y-%m-%d} (open)"


class AuthorizationForm(forms.Form):
    episode = EpisodeChoiceField(queryset=None, label="Episode of care", empty_label=None)
    payer = forms.ModelChoiceField(queryset=None, label="Payer")
    service_code = forms.ModelChoiceField(
        queryset=None,
        required=False,
        label="Service code",
        empty_label="The payer's per-diem code (from its rate table)",
    )
    authorized_level = forms.ChoiceField(
        choices=LEVEL_CHOICES,
        label="Authorized (UR/billing) level of care",
        help_text="The level the payer authorized. It may differ from the clinical level of care.",
    )
    start_date = forms.DateField(label="First authorized day", widget=DATE)
    end_date = forms.DateField(label="Last authorized day", widget=DATE)
    units_authorized = forms.IntegerField(
        label="Units authorized",
        min_value=0,
        help_text="Per-diem units (days). Units used are counted from attendance.",
    )
    reference_number = forms.CharField(label="Authorization reference", max_length=60)
    care_manager_name = forms.CharField(label="Care manager", max_length=150, required=False)
    care_manager_phone = forms.CharField(label="Care manager phone", max_length=40, required=False)
    care_manager_email = forms.EmailField(label="Care manager email", required=False)
    notes = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)

    def __init__(self, data=None, *, episodes, current=None, **kwargs):
        """``episodes``: the patient's episodes (creation only; an authorization keeps its
        episode). ``current``: the authorization being corrected, whose payer and code stay
        choosable even if they were deactivated since."""
        super().__init__(data, **kwargs)
        payers = Payer.objects.filter(is_active=True)
        codes = ServiceCode.objects.filter(is_active=True, unit_type=UnitType.PER_DIEM)
        if current is not None:
            payers = Payer.objects.filter(Q(is_active=True) | Q(pk=current.payer_id))
            if current.service_code_id:
                codes = ServiceCode.objects.filter(
                    Q(is_active=True, unit_type=UnitType.PER_DIEM) | Q(pk=current.service_code_id)
                )
            del self.fields["episode"]
        else:
            self.fields["episode"].queryset = episodes
        self.fields["payer"].queryset = payers.order_by("name")
        self.fields["service_code"].queryset = codes.order_by("code", "modifier", "claim_type")

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("start_date"), cleaned.get("end_date")
        if start and end and end < start:
            self.add_error("end_date", "The authorization cannot end before it starts.")
        return cleaned


class ReviewForm(forms.Form):
    review_date = forms.DateField(label="Review date", widget=DATE)
    kind = forms.ChoiceField(choices=ReviewKind.choices, label="Kind of review")
    outcome = forms.ChoiceField(choices=ReviewOutcome.choices)
    next_review_date = forms.DateField(label="Next review due", widget=DATE, required=False)
    reviewer = forms.CharField(
        label="Reviewer", max_length=150, help_text="The payer's reviewer who decided (name and credentials)."
    )
    notes = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)

    def clean(self):
        cleaned = super().clean()
        review, due = cleaned.get("review_date"), cleaned.get("next_review_date")
        if review and due and due < review:
            self.add_error("next_review_date", "The next review cannot be due before this one.")
        if cleaned.get("kind") == ReviewKind.DISCHARGE and due:
            self.add_error("next_review_date", "A discharge review ends the reviews: leave the next review date empty.")
        return cleaned
