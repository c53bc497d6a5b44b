"""Which roles may do what: one explicit table, read by every app's permissions module."""

from __future__ import annotations

from .models import Role

R = Role

CAPABILITIES: dict[str, frozenset[str]] = {
    # Site configuration and staff.
    "site.change": frozenset({R.SITE_ADMIN}),
    "staff.invite": frozenset({R.SITE_ADMIN}),
    # Oversight.
    "audit.view": frozenset({R.SUPERVISOR, R.SITE_ADMIN, R.DIRECTOR}),
    "reports.view": frozenset({R.SUPERVISOR, R.DIRECTOR, R.SITE_ADMIN}),
    # The per-diem billing export (MRNs and dates of service): reports.view is needed too.
    # Not site admins: they configure the site and never see patients, so they get no MRN export.
    "billing.export": frozenset({R.SUPERVISOR, R.DIRECTOR}),
    # Recording payer authorizations and utilization reviews (UR) on a patient's chart: the
    # intake/UR staff who call the payers, supervisors and the program director. Counselors
    # read them (patient.view) without recording them; site admins never see patients.
    "billing.manage": frozenset({R.INTAKE, R.SUPERVISOR, R.DIRECTOR}),
    # Patients and intake.
    "patient.view": frozenset({R.INTAKE, R.CLINICIAN, R.SUPERVISOR, R.DIRECTOR}),
    "patient.register": frozenset({R.INTAKE, R.CLINICIAN, R.SUPERVISOR}),
    "patient.change": frozenset({R.INTAKE, R.CLINICIAN, R.SUPERVISOR}),
    "intake.manage": frozenset({R.INTAKE, R.SUPERVISOR, R.CLINICIAN}),
    "episode.admit": frozenset({R.INTAKE, R.SUPERVISOR, R.CLINICIAN}),
    "episode.discharge": frozenset({R.CLINICIAN, R.SUPERVISOR}),
    "consent.manage": frozenset({R.INTAKE, R.CLINICIAN, R.SUPERVISOR}),
    "disclosure.make": frozenset({R.INTAKE, R.CLINICIAN, R.SUPERVISOR}),
    # Releasing records without consent under a Part 2 exception (medical emergency §2.51, court
    # order §2.61–2.67): a clinical supervisor or the program director decides, never alone at the
    # front desk; the site's supervisors and directors are alerted.
    "disclosure.no_consent": frozenset({R.SUPERVISOR, R.DIRECTOR}),
    # Soft-deleting a patient registered in error (a duplicate or a test record).
    "patient.archive": frozenset({R.SUPERVISOR}),
    # Break-glass (HIPAA §164.312(a) emergency access): clinical staff may open one patient's
    # chart at a site where they hold no role, read-only, for BREAK_GLASS_MINUTES, with a reason.
    # Not intake coordinators (they never read clinical records) and never site admins (they
    # never see patients); checked at any of the user's sites, since the patient is elsewhere.
    "emergency.access": frozenset({R.CLINICIAN, R.SUPERVISOR, R.DIRECTOR}),
    # Reviewing emergency accesses to the site's patients after the fact (and being alerted).
    "emergency.review": frozenset({R.SUPERVISOR, R.DIRECTOR}),
    # Clinical documentation: intake staff never read progress notes.
    "clinical.view": frozenset({R.CLINICIAN, R.SUPERVISOR, R.DIRECTOR}),
    "clinical.write": frozenset({R.CLINICIAN, R.SUPERVISOR}),
    "placement.override": frozenset({R.SUPERVISOR}),
    # Administering the screening instruments (PHQ-9, GAD-7, AUDIT, AUDIT-C, DAST-10, C-SSRS):
    # intake coordinators too; the clinical instruments and placements need clinical.write.
    "assessment.administer": frozenset({R.INTAKE, R.CLINICIAN, R.SUPERVISOR}),
    "note.cosign": frozenset({R.SUPERVISOR}),
    "schedule.manage": frozenset({R.SUPERVISOR, R.DIRECTOR, R.SITE_ADMIN}),
    # Scheduling: every member sees the calendar (counts only; names need patient.view).
    "schedule.view": frozenset({R.INTAKE, R.CLINICIAN, R.SUPERVISOR, R.DIRECTOR, R.SITE_ADMIN}),
    "schedule.book": frozenset({R.INTAKE, R.CLINICIAN, R.SUPERVISOR}),
    "enrollment.manage": frozenset({R.INTAKE, R.CLINICIAN, R.SUPERVISOR}),
    # The Message delivery page: failed and suppressed reminders and notices (no message text).
    "messages.view": frozenset({R.SUPERVISOR, R.SITE_ADMIN}),
}


def roles_with(capability: str) -> frozenset[str]:
    try:
        return CAPABILITIES[capability]
    except KeyError:
        raise KeyError(f"Unknown capability {capability!r}; add it to users.roles.CAPABILITIES.") from None
