"""Celery entry points: thin, ids only."""

from celery import shared_task

from . import services


@shared_task(expires=3600)
def followup_sweep_task() -> dict[str, int]:
    """Daily: last week's attended share and days without contact, for every enrolled patient."""
    return services.followup_sweep()
