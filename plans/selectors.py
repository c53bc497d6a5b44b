"""Reads about plans that pages (and the caseload) share: which plans are due, and why.

Due rules (DOMAIN.md §7, days from settings):
- the initial treatment plan (and relapse-prevention plan) within ``PLAN_INITIAL_DUE_DAYS`` of admission;
- a treatment plan review ``PLAN_REVIEW_INTERVAL_DAYS`` after the last signed version;
- a relapse-prevention plan review on the review date its signed version set;
- both reviews due *now* after a ``PlanReviewTrigger`` (level-of-care change, relapse,
  hospitalisation, new diagnosis, positive toxicology) until a version is signed after it.

Everything is computed in one query (annotated open episodes), so a page listing due plans
costs the same for 1 patient as for 500.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from django.conf import settings
from django.db.models import DateTimeField, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce

from patients.models import Episode

from .models import (
    FollowUpCheckIn,
    PlanReviewTrigger,
    PlanStatus,
    RelapsePreventionPlan,
    TreatmentPlan,
    TriggerReason,
)

TREATMENT = "treatment_plan"
RELAPSE_PREVENTION = "relapse_prevention_plan"
KIND_LABELS = {TREATMENT: "Treatment plan", RELAPSE_PREVENTION: "Relapse-prevention plan"}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class PlanDue:
    episode: Episode
    kind: str
    reason: str
    reason_label: str
    due_on: date
    overdue: bool
    in_progress: str  # "" or the status label of the unsigned version being written

    @property
    def kind_label(self) -> str:
        return KIND_LABELS[self.kind]

    @property
    def patient(self):
        return self.episode.patient


def _latest_signed(model, field: str) -> Subquery:
    return Subquery(
        model.objects.filter(episode=OuterRef("pk"), status=PlanStatus.SIGNED).order_by("-version").values(field)[:1]
    )


def _first_open_trigger(signed_at_annotation: str, field: str) -> Subquery:
    since = Coalesce(OuterRef(signed_at_annotation), Value(_EPOCH, output_field=DateTimeField()))
    return Subquery(
        PlanReviewTrigger.objects.filter(episode=OuterRef("pk"), requested_at__gt=since)
        .order_by("requested_at", "id")
        .values(field)[:1]
    )


def open_episodes(site_ids: Iterable[int]) -> QuerySet[Episode]:
    """Open episodes of live patients at these sites, with the patient, site and counselor."""
    return (
        Episode.objects.open()
        .filter(site_id__in=list(site_ids), patient__deleted_at__isnull=True)
        .select_related("patient", "site", "primary_counselor")
    )


def episodes_with_plan_status(site_ids: Iterable[int]) -> QuerySet[Episode]:
    """Open episodes at these sites, annotated with what the due rules need:
    ``tp_signed_on``/``tp_signed_at``, ``tp_unsigned`` (status of a version being written),
    ``tp_trigger_on``/``tp_trigger_reason`` (the first review request since the last signature),
    and the same with ``rp_`` for the relapse-prevention plan plus ``rp_review_date``."""
    unsigned_tp = TreatmentPlan.objects.filter(
        episode=OuterRef("pk"), status__in=[PlanStatus.DRAFT, PlanStatus.AWAITING_COSIGN]
    ).values("status")[:1]
    unsigned_rp = RelapsePreventionPlan.objects.filter(episode=OuterRef("pk"), status=PlanStatus.DRAFT).values(
        "status"
    )[:1]
    return (
        open_episodes(site_ids)
        .annotate(
            tp_signed_on=_latest_signed(TreatmentPlan, "signed_on"),
            tp_signed_at=_latest_signed(TreatmentPlan, "signed_at"),
            tp_unsigned=Subquery(unsigned_tp),
            rp_signed_on=_latest_signed(RelapsePreventionPlan, "signed_on"),
            rp_signed_at=_latest_signed(RelapsePreventionPlan, "signed_at"),
            rp_review_date=_latest_signed(RelapsePreventionPlan, "review_date"),
            rp_unsigned=Subquery(unsigned_rp),
        )
        .annotate(
            tp_trigger_on=_first_open_trigger("tp_signed_at", "requested_on"),
            tp_trigger_reason=_first_open_trigger("tp_signed_at", "reason"),
            rp_trigger_on=_first_open_trigger("rp_signed_at", "requested_on"),
            rp_trigger_reason=_first_open_trigger("rp_signed_at", "reason"),
        )
    )


_STATUS_FIELDS = {
    "tp": (TreatmentPlan, ("signed_on", "signed_at"), (PlanStatus.DRAFT, PlanStatus.AWAITING_COSIGN)),
    "rp": (RelapsePreventionPlan, ("signed_on", "signed_at", "review_date"), (PlanStatus.DRAFT,)),
}


def with_plan_status(episodes: Iterable[Episode]) -> list[Episode]:
    """Set on each episode the attributes ``episodes_with_plan_status`` annotates, from three
    plain reads (both plans' versions and the review requests of these episodes) instead of
    eleven correlated subqueries per episode: a page that lists every open episode of a
    caseload compiles and runs far less SQL. The same values either way (tested)."""
    episodes = list(episodes)
    ids = [e.pk for e in episodes]
    found: dict[int, dict] = {pk: {} for pk in ids}
    for prefix, (model, fields, unsigned) in _STATUS_FIELDS.items():
        versions = (
            model.objects.filter(episode_id__in=ids)
            .order_by("episode_id", "-version")
            .values_list("episode_id", "status", *fields)
        )
        for episode_id, status, *values in versions:
            values_of = found[episode_id]
            # The newest signed version, and the newest version still being written.
            if status == PlanStatus.SIGNED and f"{prefix}_signed_on" not in values_of:
                values_of.update({f"{prefix}_{name}": value for name, value in zip(fields, values, strict=True)})
            if status in unsigned and f"{prefix}_unsigned" not in values_of:
                values_of[f"{prefix}_unsigned"] = status
    triggers: dict[int, list[tuple]] = {pk: [] for pk in ids}
    for episode_id, *trigger in (
        PlanReviewTrigger.objects.filter(episode_id__in=ids)
        .order_by("episode_id", "requested_at", "id")
        .values_list("episode_id", "requested_at", "requested_on", "reason")
    ):
        triggers[episode_id].append(trigger)
    for episode in episodes:
        values_of = found[episode.pk]
        for prefix, (_model, fields, _unsigned) in _STATUS_FIELDS.items():
            for name in (*fields, "unsigned"):
                setattr(episode, f"{prefix}_{name}", values_of.get(f"{prefix}_{name}"))
            # The first review request since the last signature (any, when never signed).
            since = getattr(episode, f"{prefix}_signed_at") or _EPOCH
            first = next((t for t in triggers[episode.pk] if t[0] > since), None)
            setattr(episode, f"{prefix}_trigger_on", first[1] if first else None)
            setattr(episode, f"{prefix}_trigger_reason", first[2] if first else None)
    return episodes


def _due_rows(episode: Episode) -> list[tuple[str, str, str, date]]:
    """(kind, reason code, reason label, due date) for each plan of this annotated episode."""
    initial_days = timedelta(days=settings.PLAN_INITIAL_DUE_DAYS)
    interval = timedelta(days=settings.PLAN_REVIEW_INTERVAL_DAYS)
    rows = []
    for kind, prefix in ((TREATMENT, "tp"), (RELAPSE_PREVENTION, "rp")):
        signed_on = getattr(episode, f"{prefix}_signed_on")
        candidates = []
        trigger_on = getattr(episode, f"{prefix}_trigger_on")
        if trigger_on is not None:
            reason = getattr(episode, f"{prefix}_trigger_reason")
            candidates.append(
                (trigger_on, reason, f"Review now: {TriggerReason(reason).label.lower()} on {trigger_on:%Y-%m-%d}")
            )
        if signed_on is None:
            candidates.append((episode.admission_date + initial_days, "initial", "Initial plan after admission"))
        elif kind == TREATMENT:
            candidates.append((signed_on + interval, "scheduled_review", f"Review every {interval.days} days"))
        elif episode.rp_review_date is not None:
            candidates.append((episode.rp_review_date, "scheduled_review", "Review date set on the plan"))
        if candidates:
            due_on, reason, label = min(candidates, key=lambda c: c[0])
            rows.append((kind, reason, label, due_on))
    return rows


def plan_due_by(episode: Episode, horizon: date) -> bool:
    """Whether a plan of this episode (annotated by ``episodes_with_plan_status``) is due on or
    before ``horizon``: the rules of ``plans_due``, read from the annotations without a query."""
    return any(due_on <= horizon for *_rest, due_on in _due_rows(episode))


def plans_due(site_ids: Iterable[int], today: date, *, counselor=None, horizon_days: int = 0) -> list[PlanDue]:
    """Plans overdue or due by ``today + horizon_days`` at these sites (for ``counselor``'s
    patients only, when given), soonest first, with the reason. One query."""
    horizon = today + timedelta(days=horizon_days)
    initial_cutoff = horizon - timedelta(days=settings.PLAN_INITIAL_DUE_DAYS)
    review_cutoff = horizon - timedelta(days=settings.PLAN_REVIEW_INTERVAL_DAYS)
    episodes = episodes_with_plan_status(site_ids).filter(
        Q(tp_trigger_on__isnull=False)
        | Q(rp_trigger_on__isnull=False)
        | Q(tp_signed_on__isnull=True, admission_date__lte=initial_cutoff)
        | Q(rp_signed_on__isnull=True, admission_date__lte=initial_cutoff)
        | Q(tp_signed_on__lte=review_cutoff)
        | Q(rp_review_date__lte=horizon)
    )
    if counselor is not None:
        episodes = episodes.filter(Q(primary_counselor=counselor) | Q(patient__primary_counselor=counselor))
    labels = dict(PlanStatus.choices)
    result = []
    for episode in episodes:
        for kind, reason, label, due_on in _due_rows(episode):
            if due_on > horizon:
                continue
            unsigned = getattr(episode, "tp_unsigned" if kind == TREATMENT else "rp_unsigned")
            result.append(
                PlanDue(
                    episode=episode,
                    kind=kind,
                    reason=reason,
                    reason_label=label,
                    due_on=due_on,
                    overdue=due_on < today,
                    in_progress=labels.get(unsigned, "") if unsigned else "",
                )
            )
    result.sort(key=lambda r: (r.due_on, r.episode.patient.legal_last_name, r.episode.patient.legal_first_name, r.kind))
    return result


def follow_ups_due(
    site_ids: Iterable[int], today: date, *, counselor=None, horizon_days: int = 7
) -> QuerySet[FollowUpCheckIn]:
    """Pending post-discharge check-ins due by ``today + horizon_days``, oldest first."""
    rows = (
        FollowUpCheckIn.objects.due_by(today + timedelta(days=horizon_days))
        .filter(site_id__in=list(site_ids), patient__deleted_at__isnull=True)
        .select_related("patient", "episode")
        .order_by("due_on", "id")
    )
    if counselor is not None:
        rows = rows.filter(Q(episode__primary_counselor=counselor) | Q(patient__primary_counselor=counselor))
    return rows


def current_episode(patient) -> Episode | None:
    """The open episode, else the most recent one."""
    return patient.episodes.open().first() or patient.episodes.order_by("-admission_date", "-id").first()
