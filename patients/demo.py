"""Demo patients for ``manage.py seed_demo``: obviously fake people, built through the services
(so the demo also has a realistic audit trail). Safe to run again: a patient who already
exists (same site, name and birth date) is left alone."""

from __future__ import annotations

from datetime import timedelta

from users.models import User

from . import services
from .models import (
    ConsentKind,
    DischargeType,
    DisclosureChannel,
    InfoCategory,
    Patient,
    Purpose,
    ReferralSource,
    Relationship,
    Stage,
    site_today,
)

# first, last, years old, site, referral stage (None: no referral), source
PEOPLE = [
    ("Avery", "Example", 34, "Riverside", Stage.ADMITTED, ReferralSource.SELF),
    ("Blake", "Sample", 41, "Riverside", Stage.ADMITTED, ReferralSource.HOSPITAL),
    ("Casey", "Placeholder", 16, "Riverside", Stage.ASSESSED, ReferralSource.FAMILY),
    ("Devon", "Demo", 29, "Riverside", Stage.SCREENING_SCHEDULED, ReferralSource.COURT),
    ("Emery", "Fictional", 52, "Riverside", Stage.RECEIVED, ReferralSource.EMPLOYER),
    ("Finley", "Mockup", 38, "Riverside", Stage.WAITLISTED, ReferralSource.RESIDENTIAL_STEP_DOWN),
    ("Gray", "Testcase", 45, "Riverside", Stage.CLOSED_NO_CONTACT, ReferralSource.SELF),
    ("Harper", "Specimen", 27, "Lakeside", Stage.ADMITTED, ReferralSource.OUTPATIENT_STEP_UP),
    ("Indigo", "Fakename", 33, "Lakeside", Stage.SCREENED, ReferralSource.SELF),
    ("Jordan", "Dummy", 60, "Lakeside", Stage.WAITLISTED, ReferralSource.HOSPITAL),
    ("Kai", "Sampleton", 17, "Lakeside", Stage.PLACEMENT_DECIDED, ReferralSource.FAMILY),
    ("Lane", "Notreal", 48, "Lakeside", Stage.REFERRED_ELSEWHERE, ReferralSource.OTHER),
]

STAFF = {
    "Riverside": ("intake@demo.test", "clinician@demo.test"),
    "Lakeside": ("supervisor@demo.test", "clinician2@demo.test"),
}


def _advance_to(referral, stage, *, by, counselor, admitted_days_ago):
    """Walk a new referral forward to ``stage`` through the allowed transitions."""
    forward = [Stage.SCREENING_SCHEDULED, Stage.SCREENED, Stage.ASSESSED, Stage.PLACEMENT_DECIDED]
    if stage in forward:
        steps = forward[: forward.index(stage) + 1]
    elif stage == Stage.ADMITTED:
        steps = forward
    elif stage == Stage.RECEIVED:
        steps = []
    else:  # waitlisted, referred elsewhere, declined, closed
        steps = [stage]
    for step in steps:
        referral = services.referral_advance(referral=referral, to_stage=step, by=by)
    if stage == Stage.ADMITTED:
        referral = services.referral_advance(
            referral=referral,
            to_stage=Stage.ADMITTED,
            by=by,
            admission_date=site_today(referral.site) - timedelta(days=admitted_days_ago),
            primary_counselor=counselor,
        )
    return referral


