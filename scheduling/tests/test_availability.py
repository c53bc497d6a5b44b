"""Staff working hours and time off: the services' refusals and audit, and the page where a
clinician keeps their own and a supervisor or site admin anyone's at the site."""

from datetime import date, datetime, time, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from audit.models import AuditEvent
from scheduling import services
from scheduling.models import StaffAvailability, TimeOff, local_datetime
from users.models import Role

pytestmark = pytest.mark.django_db

MONDAY = 0


def _own_url(site):
    return f"{reverse('scheduling:my_availability')}?site={site.public_id}"


def _staff_url(site, user):
    return f"{reverse('scheduling:staff_availability', args=[user.public_id])}?site={site.public_id}"


def _hours(**fields):
    data = {"action": "hours", "hours-weekday": "0", "hours-start_time": "09:00", "hours-end_time": "17:00"}
    data.update({f"hours-{k}": v for k, v in fields.items()})
    return data


def _off(**fields):
    data = {
        "action": "off",
        "off-start_date": "2030-07-01",
        "off-start_time": "",
        "off-end_date": "2030-07-05",
        "off-end_time": "",
        "off-reason": "Vacation",
    }
    data.update({f"off-{k}": v for k, v in fields.items()})
    return data


# --- Services ------------------------------------------------------------------------------------


def test_hours_are_added_and_removed_with_audit(site, clinician, supervisor):
    slot = services.availability_add(
        user=clinician, site=site, weekday=MONDAY, start_time=time(9), end_time=time(12), by=supervisor
    )
    event = AuditEvent.objects.order_by("-id").first()
    assert (event.action, event.object_type, event.actor_id) == (
        "create",
        "scheduling.StaffAvailability",
        supervisor.pk,
    )
    assert event.changes["user"] == str(clinician.public_id)
    # Hours that only touch the earlier ones are fine.
    services.availability_add(
        user=clinician, site=site, weekday=MONDAY, start_time=time(12), end_time=time(17), by=clinician
    )
    services.availability_remove(slot=slot, by=supervisor)
    assert list(StaffAvailability.objects.values_list("start_time", flat=True)) == [time(12)]
    assert AuditEvent.objects.order_by("-id").first().action == "delete"


def test_hours_ending_before_they_start_are_refused(site, clinician):
    with pytest.raises(ValidationError) as exc:
        services.availability_add(
            user=clinician, site=site, weekday=MONDAY, start_time=time(17), end_time=time(9), by=clinician
        )
    assert "end_time" in exc.value.message_dict
    assert not StaffAvailability.objects.exists()


def test_overlapping_hours_are_refused(site, clinician):
    services.availability_add(user=clinician, site=site, weekday=MONDAY, start_time=time(9), end_time=time(12), by=None)
    with pytest.raises(ValidationError) as exc:
        services.availability_add(
            user=clinician, site=site, weekday=MONDAY, start_time=time(11), end_time=time(14), by=None
        )
    assert "overlap Monday 09:00–12:00" in exc.value.message_dict["start_time"][0]
    # Another weekday, or another site, does not clash.
    services.availability_add(user=clinician, site=site, weekday=1, start_time=time(11), end_time=time(14), by=None)
    assert StaffAvailability.objects.count() == 2


def test_hours_are_for_staff_of_the_site_only(site, other_site, make_staff):
    stranger = make_staff(Role.CLINICIAN, at=other_site)
    with pytest.raises(ValidationError, match="active staff of this site"):
        services.availability_add(
            user=stranger, site=site, weekday=MONDAY, start_time=time(9), end_time=time(12), by=None
        )


def test_time_off_overlap_and_end_before_start_are_refused(site, clinician):
    zone = site.zone
    start = local_datetime(date(2030, 7, 1), time.min, zone)
    services.time_off_add(user=clinician, site=site, starts_at=start, ends_at=start + timedelta(days=5), by=clinician)
    event = AuditEvent.objects.order_by("-id").first()
    assert (event.action, event.object_type, event.site_id) == ("create", "scheduling.TimeOff", site.pk)
    with pytest.raises(ValidationError) as exc:
        services.time_off_add(
            user=clinician, starts_at=start + timedelta(days=4), ends_at=start + timedelta(days=9), by=clinician
        )
    assert "overlaps time off already recorded" in exc.value.message_dict["starts_at"][0]
    with pytest.raises(ValidationError) as exc:
        services.time_off_add(
            user=clinician, starts_at=start + timedelta(days=20), ends_at=start + timedelta(days=19), by=clinician
        )
    assert "ends_at" in exc.value.message_dict
    assert TimeOff.objects.count() == 1
    services.time_off_remove(off=TimeOff.objects.get(), site=site, by=clinician)
    assert not TimeOff.objects.exists()


# --- The page: who may see and change what ------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.CLINICIAN, Role.SUPERVISOR, Role.DIRECTOR, Role.INTAKE, Role.SITE_ADMIN])
def test_every_member_opens_their_own_page(role, site, client_as):
    response = client_as(role).get(_own_url(site))
    assert response.status_code == 200
    assert "My working hours and time off" in response.content.decode()


