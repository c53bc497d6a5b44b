"""Demo billing data for ``manage.py seed_demo``: a Medicaid and a commercial payer, the IOP
per-diem codes (H0015 with revenue code 0906, S9480 with 0905) and group psychotherapy (90853),
rates, and one authorization with its initial utilization review for the first admitted demo
patient at each site. Fake payers only; safe to run again."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from patients.models import Episode
from users.models import Membership, Role

from . import services
from .models import Authorization, ClaimType, Payer, PayerKind, PayerRate, ServiceCode, UnitType

PAYERS = [("Demo State Medicaid", PayerKind.MEDICAID), ("Demo Health Plan", PayerKind.COMMERCIAL)]
CODES = [
    # code, claim type, revenue code, unit type, minimum minutes, description
    ("H0015", ClaimType.INSTITUTIONAL, "0906", UnitType.PER_DIEM, 180, "Alcohol and/or drug IOP, per diem"),
    ("S9480", ClaimType.INSTITUTIONAL, "0905", UnitType.PER_DIEM, 180, "Intensive outpatient psychiatric, per diem"),
    ("90853", ClaimType.PROFESSIONAL, "", UnitType.PER_SERVICE, None, "Group psychotherapy"),
]
RATES = [("Demo State Medicaid", "H0015", "165.00"), ("Demo Health Plan", "H0015", "240.00")]


def _intake(site):
    membership = Membership.objects.active().filter(site=site, role=Role.INTAKE).select_related("user").first()
    return membership.user if membership else None


def seed(stdout, context: dict) -> dict:
    payers = {}
    for name, kind in PAYERS:
        payers[name], _ = Payer.objects.get_or_create(name=name, defaults={"kind": kind})
    codes = {}
    for code, claim_type, revenue, unit, minimum, description in CODES:
        codes[code], _ = ServiceCode.objects.get_or_create(
            code=code,
            modifier="",
            claim_type=claim_type,
            defaults={
                "revenue_code": revenue,
                "unit_type": unit,
                "minimum_minutes": minimum,
                "description": description,
            },
        )
    for payer, code, rate in RATES:
        if not PayerRate.objects.filter(payer=payers[payer], service_code=codes[code]).exists():
            PayerRate.objects.create(
                payer=payers[payer], service_code=codes[code], rate=Decimal(rate), effective_from=_year_start()
            )
    made = 0
    for n, site in enumerate((context.get("sites") or {}).values(), start=1):
        episode = Episode.objects.open().filter(site=site).order_by("pk").first()
        intake = _intake(site)
        if episode is None or intake is None or Authorization.objects.filter(episode=episode).exists():
            continue
        start = episode.admission_date
        auth = services.authorization_create(
            episode=episode,
            by=intake,
            payer=payers["Demo Health Plan"],
            authorized_level=episode.level_of_care,
            start_date=start,
            end_date=start + timedelta(days=29),
            units_authorized=12,
            reference_number=f"DHP-DEMO-{n:04d}",
            care_manager_name="Jordan Reviewer, LCSW",
            care_manager_phone="800-555-0100 ext. 12",
            care_manager_email="um@example.com",
        )
        services.utilization_review_record(
            authorization=auth,
            by=intake,
            review_date=start,
            kind="initial",
            outcome="approved",
            next_review_date=start + timedelta(days=14),
            reviewer="Jordan Reviewer, LCSW",
            notes="Demo: 12 days approved; concurrent review with the care manager in two weeks.",
        )
        made += 1
    stdout.write(f"  billing: {len(payers)} payers, {len(codes)} service codes, {made} new authorization(s)")
    return {}


def _year_start():
    return timezone.localdate().replace(month=1, day=1) - timedelta(days=366)
