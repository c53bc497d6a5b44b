"""The per-diem export: eligible days only (the minimum counts, one minute less does not), the
site's calendar day, the service code, the audit, and who may download it."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from django.test import override_settings
from django.urls import reverse

from audit.models import Action, AuditEvent
from reports.perdiem import per_diem_days
from users.models import Role
from users.roles import roles_with

from .world import build

URL = reverse("reports:per_diem")


@pytest.fixture
def world(site, other_site):
    return build(site, other_site)


def _rows(world, start=None, end=None):
    return list(per_diem_days(world.site.pk, start or world.M, end or world.M + timedelta(days=13)))


def test_only_days_reaching_the_minimum_are_billable(world):
    M, e = world.M, world.episodes
    got = {(r["patient__mrn"], r["day"]) for r in _rows(world)}
    expected = (
        {(e["E1"].patient.mrn, M + timedelta(days=d)) for d in (0, 2, 3, 7, 9)}
        | {(e["E2"].patient.mrn, M)}
        | {(e["E3"].patient.mrn, M + timedelta(days=d)) for d in (7, 9, 10)}
        | {(e["E4"].patient.mrn, M + timedelta(days=6))}
    )
    assert got == expected


def test_exactly_the_minimum_counts_and_one_minute_less_does_not(world):
    M, e = world.M, world.episodes
    rows = {(r["patient__mrn"], r["day"]): r["minutes"] for r in _rows(world)}
    assert rows[(e["E1"].patient.mrn, M)] == 180  # exactly PER_DIEM_MIN_MINUTES
    assert (e["E2"].patient.mrn, M + timedelta(days=3)) not in rows  # 179 minutes
    assert (e["E1"].patient.mrn, M + timedelta(days=10)) not in rows  # 150 minutes


@override_settings(PER_DIEM_MIN_MINUTES=179)
def test_the_minimum_comes_from_settings(world):
    rows = {(r["patient__mrn"], r["day"]) for r in _rows(world)}
    assert (world.episodes["E2"].patient.mrn, world.M + timedelta(days=3)) in rows


def test_an_evening_session_counts_on_the_sites_calendar_day(world):
    # Sunday 21:00 in New York is Monday in UTC; the billable day is the Sunday.
    e4 = world.episodes["E4"].patient.mrn
    assert [r["day"] for r in _rows(world) if r["patient__mrn"] == e4] == [world.M + timedelta(days=6)]


def test_the_range_is_inclusive(world):
    rows = _rows(world, start=world.M + timedelta(days=10), end=world.M + timedelta(days=10))
    assert [(r["patient__mrn"], r["day"]) for r in rows] == [
        (world.episodes["E3"].patient.mrn, world.M + timedelta(days=10))
    ]


def test_billing_export_belongs_to_supervisors_directors_and_site_admins():
    assert roles_with("billing.export") == {Role.SUPERVISOR, Role.DIRECTOR}


@pytest.mark.parametrize(
    ("role", "status"),
    [(Role.CLINICIAN, 403), (Role.INTAKE, 403), (Role.SUPERVISOR, 200), (Role.DIRECTOR, 200), (Role.SITE_ADMIN, 403)],
)
def test_role_matrix(client_as, role, status):
    assert client_as(role).get(URL).status_code == status


def test_the_download_has_the_rows_the_code_and_is_audited(world, client_as):
    client = client_as(Role.DIRECTOR)
    start, end = world.M, world.M + timedelta(days=13)
    response = client.get(f"{URL}?site={world.site.pk}&start={start:%Y-%m-%d}&end={end:%Y-%m-%d}&format=csv")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == ["MRN", "Date", "Attended minutes", "Service code", "Level of care"]
    assert len(rows) == 11
    e1 = world.episodes["E1"].patient.mrn
    assert [e1, start.isoformat(), "180", "H0015", "2.1"] in rows
    assert all(r[3] == "H0015" for r in rows[1:])
    event = AuditEvent.objects.get(action=Action.EXPORT, object_type="reports.PerDiem")
    assert event.changes["patients"] == 4 and event.changes["rows"] == 10
    assert event.site_id == world.site.pk


@override_settings(PER_DIEM_SERVICE_CODE="S9480")
def test_the_service_code_comes_from_settings(world, client_as):
    start, end = world.M, world.M + timedelta(days=1)
    response = client_as(Role.DIRECTOR).get(f"{URL}?start={start:%Y-%m-%d}&end={end:%Y-%m-%d}&format=csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert {r[3] for r in rows[1:]} == {"S9480"}


def test_another_sites_patients_never_appear(world, client_as):
    client = client_as(Role.DIRECTOR)
    start, end = world.M, world.M + timedelta(days=13)
    body = client.get(f"{URL}?start={start:%Y-%m-%d}&end={end:%Y-%m-%d}&format=csv").content.decode()
    assert world.episodes["E5"].patient.mrn not in body
    refused = client.get(f"{URL}?site={world.other_site.pk}&start={start:%Y-%m-%d}&format=csv")
    assert refused["Content-Type"].startswith("text/html") and "Select a valid choice" in refused.content.decode()
    assert not AuditEvent.objects.filter(action=Action.EXPORT, site=world.other_site).exists()
