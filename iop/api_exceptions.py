"""The API's exception handler: service errors answered as 400, 409 or 412 naming the fields.

It names service exceptions of several apps (a booking conflict, a stale note), so it lives in
the project package, the top floor (ARCHITECTURE.md §3); ``REST_FRAMEWORK["EXCEPTION_HANDLER"]``
points here.
"""

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import exceptions
from rest_framework.serializers import as_serializer_error
from rest_framework.views import exception_handler as drf_exception_handler

from assessments.models import ImmutableRecord
from scheduling.services import BookingConflict
from sessions.models import SignedNoteLocked
from sessions.services import NoteConflict
from users.api.base import Conflict, PreconditionFailed


def exception_handler(exc, context):
    """Services raise Django's ValidationError; the API answers it as a 400 naming the fields.

    A booking conflict (room or facilitator already held) and a change to a signed, locked
    record (a note, a placement) are 409; a stale note edit is 412.
    """
    if isinstance(exc, SignedNoteLocked | ImmutableRecord):
        messages = exc.messages if isinstance(exc, DjangoValidationError) else [str(exc)]
        exc = Conflict(detail=" ".join(messages))
    elif isinstance(exc, DjangoValidationError):
        if isinstance(exc, BookingConflict):
            exc = Conflict(detail=" ".join(exc.messages))
        elif isinstance(exc, NoteConflict):
            exc = PreconditionFailed(detail=" ".join(exc.messages))
        else:
            exc = exceptions.ValidationError(as_serializer_error(exc))
    return drf_exception_handler(exc, context)
