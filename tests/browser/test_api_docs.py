"""The API reference pages render offline under the strict Content-Security-Policy."""

import pytest

from users.models import Role
from users.tests.factories import PASSWORD, MembershipFactory, SiteFactory, UserFactory

from .conftest import shot, sign_in

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def developer():
    user = UserFactory(mfa=True, full_name="Ivy Integrator")
    MembershipFactory(user=user, site=SiteFactory(name="Riverside Test"), role=Role.SITE_ADMIN)
    return user


def test_swagger_ui_and_redoc_render_from_local_assets(page, app_url, developer):
    answered: list[str] = []

    def on_response(response) -> None:
        if not response.url.startswith((app_url, "data:", "blob:")):
            answered.append(f"{response.url} → {response.status}")

    page.on("response", on_response)
    sign_in(page, app_url, developer.email, PASSWORD, developer.totp_secret)
    page.goto(f"{app_url}/api/docs/")
    page.get_by_text("/api/v1/me/").first.wait_for()
    shot(page, "api-swagger")
    page.goto(f"{app_url}/api/redoc/")
    page.get_by_text("IOP Clinic API").first.wait_for()
    shot(page, "api-redoc")
    # Nothing answered from outside this server: ReDoc's CDN logo is stopped by the CSP first.
    assert answered == []
