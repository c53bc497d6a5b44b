from django import forms

from .models import AlertAction


class AcknowledgeForm(forms.Form):
    action_taken = forms.ChoiceField(
        label="Action taken",
        choices=[("", "Choose the action taken…"), *AlertAction.choices],
        error_messages={"required": "Choose the action you took."},
    )
    action_note = forms.CharField(
        label="What you did",
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="Required. For example: who you spoke to, the plan agreed, the follow-up booked.",
        error_messages={"required": "Describe what you did (an alert is never dismissed without a note)."},
    )
