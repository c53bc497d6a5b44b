"""The catalogue, the rate tables and the payer refuse bad rows with the message on the field
(the admin shows it there); nothing billing keeps is deleted."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction

from billing.models import ClaimType, NeverDeleted, Payer, PayerKind, PayerRate, ServiceCode, UnitType

from .helpers import make_code, make_payer, make_rate

pytestmark = pytest.mark.django_db


def _errors(obj) -> dict:
    with pytest.raises(ValidationError) as exc:
        obj.full_clean()
    return exc.value.message_dict


def _code(**fields) -> ServiceCode:
    defaults = {
        "code": "H0015",
        "claim_type": ClaimType.INSTITUTIONAL,
        "revenue_code": "0906",
        "unit_type": UnitType.PER_DIEM,
        "description": "IOP per diem",
    }
    return ServiceCode(**{**defaults, **fields})


def test_a_catalogue_entry_holds_code_modifier_claim_type_revenue_code_unit_and_minimum():
    entry = make_code("h0015", modifier="hf", minimum_minutes=180)
    entry.refresh_from_db()
    assert (entry.code, entry.modifier, entry.claim_type, entry.revenue_code, entry.unit_type) == (
        "H0015",
        "HF",
        "institutional",
        "0906",
        "per_diem",
    )
    assert entry.minimum_minutes == 180 and entry.is_active


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"code": "H15"}, "code"),
        ({"code": "H00155"}, "code"),
        ({"modifier": "H"}, "modifier"),
        ({"revenue_code": "906"}, "revenue_code"),
        ({"revenue_code": ""}, "revenue_code"),  # institutional claims need one
        ({"claim_type": ClaimType.PROFESSIONAL}, "revenue_code"),  # professional claims have none
        ({"claim_type": ClaimType.PROFESSIONAL, "revenue_code": "", "condition_code": "92"}, "condition_code"),
        ({"unit_type": UnitType.TIME}, "unit_minutes"),
        ({"unit_minutes": 15}, "unit_minutes"),
    ],
)
def test_a_malformed_catalogue_entry_is_refused_on_its_field(fields, field):
    assert field in _errors(_code(**fields))


def test_the_same_code_modifier_and_claim_type_is_listed_once():
    make_code("H0015")
    errors = _errors(_code())
    assert "__all__" in errors
    make_code("H0015", modifier="HF")  # another modifier is another entry
    make_code("H0015", claim_type=ClaimType.PROFESSIONAL)


def test_a_time_based_code_gives_its_minutes_per_unit():
    entry = make_code("90837", claim_type=ClaimType.PROFESSIONAL, unit_type=UnitType.TIME, unit_minutes=60)
    assert entry.unit_minutes == 60


def test_payer_names_are_unique_whatever_the_case():
    make_payer("Test Health Plan", PayerKind.COMMERCIAL)
    assert "name" in _errors(Payer(name="test  health plan", kind=PayerKind.COMMERCIAL))


def test_rates_of_one_payer_and_code_never_overlap(payer, h0015):
    make_rate(payer, h0015, start=date(2026, 1, 1), end=date(2026, 6, 30))
    overlapping = PayerRate(payer=payer, service_code=h0015, rate=Decimal("10"), effective_from=date(2026, 6, 30))
    assert "effective_from" in _errors(overlapping)
    make_rate(payer, h0015, start=date(2026, 7, 1))  # the next day is fine (open-ended)
    later = PayerRate(payer=payer, service_code=h0015, rate=Decimal("10"), effective_from=date(2027, 1, 1))
    assert "already has a rate" in _errors(later)["effective_from"][0]
    make_rate(make_payer(), h0015, start=date(2026, 1, 1))  # another payer's table


def test_a_rate_cannot_end_before_it_starts_or_be_negative(payer, h0015):
    rate = PayerRate(
        payer=payer,
        service_code=h0015,
        rate=Decimal("-1"),
        effective_from=date(2026, 2, 1),
        effective_to=date(2026, 1, 1),
    )
    assert {"rate", "effective_to"} <= set(_errors(rate))


def test_s_codes_are_not_valid_for_medicare():
    medicare = make_payer("Test Medicare", PayerKind.MEDICARE)
    s9480 = make_code("S9480", revenue_code="0905")
    rate = PayerRate(payer=medicare, service_code=s9480, rate=Decimal("100"), effective_from=date(2026, 1, 1))
    assert "not valid for Medicare" in _errors(rate)["service_code"][0]
    make_rate(make_payer(kind=PayerKind.COMMERCIAL), s9480)


def test_nothing_is_deleted(payer, h0015):
    rate = make_rate(payer, h0015)
    for obj in (payer, h0015, rate):
        with pytest.raises(NeverDeleted):
            obj.delete()
    with pytest.raises(NeverDeleted):
        PayerRate.objects.all().delete()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL (exclusion constraint)")
def test_on_postgresql_the_database_refuses_overlapping_rates(payer, h0015):
    make_rate(payer, h0015, start=date(2026, 1, 1))
    with pytest.raises(IntegrityError, match="billing_payerrate_no_overlap"), transaction.atomic():
        PayerRate.objects.create(payer=payer, service_code=h0015, rate=Decimal("1"), effective_from=date(2027, 1, 1))
