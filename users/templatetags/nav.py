"""The navigation's cost on every signed-in page.

``{% navurl 'name' %}``: the address of a page that takes no arguments, worked out once per
(script prefix, URLconf, name) instead of reversed on every request.

``{% main_nav %}``: the main navigation (``_nav.html``), rendered once per combination of what it
shows (role, site, staff flag, current page, alert badge) and then reused. It holds no patient
data: links, the site's public id and a count.
"""

from __future__ import annotations

from django import template
from django.conf import settings
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils.safestring import SafeString

register = template.Library()

_addresses: dict[tuple[str, str, str], str] = {}


@register.simple_tag
def navurl(name: str) -> str:
    key = (get_script_prefix(), str(get_urlconf() or settings.ROOT_URLCONF), name)
    address = _addresses.get(key)
    if address is None:
        address = _addresses[key] = reverse(name)
    return address


# The rendered navigation by what it depends on; emptied when full (a clinic has a few hundred
# combinations of role, site and page).
_menus: dict[tuple, SafeString] = {}
_MENUS_MAX = 4096


@register.simple_tag(takes_context=True)
def main_nav(context) -> SafeString:
    """``_nav.html`` reads exactly these values; a new variable there must join this key."""
    request = context["request"]
    clinic = context.get("clinic")
    site = clinic.site if clinic is not None else None
    match = request.resolver_match
    alerts = context.get("open_alerts")
    key = (
        get_script_prefix(),
        str(get_urlconf() or settings.ROOT_URLCONF),
        clinic.role if clinic is not None else None,
        site.public_id if site is not None else None,
        bool(getattr(context.get("user"), "is_staff", False)),
        (match.url_name, match.view_name, match.app_name) if match is not None else None,
        (alerts.count, alerts.more) if alerts is not None and site is not None else None,
    )
    menu = _menus.get(key) if not settings.DEBUG else None
    if menu is None:
        template = context.template.engine.get_template("_nav.html")
        menu = template.render(context)  # a SafeString: the template escaped what it printed
        if len(_menus) >= _MENUS_MAX:
            _menus.clear()
        _menus[key] = menu
    return menu