def seed(stdout, context: dict) -> dict:
    sites = context["sites"]
    created = 0
    for n, (first, last, age, site_name, stage, source) in enumerate(PEOPLE):
        site = sites[site_name]
        intake = User.objects.get(email=STAFF[site_name][0])
        counselor = User.objects.get(email=STAFF[site_name][1])
        today = site_today(site)
        born = today.replace(year=today.year - age) - timedelta(days=40 + n)
        if Patient.objects.filter(site=site, legal_first_name=first, legal_last_name=last, date_of_birth=born).exists():
            continue
        patient = services.patient_register(
            site=site,
            by=intake,
            allow_duplicate=True,
            legal_first_name=first,
            legal_last_name=last,
            date_of_birth=born,
            pronouns=["she/her", "he/him", "they/them"][n % 3],
            phone=f"212-555-01{n:02d}",
            email=f"{first.lower()}.{last.lower()}@example.com",
            language="Spanish" if n % 5 == 0 else "English",
            primary_counselor=counselor,
            payer_name="Demo Health Plan",
            payer_member_id=f"DHP{100000 + n}",
            voicemail_allowed=n % 2 == 0,
            sms_opt_in=n % 3 != 2,
            sms_opt_in_on=today - timedelta(days=10) if n % 3 != 2 else None,
            sms_opt_in_source="intake_form" if n % 3 != 2 else "",
            sms_number=f"212-555-01{n:02d}" if n % 3 != 2 else "",
            preferred_channel="sms" if n % 3 != 2 else "phone",
        )
        created += 1
        referral = services.referral_create(
            patient=patient,
            source=source,
            received_on=today - timedelta(days=3 + 4 * n),
            reason="Demo referral: increasing use despite consequences; asks for structured support.",
            by=intake,
        )
        _advance_to(referral, stage, by=intake, counselor=counselor, admitted_days_ago=20 + n)
        if stage == Stage.ADMITTED:
            services.consent_record(
                patient=patient,
                by=intake,
                kind=ConsentKind.TPO,
                disclosing_party=site.name,
                categories=[InfoCategory.ALL_SUD_RECORDS],
                expiry_event="End of treatment",
                revocation_acknowledged=True,
                redisclosure_acknowledged=True,
                refusal_acknowledged=True,
                signer_name=patient.legal_name,
            )
            sponsor = f"Morgan {last}"
            consent = services.consent_record(
                patient=patient,
                by=intake,
                kind=ConsentKind.STANDARD,
                disclosing_party=site.name,
                categories=[InfoCategory.ATTENDANCE],
                recipients=sponsor,
                purposes=[Purpose.CARE_COORDINATION],
                expires_on=today + timedelta(days=180),
                revocation_acknowledged=True,
                redisclosure_acknowledged=True,
                refusal_acknowledged=True,
                signer_name=patient.legal_name,
            )
            services.support_contact_create(
                patient=patient,
                by=intake,
                name=sponsor,
                relationship=Relationship.FAMILY,
                phone="212-555-0199",
                may_contact=True,
                joins_family_sessions=True,
                consent=consent,
            )
            services.support_contact_create(
                patient=patient, by=intake, name="Sam Sponsorly", relationship=Relationship.SPONSOR
            )
            services.disclosure_make(
                patient=patient,
                recipient="Demo Health Plan",
                purpose=Purpose.PAYMENT,
                categories=[InfoCategory.ATTENDANCE],
                channel=DisclosureChannel.ELECTRONIC,
                by=intake,
            )
        if first == "Gray":
            # An earlier stay, completed: history for the length-of-stay and re-admission views.
            episode = services.episode_admit(
                patient=patient, admission_date=today - timedelta(days=200), by=intake, primary_counselor=counselor
            )
            services.episode_discharge(
                episode=episode,
                discharge_date=today - timedelta(days=140),
                discharge_type=DischargeType.COMPLETED,
                by=counselor,
                summary="Demo: completed the program; stepped down to weekly outpatient.",
            )
    stdout.write(f"  patients: {created} new demo patients ({len(PEOPLE)} in all) with referrals and episodes")
    _emergency_access(sites)
    return {}


def _emergency_access(sites) -> None:
    """A Lakeside counselor broke the glass on a Riverside patient two days ago (now expired and
    waiting for review), so supervisors see the review list and the alert."""
    from django.utils import timezone

    from .models import EmergencyAccess

    if EmergencyAccess.objects.exists():
        return
    patient = Patient.objects.filter(site=sites["Riverside"], legal_first_name="Avery").first()
    outsider = User.objects.filter(email=STAFF["Lakeside"][1]).first()
    if patient is None or outsider is None:
        return
    services.emergency_access_open(
        by=outsider,
        mrn=patient.mrn,
        date_of_birth=patient.date_of_birth,
        reason="Demo: patient came to Lakeside in withdrawal on a weekend; needed the medication list.",
        now=timezone.now() - timedelta(days=2),
    )