def test_role_matrix_for_someone_elses_page(site, client_as, clinician, other_site):
    url = _staff_url(site, clinician)
    assert client_as(Role.SUPERVISOR).get(url).status_code == 200
    assert client_as(Role.SITE_ADMIN).get(url).status_code == 200
    assert client_as(Role.CLINICIAN).get(url).status_code == 403
    assert client_as(Role.INTAKE).get(url).status_code == 403
    # A member of another site only: that site is not theirs (404), nor is the person at theirs.
    outsider = client_as(Role.SUPERVISOR, at=other_site)
    assert outsider.get(url).status_code == 404
    assert outsider.get(reverse("scheduling:staff_availability", args=[clinician.public_id])).status_code == 404
    assert outsider.get(_own_url(site)).status_code == 404
    from django.test import Client

    anonymous = Client().get(url)
    assert anonymous.status_code == 302 and "/accounts/login/" in anonymous["Location"]
    assert "/accounts/login/" in Client().get(_own_url(site))["Location"]


def test_a_clinician_keeps_their_own_hours_and_time_off(site, client_as):
    client = client_as(Role.CLINICIAN)
    me = client.user
    response = client.post(_own_url(site), _hours(start_time="08:30", end_time="16:30"))
    assert response.status_code == 302
    slot = StaffAvailability.objects.get()
    assert (slot.user, slot.site, slot.weekday, slot.start_time) == (me, site, 0, time(8, 30))
    response = client.post(_own_url(site), _off())
    assert response.status_code == 302
    off = TimeOff.objects.get()
    # Whole days, in the site's zone: from local midnight to the midnight after the last day.
    assert off.starts_at == datetime(2030, 7, 1, tzinfo=site.zone)
    assert off.ends_at == datetime(2030, 7, 6, tzinfo=site.zone)
    page = client.get(_own_url(site)).content.decode()
    assert "08:30" in page and "Vacation" in page
    assert "Mon 2030-07-01" in page and "Fri 2030-07-05, end of day" in page
    client.post(_own_url(site), {"action": "remove_hours", "pk": slot.pk})
    client.post(_own_url(site), {"action": "remove_off", "pk": off.pk})
    assert not StaffAvailability.objects.exists() and not TimeOff.objects.exists()


def test_a_supervisor_manages_a_clinicians_hours(site, client_as, clinician):
    client = client_as(Role.SUPERVISOR)
    assert client.post(_staff_url(site, clinician), _hours()).status_code == 302
    assert client.post(_staff_url(site, clinician), _off()).status_code == 302
    assert StaffAvailability.objects.get().user == clinician
    assert TimeOff.objects.get().user == clinician
    # The supervisor's own page lists the site's staff, with a link to each.
    assert _staff_url(site, clinician).split("?")[0] in client.get(_own_url(site)).content.decode()


def test_a_clinician_cannot_change_a_colleagues_hours(site, client_as, clinician):
    slot = services.availability_add(
        user=clinician, site=site, weekday=MONDAY, start_time=time(9), end_time=time(12), by=None
    )
    colleague = client_as(Role.CLINICIAN)
    assert colleague.post(_staff_url(site, clinician), _hours(weekday="2")).status_code == 403
    assert colleague.post(_staff_url(site, clinician), {"action": "remove_hours", "pk": slot.pk}).status_code == 403
    # Nor through their own page (the row is not theirs).
    assert colleague.post(_own_url(site), {"action": "remove_hours", "pk": slot.pk}).status_code == 404
    assert StaffAvailability.objects.count() == 1


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        (_hours(start_time="17:00", end_time="09:00"), "end_time", "end time must be after the start time"),
        (_hours(start_time="11:00", end_time="13:00"), "start_time", "overlap Monday 09:00–12:00"),
    ],
)
def test_bad_hours_get_a_message_on_the_field(site, client_as, data, field, message):
    client = client_as(Role.CLINICIAN)
    services.availability_add(
        user=client.user, site=site, weekday=MONDAY, start_time=time(9), end_time=time(12), by=None
    )
    response = client.post(_own_url(site), data)
    assert response.status_code == 200
    assert message in " ".join(response.context["hours_form"].errors[field])
    assert f'id="id_hours-{field}_error"' in response.content.decode()
    assert StaffAvailability.objects.count() == 1


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        (_off(start_date="2030-07-05", end_date="2030-07-01"), "end_date", "end must be after the start"),
        (
            _off(start_date="2030-07-03", start_time="13:00", end_date="2030-07-03", end_time="09:00"),
            "end_time",
            "end must be after the start",
        ),
        (_off(start_date="2030-06-28", end_date="2030-07-02"), "start_date", "overlaps time off already recorded"),
    ],
)
def test_bad_time_off_gets_a_message_on_the_field(site, client_as, data, field, message):
    client = client_as(Role.CLINICIAN)
    assert client.post(_own_url(site), _off()).status_code == 302
    response = client.post(_own_url(site), data)
    assert response.status_code == 200
    assert message in " ".join(response.context["off_form"].errors[field])
    assert TimeOff.objects.count() == 1
