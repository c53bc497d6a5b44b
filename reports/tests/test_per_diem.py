"""The per-diem export: eligible days only (the minimum counts, one minute less does not), the
site's calendar day, a signed treatment plan in effect that day, the documentation columns
(modalities, plan version), the service code from the payer's catalogue under an
authorization (else the setting), units used and the over-units flag, the audit, a fixed
number of queries, and who may download it."""

from __future__ import annotations

import csv
import io
from datetime import time, timedelta

import pytest
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from audit.models import Action, AuditEvent
from billing.models import ClaimType, PayerKind
from billing.tests.helpers import make_authorization, make_code, make_payer, make_rate, signed_plan
from plans.models import PlanStatus
from reports.perdiem import COLUMNS, per_diem_days, per_diem_lines
from sessions.tests.factories import make_session
from users.models import Role
from users.roles import roles_with

from .world import attend, build

URL = reverse("reports:per_diem")
OLD_COLUMNS = ["MRN", "Date", "Attended minutes", "Service code", "Level of care"]


@pytest.fixture
def bare_world(site, other_site):
    """The report data set, with no treatment plan yet."""
    return build(site, other_site)


@pytest.fixture
def world(bare_world):
    """The data set with a signed treatment plan for every episode, in effect from M."""
    for episode in bare_world.episodes.values():
        signed_plan(episode, bare_world.M)
    return bare_world


def _rows(world, start=None, end=None):
    return list(per_diem_days(world.site.pk, start or world.M, end or world.M + timedelta(days=13)))


def _days(world, key, rows=None):
    mrn = world.episodes[key].patient.mrn
    return [r["day"] for r in (rows if rows is not None else _rows(world)) if r["patient__mrn"] == mrn]


def _download(client, world, start=None, end=None, **params):
    start, end = start or world.M, end or world.M + timedelta(days=13)
    query = "&".join(f"{k}={v}" for k, v in {"start": f"{start:%Y-%m-%d}", "end": f"{end:%Y-%m-%d}", **params}.items())
    response = client.get(f"{URL}?{query}&format=csv")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv"), response
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    return rows[0], [dict(zip(rows[0], r, strict=True)) for r in rows[1:]]


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
    assert _days(world, "E4") == [world.M + timedelta(days=6)]


def test_the_range_is_inclusive(world):
    rows = _rows(world, start=world.M + timedelta(days=10), end=world.M + timedelta(days=10))
    assert [(r["patient__mrn"], r["day"]) for r in rows] == [
        (world.episodes["E3"].patient.mrn, world.M + timedelta(days=10))
    ]


# --- the individualized treatment plan (H0015's descriptor) ---------------------------------------------


def test_a_day_without_a_signed_treatment_plan_is_not_billable(bare_world):
    assert _rows(bare_world) == []


def test_a_day_before_the_plan_was_signed_is_not_billable_and_the_signing_day_is(bare_world):
    M = bare_world.M
    signed_plan(bare_world.episodes["E1"], M + timedelta(days=2))
    assert _days(bare_world, "E1") == [M + timedelta(days=d) for d in (2, 3, 7, 9)]
    assert _days(bare_world, "E2") == []


@pytest.mark.parametrize("status", [PlanStatus.DRAFT, PlanStatus.AWAITING_COSIGN])
def test_a_plan_not_yet_in_effect_does_not_make_a_day_billable(bare_world, status):
    signed_plan(bare_world.episodes["E1"], bare_world.M, status=status)
    assert _days(bare_world, "E1") == []


def test_each_day_shows_the_version_in_effect_that_day(bare_world):
    M, e1 = bare_world.M, bare_world.episodes["E1"]
    signed_plan(e1, M, version=1, status=PlanStatus.SUPERSEDED)
    signed_plan(e1, M + timedelta(days=7), version=2)
    rows = {r["day"]: (r["plan_version"], r["plan_signed_on"]) for r in _rows(bare_world) if r["episode_id"] == e1.pk}
    assert rows == {
        M: (1, M),
        M + timedelta(days=2): (1, M),
        M + timedelta(days=3): (1, M),
        M + timedelta(days=7): (2, M + timedelta(days=7)),
        M + timedelta(days=9): (2, M + timedelta(days=7)),
    }


def test_another_episodes_plan_does_not_count(bare_world):
    """E2's plan makes E2's days billable, never E1's."""
    signed_plan(bare_world.episodes["E2"], bare_world.M)
    assert _days(bare_world, "E1") == [] and _days(bare_world, "E2") == [bare_world.M]


# --- the documentation columns ------------------------------------------------------------------------


def test_columns_document_date_time_modalities_and_the_plan_and_keep_the_first_five():
    assert COLUMNS[:5] == OLD_COLUMNS
    assert {"Modalities", "Treatment plan version", "Treatment plan signed on"} <= set(COLUMNS)
    assert {"Authorization reference", "Units authorized", "Units used", "Flags", "Revenue code"} <= set(COLUMNS)


