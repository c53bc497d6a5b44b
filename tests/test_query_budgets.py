"""Query budgets of the hot pages (issue 11): bounded, and the same for small and for larger data.

Data comes from ``manage.py seed_scale`` at scale 0.004 — 2 tracks, so a 15-row roll-call (COPY, so PostgreSQL only); each page
is measured, the data behind it is then grown (1,000 attendance rows on one chart, 300 more
patients matching a search, a 15-row roll-call against an 8-row one, more sessions today), and
the page must cost the same number of queries again — an N+1 shows up as a difference.
"""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from audit.models import Action, AuditEvent
from patients.models import Patient
from scheduling.models import RosterAddition, TherapySession
from sessions.models import Attendance
from tests.fixtures import sign_in
from users.models import User

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]

# Upper bounds (queries per request, measured on the seeded data + a few of headroom).
BUDGET = {
    "my day": 20,
    "roll-call": 22,
    "chart": 24,
    "hours": 24,
    "search": 14,
    "caseload": 22,
}


@pytest.fixture
def seeded(settings, tmp_path):
    if connection.vendor != "postgresql":
        pytest.skip("seed_scale writes with PostgreSQL COPY")
    settings.DEBUG = False
    accounts = tmp_path / "bench.json"
    call_command(
        "seed_scale", "--scale", "0.004", "--weeks", "3", "--bench-accounts", "3",
        "--accounts", str(accounts), "--force", stdout=StringIO(),
    )  # fmt: skip
    return json.loads(accounts.read_text())


def _count(client, url, data=None) -> int:
    """Queries of one warm request: a GET, or a POST of ``data`` (a search form)."""

    def request():
        return client.get(url) if data is None else client.post(url, data)

    request()  # warm per-process caches (content types, site lookups)
    with CaptureQueriesContext(connection) as q:
        r = request()
    assert r.status_code == 200, (url, r.status_code)
    print(f"{url}: {len(q)} queries")
    return len(q)


def _login(client, account):
    sign_in(client, User.objects.get(pk=account["user_id"]))
    return client


def test_hot_pages_cost_bounded_queries_independent_of_data(seeded, client):
    clinician = seeded["clinician"][0]
    _login(client, clinician)

    # --- Roll-call: the 15-row bench session costs what a smaller one costs.
    sessions = sorted(clinician["sessions"], key=lambda s: s["roster"])
    big = sessions[-1]
    assert big["roster"] == 15, sessions  # 8 seats + 7 roster additions
    rollcall = f"/sessions/{big['public_id']}/rollcall/"
    n_big = _count(client, rollcall)
    assert n_big <= BUDGET["roll-call"]
    # The same session with its 7 roster additions removed: 8 rows, same number of queries.
    assert RosterAddition.objects.filter(session__public_id=big["public_id"]).delete()[0] == 7
    assert _count(client, rollcall) == n_big

    # --- My day, before and after more sessions today for this clinician.
    n_day = _count(client, "/schedule/my-day/")
    assert n_day <= BUDGET["my day"]

    # --- Chart and hours page of one patient, before and after 1,000 attendance rows.
    patient = Patient.objects.get(public_id=clinician["patients"][0])
    chart, hours = f"/patients/{patient.public_id}/", f"/sessions/patients/{patient.public_id}/hours/"
    n_chart, n_hours = _count(client, chart), _count(client, hours)
    assert n_chart <= BUDGET["chart"] and n_hours <= BUDGET["hours"]

    template = Attendance.objects.filter(patient=patient).select_related("session").order_by("-id").first()
    assert template is not None
    base = template.session
    facilitators = list(base.facilitators.all())
    new_sessions = []
    for i in range(1, 1001):
        s = TherapySession.objects.get(pk=base.pk)
        s.pk = None
        s.public_id = uuid.uuid4()
        s.series_key = None
        # Earlier the same day-of-week pattern shifted by minutes: distinct times, same episode day.
        s.starts_at = base.starts_at - timedelta(minutes=i)
        s.ends_at = base.ends_at - timedelta(minutes=i)
        new_sessions.append(s)
    TherapySession.objects.bulk_create(new_sessions, batch_size=500)
    through = TherapySession.facilitators.through
    through.objects.bulk_create(
        [through(therapysession_id=s.pk, user_id=f.pk) for s in new_sessions for f in facilitators], batch_size=1000
    )
    rows = []
    for s in new_sessions:
        a = Attendance.objects.get(pk=template.pk)
        a.pk = None
        a.public_id = uuid.uuid4()
        a.session_id = s.pk
        rows.append(a)
    Attendance.objects.bulk_create(rows, batch_size=500)
    assert Attendance.objects.filter(patient=patient).count() >= 1000
    assert _count(client, chart) == n_chart
    assert _count(client, hours) == n_hours

    # My day again: the clinician now facilitates 1,000 more sessions (on the base session's day).
    assert _count(client, "/schedule/my-day/") == n_day

    # --- Patient search, before and after 300 more patients matching the query.
    intake = seeded["intake"][0]
    client.logout()
    _login(client, intake)
    sample = Patient.objects.get(public_id=intake["patients"][0])
    # The search form POSTs its criteria (never in the URL); a GET only shows the empty form.
    query = {"q": sample.legal_last_name[:4]}
    n_search = _count(client, "/patients/", query)
    assert n_search <= BUDGET["search"]
    searched = AuditEvent.objects.filter(action=Action.SEARCH, actor_id=intake["user_id"]).latest("id")
    assert searched.changes["results"] >= 1
    clones = []
    for i in range(300):
        p = Patient.objects.get(pk=sample.pk)
        p.pk = None
        p.public_id = uuid.uuid4()
        p.mrn = f"QB{i:08d}"
        p.legal_first_name = f"Budget{i}"
        clones.append(p)
    Patient.objects.bulk_create(clones, batch_size=300)
    assert _count(client, "/patients/", query) == n_search

    # --- Caseload: the clinician's own patients, and the whole site for a supervisor.
    client.logout()
    _login(client, clinician)
    n_case = _count(client, "/reports/caseload/")
    assert n_case <= BUDGET["caseload"]
    supervisor = seeded["supervisor"][0]
    client.logout()
    _login(client, supervisor)
    n_site = _count(client, "/reports/caseload/?scope=site")
    assert n_site <= BUDGET["caseload"]
