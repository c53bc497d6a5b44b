from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import exceptions
from rest_framework.serializers import as_serializer_error
from rest_framework.views import exception_handler as drf_exception_handler

from .base import Conflict, PreconditionFailed


def _conflict_classes() -> tuple[type, ...]:
    """Service exceptions that mean "the record changed under you" rather than "bad input".

    Imported lazily: users is the bottom floor and must not import the apps above it at load.
    """
    classes: list[type] = []
    try:
        from scheduling.services import BookingConflict

        classes.append(BookingConflict)
    except ImportError:  # pragma: no cover - app not installed
        pass
    return tuple(classes)


def _stale_classes() -> tuple[type, ...]:
    classes: list[type] = []
    try:
        from sessions.services import NoteConflict

        classes.append(NoteConflict)
    except ImportError:  # pragma: no cover
        pass
    return tuple(classes)


def exception_handler(exc, context):
    """Services raise Django's ValidationError; the API answers it as a 400 naming the fields.

    A booking conflict (room or facilitator already held) is 409; a stale note edit is 412.
    """
    if isinstance(exc, DjangoValidationError):
        if isinstance(exc, _conflict_classes()):
            exc = Conflict(detail=" ".join(exc.messages))
        elif isinstance(exc, _stale_classes()):
            exc = PreconditionFailed(detail=" ".join(exc.messages))
        else:
            exc = exceptions.ValidationError(as_serializer_error(exc))
    return drf_exception_handler(exc, context)
