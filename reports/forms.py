from __future__ import annotations

from datetime import date, timedelta

from django import forms

from scheduling.models import Track

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
DEFAULT_DAYS = 90
MAX_DAYS = 731


class RangeForm(forms.Form):
    start = forms.DateField(label="From", widget=DATE, required=False)
    end = forms.DateField(label="To", widget=DATE, required=False)

    def __init__(self, data, *, sites, today: date, **kwargs):
        super().__init__(data, **kwargs)
        self.today = today
        self.fields["site"] = forms.TypedChoiceField(
            label="Site",
            coerce=int,
            required=False,
            choices=self.site_choices(sites),
        )
        self.order_fields(["site", "start", "end"])

    def site_choices(self, sites) -> list[tuple]:
        return [(s.pk, s.name) for s in sites]

    def clean(self):
        cleaned = super().clean()
        end = cleaned.get("end") or self.today
        start = cleaned.get("start") or end - timedelta(days=DEFAULT_DAYS - 1)
        if start > end:
            self.add_error("start", "The start date is after the end date.")
        elif (end - start).days >= MAX_DAYS:
            self.add_error("start", "Choose a range of at most two years.")
        cleaned["start"], cleaned["end"] = start, end
        return cleaned


class DashboardFilterForm(RangeForm):
    """Site (one, or every site the user may report on), track and date range (last 90 days)."""

    def __init__(self, data, *, sites, today: date, **kwargs):
        super().__init__(data, sites=sites, today=today, **kwargs)
        tracks = (
            Track.objects.filter(site__in=[s.pk for s in sites]).select_related("site").order_by("site__name", "name")
        )
        self.fields["track"] = forms.TypedChoiceField(
            label="Track",
            coerce=int,
            required=False,
            empty_value=None,
            choices=[("", "All tracks")]
            + [(t.pk, f"{t.name} ({t.site.name})" if len(sites) > 1 else t.name) for t in tracks],
        )
        self.order_fields(["site", "track", "start", "end"])

    def site_choices(self, sites) -> list[tuple]:
        choices = [(s.pk, s.name) for s in sites]
        return [("", "All my sites")] + choices if len(choices) > 1 else choices


class PerDiemForm(RangeForm):
    """The site (one at a time: dates are that site's calendar days) and the date range."""