def test_the_modalities_are_the_kinds_of_sessions_attended_that_day(world):
    M, e1 = world.M, world.episodes["E1"]
    individual = make_session(world.site, day=M, at=time(14), minutes=30, kind="individual")
    attend(individual, e1, "present", 30)
    lines = {(x.mrn, x.day): x for x in per_diem_lines(world.site.pk, M, M + timedelta(days=13))}
    assert lines[(e1.patient.mrn, M)].modalities == ["group", "individual"]
    assert lines[(e1.patient.mrn, M)].minutes == 210
    assert lines[(e1.patient.mrn, M + timedelta(days=2))].modalities == ["group"]
    assert lines[(world.episodes["E4"].patient.mrn, M + timedelta(days=6))].modalities == ["individual"]


def test_the_download_has_the_rows_the_code_and_is_audited(world, client_as):
    client = client_as(Role.DIRECTOR)
    start = world.M
    header, rows = _download(client, world, site=world.site.pk)
    assert header == COLUMNS
    assert len(rows) == 10
    e1 = world.episodes["E1"].patient.mrn
    first = next(r for r in rows if r["MRN"] == e1 and r["Date"] == start.isoformat())
    assert [first[c] for c in OLD_COLUMNS] == [e1, start.isoformat(), "180", "H0015", "2.1"]
    assert first["Modalities"] == "group"
    assert (first["Treatment plan version"], first["Treatment plan signed on"]) == ("1", start.isoformat())
    assert first["Authorization reference"] == first["Units used"] == first["Flags"] == ""
    assert all(r["Service code"] == "H0015" for r in rows)
    event = AuditEvent.objects.get(action=Action.EXPORT, object_type="reports.PerDiem")
    assert event.changes["patients"] == 4 and event.changes["rows"] == 10
    assert event.changes["service_codes"] == ["H0015"] and event.changes["over_authorized_units"] == 0
    assert event.site_id == world.site.pk


def test_the_download_holds_no_names(world, client_as):
    client = client_as(Role.DIRECTOR)
    body = client.get(
        f"{URL}?start={world.M:%Y-%m-%d}&end={world.M + timedelta(days=13):%Y-%m-%d}&format=csv"
    ).content.decode()
    for episode in world.episodes.values():
        assert episode.patient.legal_last_name not in body
    assert world.staff.email not in body


@override_settings(PER_DIEM_SERVICE_CODE="S9480")
def test_the_service_code_comes_from_settings(world, client_as):
    _, rows = _download(client_as(Role.DIRECTOR), world, end=world.M + timedelta(days=1))
    assert {r["Service code"] for r in rows} == {"S9480"}


# --- authorizations: code from the payer's catalogue, units used, over-units flag ----------------------


@pytest.fixture
def medicaid(world):
    """A Medicaid payer paying H0015 (institutional, 0906) and E1 authorized for 3 units from M."""
    payer = make_payer("Test State Medicaid", PayerKind.MEDICAID)
    code = make_code("H0015", modifier="HF", minimum_minutes=180)
    make_rate(payer, code, rate="172.50", start=world.M - timedelta(days=100))
    auth = make_authorization(world.episodes["E1"], payer, start=world.M, days=30, units=3, reference_number="MCD-1")
    return payer, code, auth


def test_a_day_under_an_authorization_takes_the_payers_code_and_shows_the_reference(world, medicaid, client_as):
    _, rows = _download(client_as(Role.DIRECTOR), world)
    e1 = world.episodes["E1"].patient.mrn
    first = next(r for r in rows if r["MRN"] == e1 and r["Date"] == world.M.isoformat())
    assert (first["Service code"], first["Modifier"], first["Revenue code"], first["Rate"]) == (
        "H0015",
        "HF",
        "0906",
        "172.50",
    )
    assert (first["Payer"], first["Authorization reference"], first["Units authorized"], first["Units used"]) == (
        "Test State Medicaid",
        "MCD-1",
        "3",
        "1",
    )
    others = [r for r in rows if r["MRN"] != e1]
    assert others and all(r["Authorization reference"] == "" and r["Service code"] == "H0015" for r in others)


def test_days_beyond_the_authorized_units_are_flagged_not_dropped(world, medicaid, client_as):
    _, rows = _download(client_as(Role.DIRECTOR), world)
    e1 = [r for r in rows if r["MRN"] == world.episodes["E1"].patient.mrn]
    assert [r["Units used"] for r in e1] == ["1", "2", "3", "4", "5"]
    assert [bool(r["Flags"]) for r in e1] == [False, False, False, True, True]
    assert "over authorized units (4 of 3)" in e1[3]["Flags"]
    event = AuditEvent.objects.get(action=Action.EXPORT, object_type="reports.PerDiem")
    assert event.changes["over_authorized_units"] == 2 and event.changes["rows"] == 10


