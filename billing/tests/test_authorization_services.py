"""Recording authorizations and utilization reviews: every rule refuses with the message on the
field, overlapping periods of one payer are refused (and on PostgreSQL by the database too), the
clinical level of care is left alone, and every write is audited with before/after."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction

from audit.models import Action, AuditEvent
from billing import services
from billing.models import Authorization, NeverDeleted, PayerKind, UnitType, UtilizationReview
from patients.models import Episode, site_today

from .helpers import make_authorization, make_code, make_payer

pytestmark = pytest.mark.django_db


def _create(episode, payer, by, **changes):
    fields = {
        "payer": payer,
        "authorized_level": "2.1",
        "start_date": episode.admission_date,
        "end_date": episode.admission_date + timedelta(days=29),
        "units_authorized": 20,
        "reference_number": "REF-1",
    }
    return services.authorization_create(episode=episode, by=by, **{**fields, **changes})


def _refused(episode, payer, by, **changes) -> dict:
    with pytest.raises(ValidationError) as exc:
        _create(episode, payer, by, **changes)
    return exc.value.message_dict


def test_an_authorization_keeps_payer_level_dates_units_reference_and_care_manager(episode, payer, intake, h0015):
    auth = _create(
        episode,
        payer,
        intake,
        service_code=h0015,
        authorized_level="2.5",
        care_manager_name="Jordan Reviewer",
        care_manager_phone="800-555-0100 ext. 12",
        care_manager_email="um@example.com",
    )
    auth.refresh_from_db()
    assert (auth.payer, auth.service_code, auth.authorized_level, auth.units_authorized, auth.reference_number) == (
        payer,
        h0015,
        "2.5",
        20,
        "REF-1",
    )
    assert auth.site_id == episode.site_id and auth.created_by == intake
    assert auth.care_manager_phone == "800-555-0100 ext. 12"
    # The UR/billing level is the authorization's; the clinical level stays on the episode.
    assert Episode.objects.get(pk=episode.pk).level_of_care == "2.1"
    assert auth.units_used == 0


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"end_date": "start - 1"}, "end_date"),
        ({"units_authorized": -1}, "units_authorized"),
        ({"reference_number": "  "}, "reference_number"),
        ({"authorized_level": "9"}, "authorized_level"),
    ],
)
def test_bad_input_is_refused_on_its_field(episode, payer, intake, changes, field):
    if changes.get("end_date") == "start - 1":
        changes = {"end_date": episode.admission_date - timedelta(days=1)}
    assert field in _refused(episode, payer, intake, **changes)
    assert not Authorization.objects.exists()


def test_zero_units_are_allowed(episode, payer, intake):
    assert _create(episode, payer, intake, units_authorized=0).units_authorized == 0


def test_overlapping_authorizations_of_the_same_payer_are_refused(episode, payer, intake):
    first = _create(episode, payer, intake)
    errors = _refused(
        episode,
        payer,
        intake,
        reference_number="REF-2",
        start_date=first.end_date,
        end_date=first.end_date + timedelta(days=10),
    )
    assert "overlap authorization REF-1" in errors["start_date"][0]
    # The next day is fine, and so is another payer over the same days.
    _create(
        episode,
        payer,
        intake,
        reference_number="REF-2",
        start_date=first.end_date + timedelta(days=1),
        end_date=first.end_date + timedelta(days=10),
    )
    _create(episode, make_payer("Test Secondary"), intake, reference_number="SEC-1")


def test_a_payers_reference_is_recorded_once(episode, payer, intake, site):
    from scheduling.tests.factories import make_episode

    _create(episode, payer, intake)
    other = make_episode(site, admitted=episode.admission_date)
    assert "reference_number" in _refused(other, payer, intake, reference_number="ref-1")


def test_an_inactive_payer_or_code_takes_no_new_authorization(episode, payer, intake):
    payer.is_active = False
    payer.save(update_fields=["is_active"])
    assert "payer" in _refused(episode, payer, intake)
    active = make_payer()
    retired = make_code("H0015", modifier="HF", is_active=False)
    assert "service_code" in _refused(episode, active, intake, service_code=retired)


def test_the_authorized_code_must_be_a_per_diem_code(episode, payer, intake):
    group = make_code("90853", claim_type="professional", unit_type=UnitType.PER_SERVICE)
    assert "per-diem" in _refused(episode, payer, intake, service_code=group)["service_code"][0]


def test_an_s_code_is_refused_for_medicare(episode, intake):
    s9480 = make_code("S9480", revenue_code="0905")
    medicare = make_payer("Test Medicare", PayerKind.MEDICARE)
    assert "not valid for Medicare" in _refused(episode, medicare, intake, service_code=s9480)["service_code"][0]


def test_the_dates_must_touch_the_episode(episode, payer, intake):
    before = episode.admission_date - timedelta(days=30)
    errors = _refused(episode, payer, intake, start_date=before, end_date=before + timedelta(days=5))
    assert "after this authorization ends" in errors["end_date"][0]
    Episode.objects.filter(pk=episode.pk).update(
        discharge_date=episode.admission_date + timedelta(days=5), discharge_type="completed"
    )
    episode.refresh_from_db()
    later = episode.admission_date + timedelta(days=6)
    assert "start_date" in _refused(episode, payer, intake, start_date=later, end_date=later + timedelta(days=5))


def test_creation_is_audited_with_the_values(episode, payer, intake):
    auth = _create(episode, payer, intake)
    event = AuditEvent.objects.get(action=Action.CREATE, object_type="billing.Authorization")
    assert event.actor == intake and event.site_id == episode.site_id
    assert event.patient_ref == str(episode.patient.public_id)
    assert event.object_id == str(auth.public_id)
    assert event.changes["after"]["reference_number"] == "REF-1" and event.changes["before"] == {}


def test_an_update_extends_the_authorization_and_audits_only_what_changed(episode, payer, intake):
    auth = _create(episode, payer, intake)
    new_end = auth.end_date + timedelta(days=14)
    services.authorization_update(authorization=auth, by=intake, end_date=new_end, units_authorized=30)
    auth.refresh_from_db()
    assert (auth.end_date, auth.units_authorized) == (new_end, 30)
    event = AuditEvent.objects.get(action=Action.UPDATE, object_type="billing.Authorization")
    assert set(event.changes["after"]) == {"end_date", "units_authorized"}
    assert event.changes["before"]["units_authorized"] == 20
    services.authorization_update(authorization=auth, by=intake, units_authorized=30)  # nothing changed
    assert AuditEvent.objects.filter(action=Action.UPDATE, object_type="billing.Authorization").count() == 1


def test_an_update_that_would_overlap_is_refused(episode, payer, intake):
    first = _create(episode, payer, intake)
    second = _create(
        episode,
        payer,
        intake,
        reference_number="REF-2",
        start_date=first.end_date + timedelta(days=1),
        end_date=first.end_date + timedelta(days=10),
    )
    with pytest.raises(ValidationError) as exc:
        services.authorization_update(authorization=first, by=intake, end_date=second.start_date)
    assert "overlap authorization REF-2" in exc.value.message_dict["start_date"][0]
    first.refresh_from_db()
    assert first.end_date < second.start_date


@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL (exclusion constraint)")
def test_on_postgresql_the_database_refuses_overlapping_authorizations(episode, payer, intake):
    first = _create(episode, payer, intake)
    with pytest.raises(IntegrityError, match="billing_authorization_no_overlap"), transaction.atomic():
        Authorization.objects.create(
            site=episode.site,
            episode=episode,
            payer=payer,
            authorized_level="2.1",
            start_date=first.start_date,
            end_date=first.end_date,
            units_authorized=1,
            reference_number="RAW-1",
            created_by=intake,
        )


# --- utilization reviews ------------------------------------------------------------------------------


def _review(auth, by, **changes):
    today = site_today(auth.site)
    fields = {
        "review_date": today,
        "kind": "concurrent",
        "outcome": "approved",
        "next_review_date": today + timedelta(days=7),
        "reviewer": "Dr. Payer Reviewer",
    }
    return services.utilization_review_record(authorization=auth, by=by, **{**fields, **changes})


def test_reviews_build_the_history_and_are_audited(episode, payer, intake):
    auth = make_authorization(episode, payer, by=intake)
    first = _review(auth, intake, kind="initial", review_date=episode.admission_date)
    second = _review(auth, intake)
    assert list(auth.reviews.all()) == [second, first]
    event = AuditEvent.objects.filter(action=Action.CREATE, object_type="billing.UtilizationReview").first()
    assert event.changes["after"]["authorization"] == str(auth.public_id)
    with pytest.raises(NeverDeleted):
        second.delete()
    with pytest.raises(NeverDeleted):
        UtilizationReview.objects.all().delete()


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"review_date": "tomorrow"}, "review_date"),
        ({"next_review_date": "yesterday"}, "next_review_date"),
        ({"kind": "discharge"}, "next_review_date"),
        ({"reviewer": ""}, "reviewer"),
        ({"outcome": "maybe"}, "outcome"),
    ],
)
def test_a_bad_review_is_refused_on_its_field(episode, payer, intake, changes, field):
    auth = make_authorization(episode, payer, by=intake)
    today = site_today(auth.site)
    moved = {"tomorrow": today + timedelta(days=1), "yesterday": today - timedelta(days=1)}
    changes = {k: moved.get(v, v) if isinstance(v, str) else v for k, v in changes.items()}
    with pytest.raises(ValidationError) as exc:
        _review(auth, intake, **changes)
    assert field in exc.value.message_dict
    assert not UtilizationReview.objects.exists()


def test_a_discharge_review_ends_the_reviews(episode, payer, intake):
    auth = make_authorization(episode, payer, by=intake)
    review = _review(auth, intake, kind="discharge", next_review_date=None)
    assert review.next_review_date is None


def test_authorizations_are_never_deleted(episode, payer, intake):
    auth = make_authorization(episode, payer, by=intake)
    with pytest.raises(NeverDeleted):
        auth.delete()
    with pytest.raises(NeverDeleted):
        Authorization.objects.all().delete()


def test_an_authorization_keeps_its_payer_after_the_payer_is_deactivated(episode, payer, intake):
    auth = _create(episode, payer, intake)
    payer.is_active = False
    payer.save(update_fields=["is_active"])
    services.authorization_update(authorization=auth, by=intake, units_authorized=25)
    auth.refresh_from_db()
    assert (auth.payer_id, auth.units_authorized) == (payer.pk, 25)
