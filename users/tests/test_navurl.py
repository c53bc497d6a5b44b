"""``{% navurl %}``: the same address as ``{% url %}``, kept per script prefix."""

from django.template import Context, Template
from django.urls import reverse, set_script_prefix

from users.templatetags.nav import navurl


def test_it_gives_the_address_url_gives():
    for name in ("home", "scheduling:my_day", "reports:caseload", "audit:list", "admin:index"):
        assert navurl(name) == reverse(name)
    rendered = Template("{% load nav %}<a href=\"{% navurl 'patients:search' %}\">").render(Context({}))
    assert rendered == f'<a href="{reverse("patients:search")}">'


def test_it_follows_the_script_prefix():
    plain = navurl("scheduling:my_day")
    set_script_prefix("/clinic/")
    try:
        assert navurl("scheduling:my_day") == "/clinic" + plain == reverse("scheduling:my_day")
    finally:
        set_script_prefix("/")
    assert navurl("scheduling:my_day") == plain
