"""Builders for billing tests (and the per-diem export's): fake payers and people only."""

from __future__ import annotations

import itertools
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from billing import services
from billing.models import Authorization, ClaimType, Payer, PayerKind, PayerRate, ServiceCode, UnitType
from plans.models import PlanStatus, TreatmentPlan, VersionReason

_seq = itertools.count(1)


def signed_plan(episode, on: date, *, version: int = 1, status: str = PlanStatus.SIGNED) -> TreatmentPlan:
    """A treatment-plan version of ``episode`` that took effect on ``on`` (the site's date),
    written straight to the table so a test can date it in the past (the services sign today).
    ``status``: signed or superseded (in effect from ``on``), awaiting_cosign or draft (never)."""
    by = episode.admitted_by
    at = datetime.combine(on, time(12), tzinfo=episode.site.zone)
    took_effect = status in (PlanStatus.SIGNED, PlanStatus.SUPERSEDED)
    return TreatmentPlan.objects.create(
        episode=episode,
        site=episode.site,
        version=version,
        status=status,
        reason=VersionReason.INITIAL if version == 1 else VersionReason.SCHEDULED_REVIEW,
        plan_date=on,
        created_by=by,
        patient_signed_name="Testperson Example" if status != PlanStatus.DRAFT else "",
        patient_signed_at=at if status != PlanStatus.DRAFT else None,
        clinician_signed_by=by if status != PlanStatus.DRAFT else None,
        clinician_signed_at=at if status != PlanStatus.DRAFT else None,
        signed_at=at if took_effect else None,
        signed_on=on if took_effect else None,
    )


def make_payer(name: str | None = None, kind: str = PayerKind.MEDICAID, **fields) -> Payer:
    payer = Payer(name=name or f"Test Payer {next(_seq)}", kind=kind, **fields)
    payer.full_clean()
    payer.save()
    return payer


def make_code(
    code: str = "H0015",
    *,
    claim_type: str = ClaimType.INSTITUTIONAL,
    revenue_code: str | None = None,
    unit_type: str = UnitType.PER_DIEM,
    **fields,
) -> ServiceCode:
    if revenue_code is None:
        revenue_code = "0906" if claim_type == ClaimType.INSTITUTIONAL else ""
    entry = ServiceCode(
        code=code,
        claim_type=claim_type,
        revenue_code=revenue_code,
        unit_type=unit_type,
        description=fields.pop("description", f"Test code {code}"),
        **fields,
    )
    entry.full_clean()
    entry.save()
    return entry


def make_rate(
    payer, code, *, rate: str = "150.00", start: date = date(2020, 1, 1), end: date | None = None
) -> PayerRate:
    entry = PayerRate(payer=payer, service_code=code, rate=Decimal(rate), effective_from=start, effective_to=end)
    entry.full_clean()
    entry.save()
    return entry


def make_authorization(
    episode, payer, *, by=None, start: date | None = None, days: int = 30, units: int = 20, **fields
) -> Authorization:
    start = start or episode.admission_date
    return services.authorization_create(
        episode=episode,
        by=by or episode.admitted_by,
        payer=payer,
        authorized_level=fields.pop("authorized_level", "2.1"),
        start_date=start,
        end_date=fields.pop("end_date", start + timedelta(days=days - 1)),
        units_authorized=units,
        reference_number=fields.pop("reference_number", f"AUTH-{next(_seq):05d}"),
        **fields,
    )
