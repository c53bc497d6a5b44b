import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings

from users.models import Membership, Site, User

pytestmark = pytest.mark.django_db


@override_settings(DEBUG=True)
def test_it_builds_the_demo_clinic_and_can_run_twice():
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    counts = (Site.objects.count(), User.objects.count(), Membership.objects.count())
    call_command("seed_demo", stdout=io.StringIO())
    assert (Site.objects.count(), User.objects.count(), Membership.objects.count()) == counts
    assert counts[0] == 2
    text = out.getvalue()
    for email in (
        "intake@demo.test",
        "clinician@demo.test",
        "supervisor@demo.test",
        "director@demo.test",
        "siteadmin@demo.test",
    ):
        assert email in text
    roles = set(Membership.objects.values_list("role", flat=True))
    assert roles == {"intake", "clinician", "supervisor", "director", "site_admin"}


@override_settings(DEBUG=False)
def test_it_is_refused_when_debug_is_off():
    with pytest.raises(CommandError, match="DJANGO_DEBUG"):
        call_command("seed_demo", stdout=io.StringIO())
    assert not User.objects.exists()
