"""GET /v1/openapi.json, GET /v1/llms.txt and the browsable API."""

import re
from html import unescape

import pytest
from drf_spectacular.validation import validate_schema

ENDPOINTS = {
    ("/v1/characters", "post"),
    ("/v1/characters", "get"),
    ("/v1/characters/validate", "post"),
    ("/v1/characters/{slug}", "get"),
    ("/v1/characters/{slug}/versions", "get"),
    ("/v1/characters/{slug}/readiness", "get"),
    ("/v1/sessions", "post"),
    ("/v1/sessions", "get"),
    ("/v1/sessions/{session_id}", "get"),
    ("/v1/sessions/{session_id}/messages", "post"),
    ("/v1/sessions/{session_id}/events", "get"),
    ("/v1/sessions/{session_id}/events/stream", "get"),
    ("/v1/sessions/{session_id}/runs", "get"),
    ("/v1/demo/sandbox-key", "post"),
    ("/v1/characters/{slug}/image-probe", "post"),
    ("/v1/characters/{slug}/image-probe/{probe_id}", "get"),
    ("/v1/characters/{slug}/visual-assets", "post"),
    ("/v1/characters/{slug}/visual-assets", "get"),
    ("/v1/characters/{slug}/visual-assets/register-url", "post"),
    ("/v1/characters/{slug}/visual-assets/{asset_id}", "get"),
    ("/v1/characters/{slug}/visual-assets/{asset_id}/promote", "post"),
    ("/v1/characters/{slug}/visual-assets/{asset_id}/retire", "post"),
    ("/v1/characters/{slug}/visual-readiness", "get"),
    ("/v1/files/{token}", "get"),
    ("/v1/sessions/{session_id}/memory", "get"),
    ("/v1/sessions/{session_id}/memory", "patch"),
    ("/v1/sessions/{session_id}/memory", "delete"),
    ("/v1/sessions/{session_id}/runs/{run_ref}/context", "get"),
    ("/v1/external-users/{external_user_ref}", "delete"),
}


@pytest.fixture(scope="module")
def schema(django_db_blocker):
    from rest_framework.test import APIClient

    with django_db_blocker.unblock():
        response = APIClient().get("/v1/openapi.json")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/") and "json" in response["Content-Type"]
    return response.json()


def _resolve(schema: dict, node: dict) -> dict:
    while "$ref" in node:
        node = schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[1]]
    return node


def test_schema_is_valid_openapi_3(schema):
    assert schema["openapi"].startswith("3.")
    validate_schema(schema)  # drf-spectacular's bundled OpenAPI 3 JSON Schema


def test_schema_lists_every_v1_endpoint_and_nothing_else(schema):
    listed = {(path, method) for path, item in schema["paths"].items() for method in item if method != "parameters"}
    assert listed >= ENDPOINTS
    assert all(path.startswith("/v1/") for path in schema["paths"])
    assert "/v1/openapi.json" not in schema["paths"]


