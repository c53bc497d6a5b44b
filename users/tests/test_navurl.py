"""``{% navurl %}``: the same address as ``{% url %}``, kept per script prefix."""

import pytest
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


@pytest.mark.django_db
def test_the_menu_follows_the_page_the_role_and_the_badge(make_staff):
    from django.test import Client

    from users.models import Role

    clinician, intake = make_staff(Role.CLINICIAN), make_staff(Role.INTAKE)
    client = Client()
    client.force_login(clinician)
    home = client.get(reverse("home")).content.decode()
    my_day = client.get(reverse("scheduling:my_day")).content.decode()
    assert f'href="{reverse("home")}" aria-current="page"' in home
    assert f'href="{reverse("scheduling:my_day")}" aria-current="page"' in my_day
    assert 'aria-current="page">Home' not in my_day
    assert "Co-sign queue" not in my_day and "Caseload" in my_day
    intake_client = Client()
    intake_client.force_login(intake)
    intake_home = intake_client.get(reverse("home")).content.decode()
    assert "Intake board" in intake_home and "Caseload" not in intake_home


@pytest.mark.django_db
def test_the_menu_shows_a_new_alert_at_once(make_staff):
    from django.test import Client

    from notifications.models import Alert
    from users.models import Role

    clinician = make_staff(Role.CLINICIAN)
    client = Client()
    client.force_login(clinician)
    assert "nav-count" not in client.get(reverse("scheduling:my_day")).content.decode()
    site = clinician.memberships.get().site
    alert = Alert.objects.create(site=site, kind="safety", severity="high", title_code="safety_plan")
    alert.recipients.add(clinician)
    assert 'nav-count">1<' in client.get(reverse("scheduling:my_day")).content.decode()
