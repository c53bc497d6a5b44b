"""Celery entry points for scheduling: thin wrappers over services, safe to run twice."""

from celery import shared_task

from . import services


@shared_task(expires=3600)
def tracks_keep_ahead_task(weeks: int | None = None) -> dict[str, int]:
    """Keep every active track's sessions generated ``weeks`` ahead (default: the horizon)."""
    return services.tracks_keep_ahead(weeks=weeks)
