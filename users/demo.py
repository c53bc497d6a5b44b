"""Demo sites and staff for ``manage.py seed_demo``. Fake people only."""

from __future__ import annotations

from .models import Membership, Role, Site, User

DEMO_PASSWORD = "clinic-demo-2026"

SITES = [
    {
        "name": "Riverside",
        "time_zone": "America/New_York",
        "sender_name": "Riverside Health Center",
        "address": "120 River Road\nSpringfield, NY 10001",
        "phone": "555-0100",
    },
    {
        "name": "Lakeside",
        "time_zone": "America/Chicago",
        "sender_name": "Lakeside Health Center",
        "address": "8 Shore Avenue\nLakeview, IL 60601",
        "phone": "555-0200",
    },
]

# email, full name, credentials, {site: role}, is_staff, is_superuser
STAFF = [
    ("intake@demo.test", "Ines Intake", "", {"Riverside": Role.INTAKE}, False, False),
    ("clinician@demo.test", "Carla Counselor", "LADC", {"Riverside": Role.CLINICIAN}, False, False),
    ("clinician2@demo.test", "Colin Counselor", "CADC-II", {"Lakeside": Role.CLINICIAN}, False, False),
    (
        "supervisor@demo.test",
        "Sam Supervisor",
        "LCSW",
        {"Riverside": Role.SUPERVISOR, "Lakeside": Role.SUPERVISOR},
        False,
        False,
    ),
    (
        "director@demo.test",
        "Dana Director",
        "PhD",
        {"Riverside": Role.DIRECTOR, "Lakeside": Role.DIRECTOR},
        False,
        False,
    ),
    ("siteadmin@demo.test", "Ari Admin", "", {"Riverside": Role.SITE_ADMIN, "Lakeside": Role.SITE_ADMIN}, True, False),
    ("admin@demo.test", "Sys Admin", "", {}, True, True),
]

ROLE_OF_LOGIN = {
    email: ", ".join(f"{r.label} at {s}" for s, r in roles.items()) or "Superuser (Django admin)"
    for email, _, _, roles, _, _ in STAFF
}


def seed(stdout, context: dict) -> dict:
    sites = {}
    for data in SITES:
        site, _ = Site.objects.get_or_create(name=data["name"], defaults=data)
        sites[site.name] = site
    for email, name, credentials, roles, is_staff, is_superuser in STAFF:
        user = User.objects.filter(email=email).first()
        if user is None:
            user = User.objects.create_user(
                email,
                DEMO_PASSWORD,
                full_name=name,
                credentials=credentials,
                is_staff=is_staff,
                is_superuser=is_superuser,
            )
        for site_name, role in roles.items():
            Membership.objects.get_or_create(user=user, site=sites[site_name], defaults={"role": role})
    stdout.write(f"  users: {len(SITES)} sites, {len(STAFF)} staff accounts")
    return {"sites": sites}
