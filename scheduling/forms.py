"""Input validation for scheduling pages; the rules themselves live in services and models."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from django import forms
from django.contrib.auth import get_user_model

from users.models import Membership, Site

from .models import ONE_OFF_KINDS, WEEKDAYS, AgeGroup, LevelOfCare, Room, SessionKind, Track, local_datetime
from .services import MAX_REPEAT_WEEKS, BlockSpec

TIME = forms.TimeInput(attrs={"type": "time"}, format="%H:%M")
DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


def staff_at(site: Site):
    ids = Membership.objects.active().filter(site=site).values("user_id")
    return get_user_model().objects.filter(pk__in=ids, is_active=True).order_by("full_name", "email")


def open_episodes_at(site: Site):
    from patients.models import Episode

    return (
        Episode.objects.open()
        .filter(site=site, patient__deleted_at__isnull=True)
        .select_related("patient")
        .order_by("patient__legal_last_name", "patient__legal_first_name")
    )


class EpisodeChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        return f"{obj.patient.display_name} ({obj.patient.mrn}), admitted {obj.admission_date:%Y-%m-%d}"


class StaffMultipleChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj) -> str:
        return obj.signature_name


class RoomForm(forms.ModelForm):
    class Meta:
        model = Room
        fields = ["name", "capacity", "is_active"]


class ClosureForm(forms.Form):
    date = forms.DateField(widget=DATE)
    reason = forms.CharField(max_length=120, help_text="Shown on the calendar, e.g. Thanksgiving.")


class TrackForm(forms.ModelForm):
    meeting_days = forms.TypedMultipleChoiceField(
        choices=WEEKDAYS, coerce=int, widget=forms.CheckboxSelectMultiple, help_text="IOP and PHP meet 3–5 days a week."
    )
    topics = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text="One topic per line; group sessions without a fixed title cycle through them in order.",
    )

    class Meta:
        model = Track
        fields = ["name", "level_of_care", "age_group", "meeting_days", "capacity", "start_date", "end_date", "topics"]
        widgets = {"start_date": DATE, "end_date": DATE}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial["topics"] = "\n".join(self.instance.topics or [])
            self.initial["meeting_days"] = self.instance.meeting_days
        self.fields["level_of_care"].choices = LevelOfCare.choices
        self.fields["age_group"].choices = AgeGroup.choices

    def clean_topics(self) -> list[str]:
        return [line.strip() for line in self.cleaned_data["topics"].splitlines() if line.strip()]

    def _post_clean(self):
        # The service validates the model together with its blocks; skip ModelForm's instance checks.
        pass

    def track_fields(self) -> dict:
        return {name: self.cleaned_data[name] for name in self.Meta.fields}


class BlockForm(forms.Form):
    id = forms.IntegerField(required=False, widget=forms.HiddenInput)
    weekday = forms.TypedChoiceField(
        choices=[("", "Every meeting day"), *WEEKDAYS], coerce=int, empty_value=None, required=False, label="Day"
    )
    start_time = forms.TimeField(widget=TIME, label="Starts")
    end_time = forms.TimeField(widget=TIME, label="Ends")
    kind = forms.ChoiceField(choices=SessionKind.choices, label="Session type")
    title = forms.CharField(max_length=120, required=False, label="Fixed title")
    room = forms.ModelChoiceField(queryset=Room.objects.none(), required=False)
    facilitators = StaffMultipleChoiceField(queryset=get_user_model().objects.none(), required=False)

    def __init__(self, *args, site: Site, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["room"].queryset = Room.objects.filter(site=site, is_active=True)
        self.fields["facilitators"].queryset = staff_at(site)

    def has_changed(self) -> bool:
        # A browser always submits the session-type select ("Group therapy" on a spare block):
        # that alone does not make an untouched spare block count, or it would fail as required.
        return any(name != "kind" for name in self.changed_data)

    def spec(self) -> BlockSpec:
        data = self.cleaned_data
        return BlockSpec(
            id=data.get("id"),
            weekday=data.get("weekday"),
            start_time=data["start_time"],
            end_time=data["end_time"],
            kind=data["kind"],
            title=data.get("title", ""),
            room=data.get("room"),
            facilitators=list(data.get("facilitators") or []),
            delete=bool(data.get("DELETE")),
        )


BlockFormSet = forms.formset_factory(BlockForm, extra=2, can_delete=True)
# A new track must reach its level's weekly minimum in one go: room for a few blocks a day.
NewTrackBlockFormSet = forms.formset_factory(BlockForm, extra=4, can_delete=True)


def block_formset(site: Site, data=None, track: Track | None = None):
    initial = []
    if track is not None:
        for b in track.blocks.active().select_related("room").prefetch_related("facilitators"):
            initial.append(
                {
                    "id": b.pk,
                    "weekday": b.weekday,
                    "start_time": b.start_time,
                    "end_time": b.end_time,
                    "kind": b.kind,
                    "title": b.title,
                    "room": b.room,
                    "facilitators": list(b.facilitators.all()),
                }
            )
    formset = BlockFormSet if track is not None else NewTrackBlockFormSet
    return formset(data, initial=initial or None, prefix="blocks", form_kwargs={"site": site})


def block_specs(formset) -> list[BlockSpec]:
    return [f.spec() for f in formset.forms if f.has_changed() or f.cleaned_data.get("id")] if formset else []


TAPER_LABEL = "Transition taper (step-down weeks)"
TAPER_HELP = "Weeks below the level's hours are expected and not flagged as under-dosing. A clinician's decision."


class EnrollForm(forms.Form):
    episode = EpisodeChoiceField(
        queryset=None, label="Patient", help_text="Patients with an open episode at this site."
    )
    start_date = forms.DateField(widget=DATE)
    end_date = forms.DateField(widget=DATE, required=False)
    is_taper = forms.BooleanField(required=False, label=TAPER_LABEL, help_text=TAPER_HELP)

    def __init__(self, *args, site: Site, may_taper: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        if not may_taper:
            # Intake staff enroll; marking a taper is left to a counselor (the service refuses it too).
            del self.fields["is_taper"]
        from patients.models import Episode

        # Any episode of the site, so a discharged patient is told why, not just "invalid choice".
        self.fields["episode"].queryset = Episode.objects.filter(site=site).select_related("patient")
        self.fields["episode"].widget.choices = [("", "---------")] + [
            (e.pk, self.fields["episode"].label_from_instance(e)) for e in open_episodes_at(site)
        ]


class MoveEnrollmentForm(forms.Form):
    to_track = forms.ModelChoiceField(queryset=None, label="New track")
    on = forms.DateField(widget=DATE, label="From")

    def __init__(self, *args, site: Site, exclude: Track, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["to_track"].queryset = Track.objects.active().filter(site=site).exclude(pk=exclude.pk)


class TaperForm(forms.Form):
    is_taper = forms.BooleanField(required=False, label=TAPER_LABEL, help_text=TAPER_HELP)


class EndEnrollmentForm(forms.Form):
    end_date = forms.DateField(widget=DATE, label="Last day")
    reason = forms.CharField(max_length=120, required=False)


class MoveSessionForm(forms.Form):
    date = forms.DateField(widget=DATE)
    start_time = forms.TimeField(widget=TIME)
    end_time = forms.TimeField(widget=TIME)
    room = forms.ModelChoiceField(queryset=Room.objects.none(), required=False)
    facilitators = StaffMultipleChoiceField(queryset=get_user_model().objects.none(), required=False)
    note = forms.CharField(max_length=200, required=False, help_text="Shown on the calendar, e.g. why it moved.")

    def __init__(self, *args, site: Site, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["room"].queryset = Room.objects.filter(site=site, is_active=True)
        self.fields["facilitators"].queryset = staff_at(site)


class CancelSessionForm(forms.Form):
    note = forms.CharField(max_length=200, required=False, label="Reason")


class RosterAddForm(forms.Form):
    episode = EpisodeChoiceField(queryset=None, label="Patient")
    reason = forms.CharField(max_length=120, required=False)

    def __init__(self, *args, site: Site, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["episode"].queryset = open_episodes_at(site)


class BookSessionForm(forms.Form):
    kind = forms.ChoiceField(choices=[(k, SessionKind(k).label) for k in SessionKind.values if k in ONE_OFF_KINDS])
    episode = EpisodeChoiceField(queryset=None, label="Patient", required=False)
    day = forms.DateField(widget=DATE, label="Date")
    start_time = forms.TimeField(widget=TIME)
    end_time = forms.TimeField(widget=TIME)
    facilitators = StaffMultipleChoiceField(queryset=get_user_model().objects.none())
    room = forms.ModelChoiceField(queryset=Room.objects.none(), required=False)
    topic = forms.CharField(max_length=120, required=False)
    repeat_weeks = forms.IntegerField(
        min_value=1,
        max_value=MAX_REPEAT_WEEKS,
        initial=1,
        label="Weeks",
        help_text="1 for a one-off; more repeats weekly.",
    )

    def __init__(self, *args, site: Site, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["episode"].queryset = open_episodes_at(site)
        self.fields["room"].queryset = Room.objects.filter(site=site, is_active=True)
        self.fields["facilitators"].queryset = staff_at(site)


class AvailabilityForm(forms.Form):
    """Working hours on one weekday at the site (local time)."""

    weekday = forms.TypedChoiceField(choices=WEEKDAYS, coerce=int, label="Day")
    start_time = forms.TimeField(widget=TIME, label="From")
    end_time = forms.TimeField(widget=TIME, label="To")


class TimeOffForm(forms.Form):
    """A period away, entered as local dates with optional times (whole days when empty)."""

    start_date = forms.DateField(widget=DATE, label="First day")
    start_time = forms.TimeField(widget=TIME, required=False, label="From", help_text="Empty: the whole first day.")
    end_date = forms.DateField(widget=DATE, label="Last day")
    end_time = forms.TimeField(widget=TIME, required=False, label="Until", help_text="Empty: the whole last day.")
    reason = forms.CharField(
        max_length=120,
        required=False,
        help_text="Seen by supervisors and site admins, e.g. Vacation. No health details.",
    )

    def span(self, zone) -> tuple[datetime, datetime]:
        """The period as aware instants in ``zone`` (the site's), DST-correct."""
        data = self.cleaned_data
        starts_at = local_datetime(data["start_date"], data["start_time"] or time.min, zone)
        if data["end_time"] is None:
            ends_at = local_datetime(data["end_date"] + timedelta(days=1), time.min, zone)
        else:
            ends_at = local_datetime(data["end_date"], data["end_time"], zone)
        return starts_at, ends_at


class DeactivateTrackForm(forms.Form):
    reason = forms.CharField(max_length=120, required=False, help_text="Shown on each cancelled session.")


class CalendarForm(forms.Form):
    week = forms.DateField(required=False)
    by = forms.ChoiceField(
        choices=[("room", "Room"), ("facilitator", "Facilitator"), ("track", "Track")], required=False
    )
