"""The dashboard page: role matrix, filters, charts with tables, CSV exports (audited, no PHI)."""

from __future__ import annotations

import csv
import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from audit.models import Action, AuditEvent
from users.models import Role
from users.tests.factories import MembershipFactory

from .world import build

URL = reverse("reports:dashboard")


@pytest.fixture
def world(site, other_site):
    return build(site, other_site)


def _range(world) -> str:
    return f"start={world.start:%Y-%m-%d}&end={world.end:%Y-%m-%d}"


@pytest.mark.parametrize(
    ("role", "status"),
    [
        (Role.CLINICIAN, 403),
        (Role.INTAKE, 403),
        (Role.SUPERVISOR, 200),
        (Role.DIRECTOR, 200),
        (Role.SITE_ADMIN, 200),
    ],
)
def test_role_matrix(client_as, role, status):
    assert client_as(role).get(URL).status_code == status


def test_anonymous_is_sent_to_sign_in(client):
    assert client.get(URL).status_code == 302


def test_it_shows_the_measures_with_charts_and_tables(world, client_as):
    client = client_as(Role.DIRECTOR)
    response = client.get(f"{URL}?{_range(world)}")
    html = response.content.decode()
    assert response.status_code == 200
    assert "75.0 %" in html  # attendance
    assert "<svg" in html and 'role="img"' in html and "<desc" in html
    assert 'id="table-flow"' in html and 'id="table-funnel"' in html and 'id="table-outcomes"' in html
    # Aggregates only: no patient name or MRN.
    for episode in world.episodes.values():
        assert episode.patient.legal_last_name not in html
        assert episode.patient.mrn not in html


def test_the_default_range_is_the_last_90_days(world, client_as):
    html = client_as(Role.DIRECTOR).get(URL).content.decode()
    assert "Admissions and discharges per week" in html


def test_other_sites_never_appear(world, client_as):
    html = client_as(Role.DIRECTOR).get(f"{URL}?{_range(world)}").content.decode()
    assert "Elsewhere Test" not in html and "Other IOP" not in html


def test_a_site_the_user_does_not_report_on_is_refused_by_the_form(world, client_as):
    client = client_as(Role.DIRECTOR)
    response = client.get(f"{URL}?site={world.other_site.pk}&{_range(world)}")
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert "Elsewhere Test" not in response.content.decode()


def test_a_director_of_two_sites_may_see_both(world, client_as, make_staff):
    director = make_staff(Role.DIRECTOR)
    MembershipFactory(user=director, site=world.other_site, role=Role.DIRECTOR)
    client = client_as(user=director)
    html = client.get(f"{URL}?{_range(world)}").content.decode()
    assert "Elsewhere Test" in html  # the census lists both sites
    response = client.get(f"{URL}?site={world.other_site.pk}&{_range(world)}&format=csv&table=census")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == ["Site", "Track", "Level of care", "Open episodes"]
    assert rows[1:] == [["Elsewhere Test", "Other IOP", "2.1", "1"]]


def test_a_track_filter_narrows_the_measures(world, client_as):
    client = client_as(Role.SUPERVISOR)
    response = client.get(f"{URL}?{_range(world)}&track={world.track.pk}&format=csv&table=summary")
    rows = {r[0]: r[1:] for r in csv.reader(io.StringIO(response.content.decode()))}
    assert rows["Attendance rate (%)"] == ["73.3", "11 attended of 15 rostered"]


def test_every_table_downloads_as_csv_and_each_download_is_audited(world, client_as):
    client = client_as(Role.DIRECTOR)
    slugs = ["summary", "census", "flow", "funnel", "retention", "discharges", "outcomes", "toxicology", "overdue"]
    for slug in slugs:
        response = client.get(f"{URL}?{_range(world)}&format=csv&table={slug}")
        assert response.status_code == 200, slug
        assert response["Content-Type"].startswith("text/csv")
        assert "attachment" in response["Content-Disposition"]
    events = AuditEvent.objects.filter(action=Action.EXPORT, object_type="reports.Dashboard")
    assert sorted(events.values_list("object_id", flat=True)) == sorted(slugs)
    assert all(e.patient_ref == "" for e in events)


def test_the_retention_csv_holds_the_hand_computed_numbers(world, client_as):
    response = client_as(Role.DIRECTOR).get(f"{URL}?{_range(world)}&format=csv&table=retention")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows == [
        ["Week", "Admissions old enough", "Still engaged", "% engaged"],
        ["4", "4", "3", "75.0"],
        ["8", "4", "3", "75.0"],
        ["12", "4", "3", "75.0"],
    ]


def test_an_unknown_table_is_404(client_as):
    assert client_as(Role.DIRECTOR).get(f"{URL}?format=csv&table=nope").status_code == 404


def test_a_reversed_range_is_an_error_not_a_crash(client_as):
    response = client_as(Role.DIRECTOR).get(f"{URL}?start=2026-05-01&end=2026-04-01")
    assert response.status_code == 200 and "The start date is after the end date." in response.content.decode()


def test_the_page_query_count_does_not_grow_with_the_data(site, other_site, client_as):
    client = client_as(Role.DIRECTOR)
    client.get(URL)
    with CaptureQueriesContext(connection) as small:
        assert client.get(URL).status_code == 200
    for n in range(3):
        build(site, other_site, tag=f" {n}")
    with CaptureQueriesContext(connection) as large:
        assert client.get(URL).status_code == 200
    assert len(small) == len(large)
