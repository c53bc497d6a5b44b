"""The role matrix of every scheduling page: allowed 200 (or a redirect after a POST),
read-only 403, another site's member 404, anonymous to the sign-in page."""

import pytest
from django.urls import reverse

from users.models import Role

pytestmark = pytest.mark.django_db

C, S, D, IN, A = Role.CLINICIAN, Role.SUPERVISOR, Role.DIRECTOR, Role.INTAKE, Role.SITE_ADMIN


def _url(name, ctx):
    site_q = f"?site={ctx['site'].public_id}"
    return {
        "calendar": reverse("scheduling:calendar") + site_q,
        "my_day": reverse("scheduling:my_day") + site_q,
        "track_list": reverse("scheduling:track_list") + site_q,
        "track_create": reverse("scheduling:track_create") + site_q,
        "track_detail": reverse("scheduling:track_detail", args=[ctx["track"].public_id]),
        "track_edit": reverse("scheduling:track_edit", args=[ctx["track"].public_id]),
        "track_generate": reverse("scheduling:track_generate", args=[ctx["track"].public_id]),
        "enroll": reverse("scheduling:enroll", args=[ctx["track"].public_id]),
        "enrollment_change": reverse("scheduling:enrollment_change", args=[ctx["enrolled"].public_id]),
        "session_detail": reverse("scheduling:session_detail", args=[ctx["session"].public_id]),
        "session_move": reverse("scheduling:session_move", args=[ctx["session"].public_id]),
        "session_cancel": reverse("scheduling:session_cancel", args=[ctx["session"].public_id]),
        "session_book": reverse("scheduling:session_book") + site_q,
        "room_list": reverse("scheduling:room_list") + site_q,
        "room_edit": reverse("scheduling:room_edit", args=[ctx["room"].pk]),
        "closure_list": reverse("scheduling:closure_list") + site_q,
        "patient_schedule": reverse("scheduling:patient_schedule", args=[ctx["episode"].patient.public_id]),
        "patient_schedule_print": reverse("scheduling:patient_schedule_print", args=[ctx["episode"].patient.public_id]),
    }[name]


# view, method, allowed roles, a role that may see but not change (403) or None
CASES = [
    ("calendar", "get", [C, S, D, IN, A], None),
    ("my_day", "get", [C, S, D, IN, A], None),
    ("track_list", "get", [C, S, D, A], None),
    ("track_create", "get", [S, D, A], C),
    ("track_detail", "get", [C, S, D, A], None),
    ("track_edit", "get", [S, D, A], C),
    ("track_generate", "post", [S], C),
    ("enroll", "get", [C, S, IN], D),
    ("enrollment_change", "get", [C, S, IN], D),
    ("session_detail", "get", [C, S, D, A], None),
    ("session_move", "get", [C, S, IN], D),
    ("session_cancel", "post", [S], D),
    ("session_book", "get", [C, S, IN], D),
    ("room_list", "get", [C, S, A], None),
    ("room_edit", "get", [S, A], C),
    ("closure_list", "get", [C, D], None),
    ("patient_schedule", "get", [C, S, D, IN], None),
    ("patient_schedule_print", "get", [C, IN], None),
]


@pytest.fixture
def ctx(site, track, room, session, enrolled, episode):
    return {"site": site, "track": track, "room": room, "session": session, "enrolled": enrolled, "episode": episode}


@pytest.mark.parametrize(("view", "method", "allowed", "read_only"), CASES)
def test_role_matrix(view, method, allowed, read_only, ctx, matrix):
    url = _url(view, ctx)
    for role in allowed:
        response = getattr(matrix(role), method)(url)
        assert response.status_code == (302 if method == "post" else 200), (view, role, response.status_code)
    if read_only:
        assert getattr(matrix(read_only), method)(url).status_code == 403, view
    assert getattr(matrix("other"), method)(url).status_code == 404, view
    anonymous = getattr(matrix(None), method)(url)
    assert anonymous.status_code == 302 and "/accounts/login/" in anonymous["Location"], view


def test_a_site_admin_sees_no_patient_schedule(ctx, matrix):
    # A site admin holds no patient.view: patient pages answer 404 as for a stranger.
    assert matrix(A).get(_url("patient_schedule", ctx)).status_code == 404


def test_a_site_admin_sees_roster_counts_but_no_names(ctx, matrix):
    response = matrix(A).get(_url("session_detail", ctx))
    assert response.status_code == 200
    assert b"Quillfeather" not in response.content
    assert b"Quillfeather" in matrix(C).get(_url("session_detail", ctx)).content


def test_closure_delete_needs_schedule_manage(site, supervisor, matrix):
    from datetime import date

    from scheduling import services

    closure = services.closure_create(site=site, date=date(2026, 12, 25), reason="Holiday", by=supervisor)
    url = reverse("scheduling:closure_delete", args=[closure.pk])
    assert matrix(C).post(url).status_code == 403
    assert matrix("other").post(url).status_code == 404
    assert matrix(S).post(url).status_code == 302


def test_pages_showing_patient_data_are_not_cached(ctx, matrix):
    response = matrix(C).get(_url("my_day", ctx))
    assert "no-store" in response["Cache-Control"]
