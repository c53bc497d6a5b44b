from django import template

from patients.validators import format_phone

register = template.Library()


@register.filter
def phone(value: str) -> str:
    """Show an E.164 number the way staff read it: (212) 555-0143."""
    return format_phone(value)
