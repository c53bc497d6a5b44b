"""Where an alert's record can be opened.

``notifications`` knows nothing of the apps above it, so each app that raises alerts tells it
how to turn its ``object_type`` into a URL, from its ``AppConfig.ready()``::

    from notifications.links import register
    register("assessments.AssessmentResponse", lambda object_id: reverse(...))
"""

from __future__ import annotations

from collections.abc import Callable

from django.urls import NoReverseMatch

_RESOLVERS: dict[str, Callable[[str], str]] = {}


def register(object_type: str, resolver: Callable[[str], str]) -> None:
    _RESOLVERS[object_type] = resolver


def url_for(object_type: str, object_id: str) -> str | None:
    resolver = _RESOLVERS.get(object_type)
    if resolver is None or not object_id:
        return None
    try:
        return resolver(object_id)
    except NoReverseMatch:
        return None