def test_units_used_count_from_the_authorizations_first_day_not_the_export_range(world, medicaid):
    lines = per_diem_lines(world.site.pk, world.M + timedelta(days=7), world.M + timedelta(days=13))
    e1 = [x for x in lines if x.episode_id == world.episodes["E1"].pk]
    assert [(x.day, x.units_used, x.over_units) for x in e1] == [
        (world.M + timedelta(days=7), 4, True),
        (world.M + timedelta(days=9), 5, True),
    ]


def test_a_day_outside_every_authorization_of_the_episode_is_flagged(world, client_as):
    payer = make_payer()
    make_authorization(world.episodes["E3"], payer, start=world.M + timedelta(days=7), days=3, units=10)
    _, rows = _download(client_as(Role.DIRECTOR), world)
    e3 = {r["Date"]: r for r in rows if r["MRN"] == world.episodes["E3"].patient.mrn}
    inside, outside = e3[(world.M + timedelta(days=9)).isoformat()], e3[(world.M + timedelta(days=10)).isoformat()]
    assert inside["Authorization reference"] and "no authorization covers" not in inside["Flags"]
    assert outside["Authorization reference"] == "" and "no authorization covers this day" in outside["Flags"]
    assert outside["Service code"] == "H0015"


def test_the_authorized_code_wins_over_the_rate_table_and_the_default_leads_among_several(world):
    payer = make_payer("Test Commercial", PayerKind.COMMERCIAL)
    s9480 = make_code("S9480", revenue_code="0905")
    h0015 = make_code("H0015")
    make_rate(payer, s9480, rate="300.00")
    make_rate(payer, h0015, rate="200.00")
    e1, e3 = world.episodes["E1"], world.episodes["E3"]
    make_authorization(e1, payer, start=world.M)
    make_authorization(e3, payer, start=world.M, service_code=s9480)
    lines = per_diem_lines(world.site.pk, world.M, world.M + timedelta(days=13))
    assert {(x.code, str(x.rate)) for x in lines if x.episode_id == e1.pk} == {("H0015", "200.00")}
    assert {(x.code, x.revenue_code, str(x.rate)) for x in lines if x.episode_id == e3.pk} == {
        ("S9480", "0905", "300.00")
    }


def test_a_covered_day_with_no_rate_on_file_is_flagged(world):
    payer = make_payer()
    make_authorization(world.episodes["E1"], payer, start=world.M)
    lines = [x for x in per_diem_lines(world.site.pk, world.M, world.M) if x.episode_id == world.episodes["E1"].pk]
    assert [(x.code, x.rate) for x in lines] == [("H0015", None)]
    assert "no rate on file for this payer and code" in lines[0].flags


def test_a_day_below_the_codes_minimum_is_flagged(world):
    payer = make_payer()
    code = make_code("H0015", claim_type=ClaimType.PROFESSIONAL, minimum_minutes=200)
    make_rate(payer, code)
    make_authorization(world.episodes["E1"], payer, start=world.M)
    line = next(x for x in per_diem_lines(world.site.pk, world.M, world.M) if x.episode_id == world.episodes["E1"].pk)
    assert line.flags == ["below the code's minimum minutes (200)"]


def test_the_query_count_does_not_grow_with_the_rows(world, medicaid, client_as):
    client = client_as(Role.DIRECTOR)
    one_day = f"{URL}?start={world.M:%Y-%m-%d}&end={world.M:%Y-%m-%d}&format=csv"
    two_weeks = f"{URL}?start={world.M:%Y-%m-%d}&end={world.M + timedelta(days=13):%Y-%m-%d}&format=csv"
    client.get(one_day)  # warm the session
    with CaptureQueriesContext(connection) as small:
        assert len(list(csv.reader(io.StringIO(client.get(one_day).content.decode())))) == 3
    with CaptureQueriesContext(connection) as large:
        assert len(list(csv.reader(io.StringIO(client.get(two_weeks).content.decode())))) == 11
    assert len(large.captured_queries) == len(small.captured_queries)


def test_billing_export_belongs_to_supervisors_directors_and_site_admins():
    assert roles_with("billing.export") == {Role.SUPERVISOR, Role.DIRECTOR}


@pytest.mark.parametrize(
    ("role", "status"),
    [(Role.CLINICIAN, 403), (Role.INTAKE, 403), (Role.SUPERVISOR, 200), (Role.DIRECTOR, 200), (Role.SITE_ADMIN, 403)],
)
def test_role_matrix(client_as, role, status):
    assert client_as(role).get(URL).status_code == status


def test_another_sites_patients_never_appear(world, client_as):
    client = client_as(Role.DIRECTOR)
    start, end = world.M, world.M + timedelta(days=13)
    body = client.get(f"{URL}?start={start:%Y-%m-%d}&end={end:%Y-%m-%d}&format=csv").content.decode()
    assert world.episodes["E5"].patient.mrn not in body
    refused = client.get(f"{URL}?site={world.other_site.pk}&start={start:%Y-%m-%d}&format=csv")
    assert refused["Content-Type"].startswith("text/html") and "Select a valid choice" in refused.content.decode()
    assert not AuditEvent.objects.filter(action=Action.EXPORT, site=world.other_site).exists()
