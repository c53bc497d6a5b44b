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


def _locked_classes() -> tuple[type, ...]:
    """Refusals because a record is signed and locked (a note, a placement): 409, not 400."""
    classes: list[type] = []
    try:
        from sessions.models import SignedNoteLocked

        classes.append(SignedNoteLocked)
    except ImportError:  # pragma: no cover
        pass
    try:
        from assessments.models import ImmutableRecord

        classes.append(ImmutableRecord)
    except ImportError:  # pragma: no cover
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

    A booking conflict (room or facilitator already held) and a change to a signed, locked
    record are 409; a stale note edit is 412.
    """
    if isinstance(exc, _locked_classes()):
        messages = exc.messages if isinstance(exc, DjangoValidationError) else [str(exc)]
        exc = Conflict(detail=" ".join(messages))
    elif isinstance(exc, DjangoValidationError):
        if isinstance(exc, _conflict_classes()):
            exc = Conflict(detail=" ".join(exc.messages))
        elif isinstance(exc, _stale_classes()):
            exc = PreconditionFailed(detail=" ".join(exc.messages))
        else:
            exc = exceptions.ValidationError(as_serializer_error(exc))
    return drf_exception_handler(exc, context)
