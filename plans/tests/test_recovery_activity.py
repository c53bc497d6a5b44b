"""Recovery activities are patient-reported and never count toward clinical IOP hours."""

from datetime import timedelta
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError

from patients.models import SupportContact, site_today
from plans import services
from plans.models import RecoveryActivity, RecoveryActivityType

pytestmark = pytest.mark.django_db


def test_a_meeting_is_logged_and_never_counts_as_clinical_minutes(patient, episode, counselor):
    sponsor = SupportContact.objects.create(patient=patient, name="Morgan Sponsor", relationship="sponsor")
    activity = services.recovery_activity_record(
        patient=patient,
        by=counselor,
        date=site_today(patient.site) - timedelta(days=1),
        activity_type=RecoveryActivityType.AA,
        duration_minutes=90,
        sponsor_contact=sponsor,
        note="Home group",
    )
    assert activity.episode == episode
    assert activity.duration_minutes == 90
    assert activity.clinical_minutes == 0
    assert "never count toward" in RecoveryActivity.__doc__


def test_nothing_sums_recovery_minutes_into_hours():
    # Only this module and its migration mention the reported duration: no roll-up reads it.
    root = Path(__file__).resolve().parents[2]
    offenders = []
    for path in root.glob("*/**/*.py"):
        if ".venv" in path.parts or "migrations" in path.parts or "tests" in path.parts:
            continue
        if path.name in {"models.py", "services.py", "forms.py"} and path.parent.name == "plans":
            continue
        if "duration_minutes" in path.read_text(errors="ignore") and "RecoveryActivity" in path.read_text(
            errors="ignore"
        ):
            offenders.append(str(path))
    assert offenders == []


def test_bad_input_is_refused(patient, episode, counselor, other_patient):
    today = site_today(patient.site)
    stranger = SupportContact.objects.create(patient=other_patient, name="Someone Else", relationship="sponsor")
    cases = [
        ({"date": today + timedelta(days=1), "activity_type": "na"}, "date"),
        ({"date": episode.admission_date - timedelta(days=1), "activity_type": "na"}, "date"),
        ({"date": today, "activity_type": "other"}, "type_detail"),
        ({"date": today, "activity_type": "na", "sponsor_contact": stranger}, "sponsor_contact"),
    ]
    for fields, field in cases:
        with pytest.raises(ValidationError) as exc:
            services.recovery_activity_record(patient=patient, by=counselor, **fields)
        assert field in exc.value.message_dict, fields
    assert not RecoveryActivity.objects.exists()
