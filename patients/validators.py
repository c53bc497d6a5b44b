"""Input rules shared by the patient models and forms."""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError

PHONE_HELP = "A 10-digit US number such as 212-555-0143, or an international number starting with + (E.164)."
_SEPARATORS = re.compile(r"[\s().-]")
_E164 = re.compile(r"^\+[1-9]\d{7,14}$")


def _nanp_ok(ten: str) -> bool:
    # North American numbers: area code and exchange never start with 0 or 1.
    return len(ten) == 10 and ten.isdigit() and ten[0] not in "01" and ten[3] not in "01"


def normalize_phone(value: str | None) -> str:
    """Return the number in E.164 form (``+12125550143``), or "" for blank input.

    Accepts a 10-digit US number with the usual separators (an optional leading 1), or an
    international number starting with ``+``. Anything else raises ValidationError.
    """
    raw = (value or "").strip()
    if not raw:
        return ""
    error = ValidationError(f"Enter a valid phone number: {PHONE_HELP[0].lower()}{PHONE_HELP[1:]}", code="phone")
    compact = _SEPARATORS.sub("", raw)
    if compact.startswith("+"):
        if not _E164.match(compact) or (compact.startswith("+1") and not _nanp_ok(compact[2:])):
            raise error
        return compact
    if not compact.isdigit():
        raise error
    if len(compact) == 11 and compact.startswith("1"):
        compact = compact[1:]
    if not _nanp_ok(compact):
        raise error
    return "+1" + compact


def validate_phone(value: str) -> None:
    normalize_phone(value)


def format_phone(value: str | None) -> str:
    """``+12125550143`` → ``(212) 555-0143``; other numbers are shown as stored."""
    if value and value.startswith("+1") and len(value) == 12:
        return f"({value[2:5]}) {value[5:8]}-{value[8:]}"
    return value or ""
