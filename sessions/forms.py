"""Input validation for roll-call, notes, addenda, co-signing and outreach (rules live in services)."""

from __future__ import annotations

from datetime import datetime

from django import forms
from django.contrib.auth import get_user_model
from django.utils import timezone

from scheduling.forms import StaffMultipleChoiceField

from .models import (
    ENTRY_FIELDS,
    FORMAT_SECTIONS,
    AttendanceStatus,
    ContactChannel,
    ContactOutcome,
    FollowUpPolicy,
    GroupNoteEntry,
    NoteFormat,
)


def add_objectives_field(form: forms.Form, objectives) -> None:
    """Checkboxes for the patient's open plan objectives (the golden thread), when there are any."""
    form.objective_map = {str(o.public_id): o for o in objectives}
    if form.objective_map:
        form.fields["objectives"] = forms.MultipleChoiceField(
            label="Treatment-plan objectives addressed",
            required=False,
            choices=[(key, o.statement) for key, o in form.objective_map.items()],
            widget=forms.CheckboxSelectMultiple,
        )


def chosen_objectives(form: forms.Form) -> list | None:
    if "objectives" not in form.fields:
        return None
    return [form.objective_map[key] for key in form.cleaned_data.get("objectives", [])]


class SegmentedRadio(forms.RadioSelect):
    """Radio buttons the stylesheet shows as one row of large buttons (a tablet-sized target)."""

    def __init__(self, attrs=None, choices=()):
        super().__init__({"class": "seg-input", **(attrs or {})}, choices)


class RollCallRowForm(forms.Form):
    """One row of the roll. The prefix is the row's position (``r0``, ``r1`` …)."""

    patient = forms.UUIDField(widget=forms.HiddenInput)
    status = forms.ChoiceField(choices=AttendanceStatus.choices, widget=SegmentedRadio, required=False)
    minutes = forms.IntegerField(
        required=False,
        min_value=0,
        max_value=1440,
        widget=forms.NumberInput(attrs={"inputmode": "numeric", "class": "minutes"}),
    )
    late_cancel = forms.BooleanField(required=False, label="Late cancel")


class ProgressNoteForm(forms.Form):
    """The note's format and one text box per section of that format. ``version`` carries the
    draft's version the editor was opened at (optimistic locking)."""

    version = forms.IntegerField(widget=forms.HiddenInput)
    format = forms.ChoiceField(choices=NoteFormat.choices, label="Template")

    def __init__(self, *args, note_format: str, objectives=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.note_format = note_format
        add_objectives_field(self, objectives)
        for key, label in FORMAT_SECTIONS[note_format]:
            self.fields[f"section_{key}"] = forms.CharField(
                label=label, required=False, widget=forms.Textarea(attrs={"rows": 4})
            )

    def sections(self) -> dict[str, str]:
        return {key: self.cleaned_data.get(f"section_{key}", "") for key, _ in FORMAT_SECTIONS[self.note_format]}


class GroupNoteForm(forms.Form):
    """The shared part. ``staff`` are who may be named as facilitators (the site's active staff)."""

    version = forms.IntegerField(widget=forms.HiddenInput)
    topic = forms.CharField(max_length=160)
    curriculum_module = forms.CharField(max_length=160, required=False)
    facilitators = StaffMultipleChoiceField(
        queryset=get_user_model().objects.none(),
        required=False,
        label="Facilitator(s)",
        widget=forms.CheckboxSelectMultiple,
        help_text="At least one is needed to sign.",
    )
    # Marks a post from this form: with it, no facilitator ticked means none; a post without it
    # (an older form) leaves the facilitators as they are.
    facilitators_shown = forms.BooleanField(required=False, initial=True, widget=forms.HiddenInput)
    start_time = forms.TimeField(label="Started at", widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"))
    end_time = forms.TimeField(label="Ended at", widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"))
    interventions = forms.CharField(
        label="Interventions used",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="For example: CBT thought records, motivational interviewing, DBT distress-tolerance skills.",
    )

    def __init__(self, *args, staff=None, **kwargs):
        super().__init__(*args, **kwargs)
        if staff is not None:
            self.fields["facilitators"].queryset = staff

    def chosen_facilitators(self) -> list | None:
        """The facilitators to save, or None to leave them (see ``facilitators_shown``)."""
        if not self.cleaned_data.get("facilitators_shown"):
            return None
        return list(self.cleaned_data["facilitators"])


class GroupNoteEntryForm(forms.Form):
    """One attendee's part. The prefix is the entry's public id."""

    participation = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    response = forms.CharField(
        label="Response to the session", required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    progress = forms.CharField(
        label="Progress toward their objectives", required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    risk_observations = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Write “None observed” when there were none.",
    )

    def __init__(self, *args, objectives=(), **kwargs):
        super().__init__(*args, **kwargs)
        add_objectives_field(self, objectives)

    def values(self) -> dict:
        return {f: self.cleaned_data.get(f, "") for f in ENTRY_FIELDS} | {"objectives": chosen_objectives(self)}


class AddendumForm(forms.Form):
    reason = forms.CharField(
        max_length=200, help_text="Why the signed note needs this (e.g. late information, correction)."
    )
    text = forms.CharField(widget=forms.Textarea(attrs={"rows": 4}), label="Addendum")
    entry = forms.ModelChoiceField(
        queryset=GroupNoteEntry.objects.none(),
        required=False,
        label="About",
        empty_label="The shared part of the note",
    )

    def __init__(self, *args, entries=None, **kwargs):
        super().__init__(*args, **kwargs)
        if entries is None:
            del self.fields["entry"]
        else:
            self.fields["entry"].queryset = entries
            self.fields["entry"].label_from_instance = lambda e: f"{e.patient.display_name}'s part"


class CosignForm(forms.Form):
    comment = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}), label="Comment (optional)")


class ContactAttemptForm(forms.Form):
    attempted_at = forms.DateTimeField(
        label="When", widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
    )
    channel = forms.ChoiceField(choices=ContactChannel.choices)
    outcome = forms.ChoiceField(choices=ContactOutcome.choices)
    note = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, zone=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.zone = zone
        if not self.is_bound:
            self.initial.setdefault(
                "attempted_at", timezone.localtime(timezone.now(), zone).replace(second=0, microsecond=0)
            )

    def clean_attempted_at(self) -> datetime:
        value = self.cleaned_data["attempted_at"]
        # The browser sends wall-clock time: read it in the site's zone.
        if self.zone is not None:
            value = value.replace(tzinfo=None).replace(tzinfo=self.zone)
        return value


class FollowUpPolicyForm(forms.ModelForm):
    class Meta:
        model = FollowUpPolicy
        fields = [
            "consecutive_no_shows_for_review",
            "weekly_attendance_percent",
            "consecutive_absences_for_discharge_review",
            "days_without_contact",
            "outreach_attempts_for_discharge_review",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Added after the others: a form posted without it keeps the current value.
        self.fields["outreach_attempts_for_discharge_review"].required = False

    def clean_outreach_attempts_for_discharge_review(self):
        value = self.cleaned_data.get("outreach_attempts_for_discharge_review")
        return self.instance.outreach_attempts_for_discharge_review if value is None else value


class CosignRequirementForm(forms.Form):
    user = forms.ModelChoiceField(queryset=None, label="Staff member")
    required = forms.BooleanField(required=False, label="Notes need a supervisor's co-signature")
    reason = forms.CharField(max_length=120, required=False, help_text="For example: intern, pre-licensure.")

    def __init__(self, *args, staff=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["user"].queryset = staff
