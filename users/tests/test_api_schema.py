"""The OpenAPI schema and its viewers are served to signed-in staff, with vendored assets."""

import pytest
import yaml
from django.urls import reverse

from users.models import Role

pytestmark = pytest.mark.django_db


def test_the_schema_describes_the_api(client_as):
    response = client_as(Role.CLINICIAN).get(reverse("api:schema"))
    assert response.status_code == 200
    schema = yaml.safe_load(response.content)
    assert schema["openapi"].startswith("3.")
    assert "/api/v1/me/" in schema["paths"]


@pytest.mark.parametrize("name", ["api:docs", "api:redoc"])
def test_the_viewers_load_their_assets_locally(client_as, name):
    body = client_as(Role.CLINICIAN).get(reverse(name)).content.decode()
    assert "/static/drf_spectacular_sidecar/" in body
    assert "cdn" not in body.lower()


def test_the_schema_is_not_public(client):
    assert client.get(reverse("api:schema")).status_code in (401, 403)
