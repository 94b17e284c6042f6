"""Each surface's served OpenAPI document loads as OpenAPI 3 (schemathesis reads every operation of it) and
documents every route Django serves under the surface's mount: a new route without a schema fails here."""

import pytest
import schemathesis

from tests import isolation

# mount -> (schema URL, routes served there that are no API operations)
SURFACES = {
    "emotion/v1/": ("/emotion/v1/openapi.json", {"openapi.json"}),
    "studio/api/v1/": ("/studio/api/v1/openapi.json", {"openapi.json"}),
}


@pytest.fixture
def served(anon):
    def fetch(url: str) -> dict:
        response = anon.get(url)
        assert response.status_code == 200 and response["Content-Type"].startswith("application/json")
        return response.json()

    return fetch


@pytest.mark.parametrize("mount", sorted(SURFACES))
def test_the_schema_loads_and_documents_every_route_of_the_mount(mount, served, db):
    url, not_operations = SURFACES[mount]
    document = served(url)
    assert document["openapi"].startswith("3.")
    operations = list(schemathesis.openapi.from_dict(document).get_all_operations())
    assert operations and all(result.ok() for result in operations), [r.err() for r in operations if not r.ok()]
    routes = isolation.shapes(isolation.mounted_routes(mount, ignored=not_operations))
    documented = isolation.shapes(isolation.schema_routes(document))
    assert routes == documented, {"undocumented": routes - documented, "not served": documented - routes}


def test_the_routes_are_read_through_the_includes():
    """What the comparison reads: the mount's routes with their parameters, without the catch-all 404."""
    routes = isolation.mounted_routes("emotion/v1/")
    assert {"personas/{persona_id}/perceive", "worlds/{world_id}/personas/{member_ref}/tick"} <= routes
    assert not any("^" in route or "$" in route for route in routes)