def test_request_bodies_are_real_schemas(schema):
    for path, fields in {
        "/v1/characters": {"slug", "display_name", "greeting", "behavioral_thresholds", "voice_samples", "profile"},
        "/v1/characters/validate": {"slug", "display_name"},
        "/v1/sessions": {"character", "external_user_ref", "proactive_enabled"},
        "/v1/sessions/{session_id}/messages": {"text"},
    }.items():
        body = schema["paths"][path]["post"]["requestBody"]
        assert body.get("required") is True, path
        properties = _resolve(schema, body["content"]["application/json"]["schema"])["properties"]
        assert fields <= set(properties), path
    character = _resolve(
        schema, schema["paths"]["/v1/characters"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    )
    assert set(character["required"]) == {"slug", "display_name"}
    thresholds = _resolve(schema, character["properties"]["behavioral_thresholds"])
    assert thresholds["properties"]["proactivity_tolerance"]["maximum"] == 1


def test_responses_are_enveloped_schemas_not_empty_objects(schema):
    for path, method in ENDPOINTS - {("/v1/sessions/{session_id}/events/stream", "get"), ("/v1/files/{token}", "get")}:
        responses = schema["paths"][path][method]["responses"]
        success = [code for code in responses if code.startswith("2")]
        assert success, (path, method)
        for code in success:
            envelope = _resolve(schema, responses[code]["content"]["application/json"]["schema"])
            assert {"schema_version", "data", "next_actions"} <= set(envelope["properties"]), (path, code)
            data = _resolve(schema, envelope["properties"]["data"])
            assert data.get("properties"), (path, code)
        if path != "/v1/demo/sandbox-key":
            error = _resolve(schema, responses["401"]["content"]["application/json"]["schema"])
            assert _resolve(schema, error["properties"]["detail"])["properties"].keys() >= {"code", "message", "fix"}
    accepted = _resolve(
        schema,
        _resolve(
            schema,
            schema["paths"]["/v1/sessions/{session_id}/messages"]["post"]["responses"]["202"]["content"][
                "application/json"
            ]["schema"],
        )["properties"]["data"],
    )
    assert {"accepted", "cursor", "sent_turn_index", "run_ref", "reply_mode"} <= set(accepted["properties"])


def test_the_rate_card_documents_chat_and_image_rates(schema):
    response = schema["paths"]["/v1/rates"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    data = _resolve(schema, _resolve(schema, response)["properties"]["data"])
    assert {"unit", "models", "images"} <= set(data["properties"])
    images = _resolve(schema, data["properties"]["images"])
    assert set(images["properties"]) == {"credits_per_image", "models"}
    image_model = _resolve(schema, images["properties"]["models"]["items"])
    assert set(image_model["properties"]) == {
        "model",
        "provider",
        "credits_per_image",
        "width",
        "height",
        "is_default",
    }
    assert image_model["properties"]["credits_per_image"]["type"] == "number"


def test_schema_documents_bearer_auth_and_query_parameters(schema):
    schemes = schema["components"]["securitySchemes"]
    assert schemes["ApiKey"] == {"type": "http", "scheme": "bearer", "description": schemes["ApiKey"]["description"]}
    events = {p["name"]: p for p in schema["paths"]["/v1/sessions/{session_id}/events"]["get"]["parameters"]}
    assert events["limit"]["schema"]["maximum"] == 500 and events["since"]["schema"]["minimum"] == 0
    messages = {p["name"] for p in schema["paths"]["/v1/sessions/{session_id}/messages"]["post"]["parameters"]}
    assert "Idempotency-Key" in messages
    sessions = {p["name"] for p in schema["paths"]["/v1/sessions"]["get"]["parameters"]}
    assert {"limit", "cursor", "character", "external_user_ref"} <= sessions


def test_the_visual_asset_upload_is_multipart_and_files_need_no_key(schema):
    upload = schema["paths"]["/v1/characters/{slug}/visual-assets"]["post"]
    body = _resolve(schema, upload["requestBody"]["content"]["multipart/form-data"]["schema"])
    assert body["properties"]["file"] == {**body["properties"]["file"], "type": "string", "format": "binary"}
    assert {"file", "asset_key", "category"} <= set(body["required"])
    assert {"409", "413", "422"} <= set(upload["responses"])
    files = schema["paths"]["/v1/files/{token}"]["get"]
    assert files["security"] == [] and {"200", "403", "404"} <= set(files["responses"])


def test_character_patch_is_documented_as_a_merge_patch(anon, db):
    schema = anon.get("/v1/openapi.json").json()
    operation = schema["paths"]["/v1/characters/{slug}"]["patch"]
    assert operation["operationId"] == "character_patch"
    assert set(operation["requestBody"]["content"]) == {"application/json", "application/merge-patch+json"}
    assert {"200", "401", "404", "422"} <= set(operation["responses"])
    body = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    properties = schema["components"]["schemas"][body]["properties"]
    assert not schema["components"]["schemas"][body].get("required")  # send only what changes
    assert properties["greeting"].get("nullable") and not properties["display_name"].get("nullable")
    assert "slug" not in properties  # the URL's slug; a body may only repeat it
    output = schema["components"]["schemas"]["CharacterOutput"]["properties"]
    assert output["dropped_fields"]["type"] == "array"
    assert "409" not in schema["paths"]["/v1/characters"]["post"]["responses"]  # slugs are per app


def test_llms_txt_is_a_short_guide_with_the_quickstart(anon, db):
    response = anon.get("/v1/llms.txt")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    text = response.content.decode()
    for call in (
        "POST /v1/characters",
        "POST /v1/sessions",
        "POST /v1/sessions/{session_id}/messages",
        "GET /v1/sessions/{session_id}/events",
        "PATCH /v1/characters/{slug}",
    ):
        assert call in text, call
    assert "http://testserver" in text  # the base URL is filled in
    assert "Authorization: Bearer" in text and "/v1/openapi.json" in text
    assert len(text) < 8000


def test_browsable_api_renders_for_a_logged_in_staff_user(admin_client):
    response = admin_client.get("/v1/characters", HTTP_ACCEPT="text/html")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    assert "Character Collection" in response.content.decode()
    assert "<title>Character Collection – Dramatis API</title>" in response.content.decode()  # our template
    # writes from the browsable API land in the staff user's own playground app
    created = admin_client.post(
        "/v1/characters", {"slug": "play", "display_name": "Play"}, content_type="application/json"
    )
    assert created.status_code == 201
    listed = admin_client.get("/v1/characters", HTTP_ACCEPT="application/json").json()["data"]["characters"]
    assert [c["slug"] for c in listed] == ["play"]


def test_browsable_api_needs_staff(client, django_user_model):
    user = django_user_model.objects.create_user(username="plain", password="x")
    client.force_login(user)
    response = client.get("/v1/characters", HTTP_ACCEPT="application/json")
    assert response.status_code == 401 and response.json()["detail"]["code"] == "missing_api_key"


def test_browsable_api_renders_a_rejected_key_as_an_error_page(db):
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer drm_000000000000_nope")
    page = client.get("/v1/characters", HTTP_ACCEPT="text/html")
    assert page.status_code == 403 and page["Content-Type"].startswith("text/html")
    assert "invalid_api_key" in page.content.decode()


def test_browsable_api_without_a_key_is_a_401_page(anon, db):
    page = anon.get("/v1/characters", HTTP_ACCEPT="text/html")
    assert page.status_code == 401 and page["Content-Type"].startswith("text/html")
    assert "missing_api_key" in page.content.decode()


def test_v1_root_lists_the_endpoints_from_the_urlconf(api, owner):
    response = api.get("/v1/", HTTP_ACCEPT="application/json")

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"schema_version", "data", "next_actions"}
    groups = {group["group"]: group["endpoints"] for group in body["data"]["endpoint_groups"]}
    listed = {
        (endpoint["path"], method.lower())
        for endpoints in groups.values()
        for endpoint in endpoints
        for method in endpoint["methods"]
    }
    assert listed >= ENDPOINTS
    characters = {endpoint["path"]: endpoint for endpoint in groups["characters"]}
    assert characters["/v1/characters"]["url"] == "http://testserver/v1/characters"
    assert characters["/v1/characters/{slug}"]["url"] is None  # a template, not a link
    assert body["data"]["openapi"] == "http://testserver/v1/openapi.json"


def test_v1_root_is_public_but_a_bad_key_is_refused(anon, db):
    assert anon.get("/v1/", HTTP_ACCEPT="application/json").status_code == 200
    anon.credentials(HTTP_AUTHORIZATION="Bearer drm_000000000000_nope")
    refused = anon.get("/v1/", HTTP_ACCEPT="application/json")
    assert refused.status_code == 403 and refused.json()["detail"]["code"] == "invalid_api_key"
    assert set(refused.json()["detail"]) >= {"code", "message", "fix"}


def test_v1_root_in_the_browser_links_the_endpoints(admin_client):
    page = admin_client.get("/v1/", HTTP_ACCEPT="text/html")

    assert page.status_code == 200 and page["Content-Type"].startswith("text/html")
    html = page.content.decode()
    assert '<a href="http://testserver/v1/sessions"' in html  # DRF turns the URLs into links
    assert "<title>Api Root – Dramatis API</title>" in html


def test_browsable_api_top_bar_shows_the_signed_in_user(admin_client, admin_user):
    html = admin_client.get("/v1/characters", HTTP_ACCEPT="text/html").content.decode()

    bar = html[html.index('<ul class="nav navbar-nav pull-right">') :].split("</ul>\n", 1)[0]
    assert "Signed in as" in bar and admin_user.get_username() in bar
    assert f"playground:{admin_user.get_username()}" in bar  # the app the browser acts as
    assert "Log out" in html


def test_browsable_api_top_bar_offers_sign_in_when_signed_out(anon, db):
    html = anon.get("/v1/", HTTP_ACCEPT="text/html").content.decode()

    assert "Signed in as" not in html and 'href="/admin/login/?next=/v1/"' in html


@pytest.mark.parametrize(
    ("path", "field"),
    [("/v1/characters", '"display_name": "Luna"'), ("/v1/sessions", '"external_user_ref": "user_123"')],
)
def test_browsable_post_forms_start_from_an_example_body(admin_client, path, field):
    html = admin_client.get(path, HTTP_ACCEPT="text/html").content.decode()

    textarea = re.search(r'<textarea name="_content"[^>]*>(.*?)</textarea>', html, re.S)
    assert textarea and field in unescape(textarea.group(1))


def test_the_example_bodies_are_accepted_as_they_are(admin_client):
    from apps.api.native.views.characters import CharacterCollectionApi
    from apps.api.native.views.sessions import MessageSendApi, SessionCollectionApi

    character = admin_client.post("/v1/characters", CharacterCollectionApi.example_bodies["POST"], "application/json")
    session = admin_client.post("/v1/sessions", SessionCollectionApi.example_bodies["POST"], "application/json")
    session_id = session.json()["data"]["session_id"]
    message = admin_client.post(
        f"/v1/sessions/{session_id}/messages", MessageSendApi.example_bodies["POST"], "application/json"
    )

    assert (character.status_code, session.status_code, message.status_code) == (201, 201, 202)


def test_message_form_starts_from_an_example_for_the_session(admin_client):
    admin_client.post("/v1/characters", {"slug": "luna", "display_name": "Luna"}, "application/json")
    session_id = admin_client.post(
        "/v1/sessions", {"character": "luna", "external_user_ref": "u"}, "application/json"
    ).json()["data"]["session_id"]

    html = admin_client.get(f"/v1/sessions/{session_id}/messages", HTTP_ACCEPT="text/html").content.decode()

    assert '"text": "hey, what are you up to?"' in unescape(html)


def test_readiness_fix_is_nullable_in_the_schema(schema):
    response = schema["paths"]["/v1/characters/{slug}/readiness"]["get"]["responses"]["200"]
    envelope = _resolve(schema, response["content"]["application/json"]["schema"])
    readiness = _resolve(schema, envelope["properties"]["data"])
    check = _resolve(schema, readiness["properties"]["checks"]["items"])
    assert check["properties"]["fix"].get("nullable") is True
    assert check["properties"]["passed"]["type"] == "boolean"
