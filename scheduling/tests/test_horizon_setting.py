"""SCHEDULING_HORIZON_WEEKS: read from the environment (at least 1) and used by generation."""

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from scheduling.models import TherapySession

from .factories import make_track

ROOT = Path(__file__).resolve().parents[2]


def _setting(value: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_", "CELERY_", "CACHE_"))}
    env.update(DJANGO_DEBUG="true", SCHEDULING_HORIZON_WEEKS=value)
    code = "from django.conf import settings; print(settings.SCHEDULING_HORIZON_WEEKS)"
    return subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_horizon_comes_from_the_environment():
    result = _setting("6")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "6"


@pytest.mark.parametrize("value", ["0", "soon"])
def test_a_bad_horizon_stops_start_up_naming_it(value):
    result = _setting(value)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and "SCHEDULING_HORIZON_WEEKS" in result.stderr


@pytest.mark.django_db
def test_generation_reaches_the_configured_horizon(site, settings):
    settings.SCHEDULING_HORIZON_WEEKS = 2
    track = make_track(site, start_date=timezone.localdate(timezone=site.zone))
    last = TherapySession.objects.filter(track=track).order_by("-occurrence_date").first().occurrence_date
    today = timezone.localdate(timezone=site.zone)
    assert today + timedelta(weeks=1) < last <= today + timedelta(weeks=2)
