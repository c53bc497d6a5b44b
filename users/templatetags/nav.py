"""``{% navurl 'name' %}``: the address of a page that takes no arguments, worked out once.

Every signed-in page draws the navigation, about 25 links; ``{% url %}`` reverses each of them
on every request. The addresses of argument-free pages only change with the script prefix or the
URLconf, so they are kept per (prefix, URLconf, name).
"""

from __future__ import annotations

from django import template
from django.conf import settings
from django.urls import get_script_prefix, get_urlconf, reverse

register = template.Library()

_addresses: dict[tuple[str, str, str], str] = {}


@register.simple_tag
def navurl(name: str) -> str:
    key = (get_script_prefix(), str(get_urlconf() or settings.ROOT_URLCONF), name)
    address = _addresses.get(key)
    if address is None:
        address = _addresses[key] = reverse(name)
    return address
