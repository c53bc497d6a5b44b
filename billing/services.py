"""Writes of billing records that belong to a patient: authorizations and utilization reviews.
Each validates (the model's ``clean`` plus the checks that need other rows), saves and records
an audit event with before/after in the same transaction.

Payers, the service catalogue and rate tables are program settings edited in Django admin
(audited there by ``AuditedAdminMixin``); their models refuse bad rows in ``clean``.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from audit.models import Action
from audit.services import record
from patients.models import Episode, site_today
from users.models import User

from .models import Authorization, UtilizationReview

AUTHORIZATION_FIELDS = [
    "payer",
    "service_code",
    "authorized_level",
    "start_date",
    "end_date",
    "units_authorized",
    "reference_number",
    "care_manager_name",
    "care_manager_phone",
    "care_manager_email",
    "notes",
]
REVIEW_FIELDS = ["review_date", "kind", "outcome", "next_review_date", "reviewer", "notes"]

# The PostgreSQL exclusion constraint of migration 0002 (same episode, payer, overlapping days).
NO_OVERLAP_CONSTRAINT = "billing_authorization_no_overlap"


def _unknown_fields(fields: dict, allowed: list[str]) -> None:
    extra = set(fields) - set(allowed)
    if extra:
        raise TypeError(f"Unexpected fields: {', '.join(sorted(extra))}")


def _tidy(fields: dict) -> dict:
    return {k: v.strip() if isinstance(v, str) else v for k, v in fields.items()}


def _snapshot(obj, fields: list[str]) -> dict[str, Any]:
    """Field values for an audit before/after (foreign keys as ids)."""
    return {name: getattr(obj, obj._meta.get_field(name).attname) for name in fields}


def _overlap_error(clash: Authorization) -> ValidationError:
    return ValidationError(
        {
            "start_date": (
                f"These dates overlap authorization {clash.reference_number} from the same payer "
                f"({clash.start_date:%Y-%m-%d} – {clash.end_date:%Y-%m-%d}). Change that one instead, "
                "or choose dates after it ends."
            )
        }
    )


def _check_overlap(auth: Authorization) -> None:
    clash = (
        Authorization.objects.filter(episode_id=auth.episode_id, payer_id=auth.payer_id)
        .overlapping(auth.start_date, auth.end_date)
        .exclude(pk=auth.pk)
        .order_by("start_date")
        .first()
    )
    if clash is not None:
        raise _overlap_error(clash)


def _check_choices(auth: Authorization, changed: set[str]) -> None:
    """A new authorization, or a changed payer or code, takes only active catalogue entries
    (existing ones keep theirs after a payer or code is deactivated)."""
    errors = {}
    if "payer" in changed and auth.payer_id and not auth.payer.is_active:
        errors["payer"] = f"{auth.payer} is no longer active: choose an active payer."
    if "service_code" in changed and auth.service_code_id and not auth.service_code.is_active:
        errors["service_code"] = f"{auth.service_code.code} is no longer active in the catalogue."
    if errors:
        raise ValidationError(errors)


def _save(auth: Authorization, **kwargs) -> None:
    """Save; on PostgreSQL a concurrent overlapping insert fails on the exclusion constraint,
    which becomes the same message as the check above."""
    try:
        with transaction.atomic():
            auth.save(**kwargs)
    except IntegrityError as exc:
        if NO_OVERLAP_CONSTRAINT in str(exc):
            _check_overlap(auth)  # names the clashing authorization
            raise ValidationError(
                {"start_date": "These dates overlap another authorization from the same payer."}
            ) from None
        raise


@transaction.atomic
def authorization_create(*, episode: Episode, by: User, **fields) -> Authorization:
    """Record a payer's authorization for an episode. Refuses an end before the start, negative
    units, a missing reference, an inactive payer or code, a non-per-diem code, an S-code for
    Medicare, dates outside the episode and dates overlapping another authorization of the same
    payer for this episode."""
    _unknown_fields(fields, AUTHORIZATION_FIELDS)
    # Serialise authorizations of one episode, so the overlap check holds (SQLite: the
    # transaction already holds the write lock).
    episode = Episode.objects.select_for_update().select_related("site", "patient").get(pk=episode.pk)
    auth = Authorization(episode=episode, site=episode.site, created_by=by, **_tidy(fields))
    _check_choices(auth, set(fields))
    auth.full_clean()
    _check_overlap(auth)
    _save(auth)
    record(
        Action.CREATE,
        actor=by,
        site=episode.site_id,
        patient=episode.patient,
        obj=auth,
        changes={"before": {}, "after": _snapshot(auth, AUTHORIZATION_FIELDS)},
    )
    return auth


@transaction.atomic
def authorization_update(*, authorization: Authorization, by: User, **fields) -> Authorization:
    """Correct or extend an authorization (new end date or units after a concurrent review).
    The same rules as at creation; nothing is written when nothing changed."""
    _unknown_fields(fields, AUTHORIZATION_FIELDS)
    Episode.objects.select_for_update().filter(pk=authorization.episode_id).values_list("pk", flat=True).first()
    auth = (
        Authorization.objects.select_for_update(of=("self",))
        .select_related("episode__patient", "episode__site", "payer", "service_code")
        .get(pk=authorization.pk)
    )
    before = _snapshot(auth, AUTHORIZATION_FIELDS)
    for name, value in _tidy(fields).items():
        setattr(auth, name, value)
    after = _snapshot(auth, AUTHORIZATION_FIELDS)
    changed = [n for n in AUTHORIZATION_FIELDS if before[n] != after[n]]
    if not changed:
        return auth
    _check_choices(auth, set(changed))
    auth.full_clean()
    _check_overlap(auth)
    _save(auth, update_fields=[*[Authorization._meta.get_field(n).name for n in changed], "updated_at"])
    record(
        Action.UPDATE,
        actor=by,
        site=auth.site_id,
        patient=auth.episode.patient,
        obj=auth,
        changes={"before": {n: before[n] for n in changed}, "after": {n: after[n] for n in changed}},
    )
    return auth


@transaction.atomic
def utilization_review_record(*, authorization: Authorization, by: User, **fields) -> UtilizationReview:
    """Add a utilization review to the authorization's history (reviews are never changed).
    Refuses a review dated in the future (in the site's zone), a next review due before this
    one, and a next review after a discharge review."""
    _unknown_fields(fields, REVIEW_FIELDS)
    auth = Authorization.objects.select_related("episode__patient", "site").get(pk=authorization.pk)
    review = UtilizationReview(authorization=auth, recorded_by=by, **_tidy(fields))
    today = site_today(auth.site)
    if review.review_date and review.review_date > today:
        raise ValidationError({"review_date": "Record a review once it has happened: the date is in the future."})
    review.full_clean()
    review.save()
    record(
        Action.CREATE,
        actor=by,
        site=auth.site_id,
        patient=auth.episode.patient,
        obj=review,
        changes={"before": {}, "after": {"authorization": str(auth.public_id), **_snapshot(review, REVIEW_FIELDS)}},
    )
    return review
