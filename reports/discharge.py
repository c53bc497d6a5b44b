"""The discharge summary draft: what the record says about an episode, gathered from every
floor (episode dates, levels of care, attendance, first vs last scores, plan goals), for the
clinician to edit before signing. Reads only; signing is ``plans.services.discharge_sign``.

Apps that may not exist yet (``sessions`` attendance, ``assessments`` responses) are read
through the app registry, so this module works before they land.
"""

from __future__ import annotations

from collections import OrderedDict
from datetime import date

from django.apps import apps
from django.db.models import Count, Sum

from patients.models import Episode, site_today
from plans.models import PlanStatus, RecoveryActivity, TreatmentPlan


def _model(app_label: str, name: str):
    try:
        return apps.get_model(app_label, name)
    except LookupError:
        return None


def attendance_totals(episode: Episode) -> dict | None:
    """Counts by attendance status and minutes attended, or None when attendance is not recorded."""
    model = _model("clinical_sessions", "Attendance")
    if model is None:
        return None
    names = {f.name for f in model._meta.get_fields()}
    if "episode" in names:
        rows = model.objects.filter(episode=episode)
    elif "patient" in names:
        rows = model.objects.filter(patient=episode.patient)
    else:
        return None
    totals: dict = {"by_status": {}}
    if "status" in names:
        totals["by_status"] = dict(rows.values_list("status").annotate(n=Count("id")).order_by())
    totals["records"] = rows.count()
    minutes_field = next((n for n in ("minutes_attended", "minutes") if n in names), None)
    if minutes_field:
        totals["minutes"] = rows.aggregate(total=Sum(minutes_field))["total"] or 0
    return totals


def score_changes(episode: Episode) -> list[dict] | None:
    """First and last total per instrument during the episode (per type of ruler for the
    readiness ruler: an importance rating is never compared with a confidence rating), with
    the dates in the site's calendar; None without assessments."""
    model = _model("assessments", "AssessmentResponse")
    if model is None:
        return None
    zone = episode.site.zone
    firsts: OrderedDict[tuple[str, str], object] = OrderedDict()
    lasts: dict[tuple[str, str], object] = {}
    counts: dict[tuple[str, str], int] = {}
    rows = list(
        model.objects.filter(episode=episode, total__isnull=False)
        .order_by("administered_at", "id")
        .only("instrument", "ruler_type", "total", "administered_at")
    )
    for row in rows:
        key = (row.instrument, row.ruler_type or "")
        firsts.setdefault(key, row)
        lasts[key] = row
        counts[key] = counts.get(key, 0) + 1
    changes = []
    for key, first in firsts.items():
        last = lasts[key]
        instrument, ruler_type = key
        changes.append(
            {
                "instrument": f"{instrument} ({ruler_type})" if ruler_type else instrument,
                "first": first.total,
                "first_on": first.administered_at.astimezone(zone).date(),
                "last": last.total,
                "last_on": last.administered_at.astimezone(zone).date(),
                "change": last.total - first.total,
                "count": counts[key],
            }
        )
    return changes


def plan_goal_status(episode: Episode) -> dict | None:
    """Goals and objectives (with status) of the latest signed treatment plan."""
    plan = (
        TreatmentPlan.objects.filter(episode=episode, status__in=[PlanStatus.SIGNED, PlanStatus.SUPERSEDED])
        .order_by("-version")
        .prefetch_related("problems__goals__objectives")
        .first()
    )
    if plan is None:
        return None
    problems = []
    for problem in plan.problems.all():
        goals = []
        for goal in problem.goals.all():
            goals.append(
                {
                    "statement": goal.statement,
                    "objectives": [
                        {"statement": o.statement, "status": o.get_status_display(), "target_date": o.target_date}
                        for o in goal.objectives.all()
                    ],
                }
            )
        problems.append({"statement": problem.statement, "goals": goals})
    return {"version": plan.version, "signed_on": plan.signed_on, "problems": problems}


def discharge_summary_draft(episode: Episode, *, discharge_date: date | None = None) -> dict:
    """Facts for the summary and a drafted ``text`` the clinician edits before signing."""
    end = episode.discharge_date or discharge_date or site_today(episode.site)
    facts = {
        "admission_date": episode.admission_date,
        "discharge_date": end,
        "length_of_stay_days": (end - episode.admission_date).days,
        "levels_of_care": [episode.level_label],
        "level_changes": [
            {"on": t.requested_on, "note": t.note}
            for t in episode.plan_review_triggers.filter(reason="level_of_care_change").order_by("requested_at")
        ],
        "attendance": attendance_totals(episode),
        "scores": score_changes(episode),
        "plan": plan_goal_status(episode),
        "relapses": episode.relapses.count(),
        "recovery_activities": RecoveryActivity.objects.filter(episode=episode).count(),
    }
    facts["text"] = _text(facts)
    return facts


def _text(f: dict) -> str:
    lines = [
        f"Admitted {f['admission_date']:%Y-%m-%d}; discharged {f['discharge_date']:%Y-%m-%d}; "
        f"length of stay {f['length_of_stay_days']} days.",
        f"Level of care at admission: {', '.join(f['levels_of_care'])}.",
    ]
    for change in f["level_changes"]:
        lines.append(
            f"Level-of-care change on {change['on']:%Y-%m-%d}{': ' + change['note'] if change['note'] else ''}."
        )
    attendance = f["attendance"]
    if attendance is None:
        lines.append("Attendance: not recorded in this system.")
    else:
        parts = [f"{status}: {n}" for status, n in sorted(attendance["by_status"].items())]
        minutes = attendance.get("minutes")
        lines.append(
            "Attendance: "
            + (", ".join(parts) if parts else f"{attendance['records']} records")
            + (f"; {minutes / 60:.1f} clinical hours" if minutes is not None else "")
            + "."
        )
    scores = f["scores"]
    if scores is None:
        lines.append("Scores: assessments are not recorded in this system.")
    elif not scores:
        lines.append("Scores: no scored assessments during this episode.")
    else:
        lines.append("Scores (first → last):")
        for s in scores:
            lines.append(
                f"- {s['instrument']}: {s['first']:g} ({s['first_on']:%Y-%m-%d}) → {s['last']:g} "
                f"({s['last_on']:%Y-%m-%d}), change {s['change']:+g}"
            )
    plan = f["plan"]
    if plan is None:
        lines.append("Treatment plan: no signed plan.")
    else:
        lines.append(f"Treatment plan goals (version {plan['version']}):")
        for problem in plan["problems"]:
            for goal in problem["goals"]:
                lines.append(f"- Goal: {goal['statement']}")
                for o in goal["objectives"]:
                    lines.append(f"  - {o['statement']}: {o['status']}")
    lines.append(f"Relapses recorded: {f['relapses']}.")
    lines.append(f"Patient-reported recovery activities (not clinical hours): {f['recovery_activities']}.")
    lines.append("")
    lines.append("Clinical summary and recommendations: ")
    return "\n".join(lines)
