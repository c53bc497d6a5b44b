"""A malformed environment variable stops start-up with a message naming it."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def start(**env) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_", "CELERY_", "CACHE_"))}
    clean.update(env)
    return subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=clean, capture_output=True, text=True, timeout=60
    )


@pytest.mark.parametrize(
    "name,value",
    [
        ("DJANGO_DEBUG", "maybe"),
        ("SESSION_IDLE_TIMEOUT_MINUTES", "fifteen"),
        ("SESSION_IDLE_TIMEOUT_MINUTES", "0"),
        ("DATABASE_URL", "notascheme://x"),
        ("DJANGO_TIME_ZONE", "Mars/Olympus"),
        ("DJANGO_ADMIN_URL", "/admin"),
    ],
)
def test_a_bad_value_stops_start_up_naming_the_variable(name, value):
    result = start(**{"DJANGO_DEBUG": "true", name: value})
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert name in result.stderr.splitlines()[-1]


def test_production_without_a_secret_refuses_to_start():
    result = start(DJANGO_DEBUG="false")
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr.splitlines()[-1]


def test_the_secret_can_come_from_a_file(tmp_path):
    secret = tmp_path / "secret"
    secret.write_text("x" * 60)
    result = start(DJANGO_DEBUG="false", DJANGO_SECRET_KEY_FILE=str(secret), DJANGO_ALLOWED_HOSTS="clinic.example.org")
    assert result.returncode == 0, result.stderr


def test_the_embedded_default_starts_with_no_environment():
    result = start()
    assert result.returncode == 0, result.stderr


def test_a_configured_database_without_a_secret_refuses_to_start():
    # DEBUG defaults off once DATABASE_URL is set, so a deployment must bring its own secret.
    result = start(DATABASE_URL="postgres://postgres@127.0.0.1:5432/clinic")
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr.splitlines()[-1]


def test_production_settings_pass_the_deploy_check():
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_", "CELERY_", "CACHE_"))}
    clean.update(
        DJANGO_DEBUG="false",
        DJANGO_SECRET_KEY="k3y-" + "Zq8#xV2!pL0@wR7$" * 5,
        DJANGO_ALLOWED_HOSTS="clinic.example.org",
        DJANGO_SECURE_PROXY_SSL_HEADER="true",
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
