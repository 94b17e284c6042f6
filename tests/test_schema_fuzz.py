"""Property-based fuzzing of the native /v1 surface from its own OpenAPI schema (reliability.md item 30).

Schemathesis generates requests for every operation from ``GET /v1/openapi.json`` and sends them to the
in-process WSGI app inside the test's transaction, with a valid key of an app that has a published
character ``luna`` and a session, so that most generated path ids name real resources. Every response must
be documented (status code, content type, body schema), no request may cause a 5xx, and every request the
schema calls invalid must be refused with a 4xx in the native error shape ``{"detail": {code, message, fix}}``.
The SSE stream never ends, so it is left to the stream tests.
"""

import itertools
import zlib

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.core.parameters import ParameterLocation

from apps.api.native.tests.contract import assert_error, row_counts
from apps.api.shared.pagination import page_cursor_encode
from apps.assets import selectors as asset_selectors
from apps.assets import services as asset_services
from apps.assets.models import GeneratedImage
from apps.assets.tests.cards_for_tests import charx_v3_with_icon, encoded, png_card, v2_card, v3_card
from apps.assets.tests.pictures import picture
from apps.characters import services as characters_services
from apps.conversations.models import Run
from apps.conversations.tests.factories import session_start
from apps.delivery.models import WebhookEndpoint
from apps.delivery.telegram import services as telegram_services
from config.wsgi import application
from tests import fuzzing

STREAM = "/v1/sessions/{session_id}/events/stream"
_sequence = itertools.count()

schema = schemathesis.openapi.from_wsgi("/v1/openapi.json", application).exclude(path=STREAM)
# U+0000 is refused in every text (PostgreSQL cannot store it in text or jsonb; test_errors covers the 422).
schema.config.generation.update(allow_x00=False)
# An invalid body can also be too big to read: a lorebook with one entry more than its maxItems is past the
# request size cap, refused unread with the 413 every write documents (in the native error shape).
_rejection = schema.config.checks.negative_data_rejection
_rejection.expected_statuses = [*_rejection.expected_statuses, "413"]


@pytest.fixture
def tenant(owner, db, fake_telegram, settings, picture_host):
    """The key's app with a published ``luna``, a session on it and a Telegram bot connected to it (on a
    fake Bot API): the real values of path parameters."""
    session = session_start(owner.api_key.app, slug="luna", display_name="Luna")
    channel, _ = telegram_services.telegram_channel_connect(
        app=owner.api_key.app,
        bot_token=fake_telegram.bot_create(),
        routing_mode="single_character",
        default_character_slug="luna",
    )
    settings.WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    hook = {"app": owner.api_key.app, "url": "http://127.0.0.1:9/hook", "secret": "fuzz-signing-secret-0123"}
    webhook = WebhookEndpoint.objects.create(session=session, **hook)
    endpoint = WebhookEndpoint.objects.create(**hook)
    asset = asset_services.visual_asset_upload(
        app=owner.api_key.app, character_slug="luna", file=picture("PNG"), asset_key="face", category="identity"
    ).asset
    probe = GeneratedImage.objects.create(
        app=owner.api_key.app,
        character=session.character,
        session_id=session.id,
        kind=GeneratedImage.Kind.PROBE,
        probe_type="identity_selfie",
        model="builtin",
        backend="builtin",
        prompt="a close-up selfie",
    )
    run = Run.objects.create(
        session=session, trigger_cursor=1, available_at=session.created_at, context={"model": "scripted", "parts": []}
    )
    lorebook = characters_services.lorebook_create(
        app=owner.api_key.app, data={"name": "World", "entries": [{"keys": ["harbour"], "content": "The harbour."}]}
    ).lorebook
    return {
        "key": owner.raw_key,
        "telegram": fake_telegram,
        "path": {
            "slug": "luna",
            "session_id": session.id,
            "app_id": owner.api_key.app.id,
            "channel_id": channel.id,
            "external_user_ref": session.external_user_ref,
            "webhook_id": webhook.id,
            "endpoint_id": endpoint.id,
            "asset_id": asset.id,
            "probe_id": probe.id,
            "run_ref": run.id,
            "lorebook_id": lorebook.id,
            "token": asset_selectors.file_url_signed(asset.file).url.rsplit("/", 1)[1],
        },
        "picture": picture("PNG"),
        "cards": {
            "multipart/form-data": {"file": png_card({"chara": encoded(v2_card())})},
            "image/png": png_card({"ccv3": encoded(v3_card())}),
            "application/json": v3_card(),
            "application/zip": charx_v3_with_icon(),
        },
        "picture_url": picture_host.serve("/face.png", picture("PNG")),
        "page_cursor": page_cursor_encode(session.created_at, session.id),
    }


@pytest.fixture(autouse=True)
def _keep_the_test_connection():
    """Django's own test client does this too: a real request would close the connection (and so roll back
    the test's transaction) when it starts and ends; the requests here run inside that transaction."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def _error_shape(response) -> None:
    detail = response.json()["detail"]
    assert {"code", "message", "fix"} <= set(detail), detail
    assert all(isinstance(detail[name], str) and detail[name] for name in ("code", "message", "fix")), detail


LOOSE_BODIES = {"multipart/form-data", "image/png", "application/zip"}


@schema.parametrize()
@settings(
    max_examples=fuzzing.examples(30),
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_every_operation_keeps_its_documented_contract(case, tenant, django_capture_on_commit_callbacks):
    _aim_at_real_resources(case, tenant)
    headers = {"Authorization": f"Bearer {tenant['key']}"}
    if case.media_type in LOOSE_BODIES and case.meta.is_negative_at(ParameterLocation.BODY):
        # Multipart carries every value as text, so a mutation of a value's type (null, a number) can arrive as
        # a valid string, which the server rightly accepts; a binary body (a card file) has no shape to break:
        # hold these to "no 5xx, errors in our shape" only.
        with django_capture_on_commit_callbacks(execute=True):
            response = case.call(headers=headers)
        assert response.status_code < 500, response.content[:300]
        if response.status_code >= 400:
            _error_shape(response)
        return
    with django_capture_on_commit_callbacks(execute=True):
        response = case.call_and_validate(headers=headers)
    if response.status_code >= 400:
        _error_shape(response)


def _aim_at_real_resources(case, tenant) -> None:
    """Point most schema-valid cases at the tenant's real character and session (random ids would only ever
    find 404s); the rest, and every case whose ids are the invalid part, keep what was generated."""
    negative_body = case.meta.is_negative_at(ParameterLocation.BODY)
    chosen = zlib.crc32(repr((case.path_parameters, case.body)).encode()) % 4 != 0  # stable, unlike hash()
    if case.path_parameters and chosen and not case.meta.is_negative_at(ParameterLocation.PATH):
        case.path_parameters = {name: tenant["path"][name] for name in case.path_parameters}
    if "cursor" in (case.query or {}) and not case.meta.is_negative_at(ParameterLocation.QUERY):
        # A page cursor is opaque: only one this endpoint returned is valid (a made-up one is a 422).
        case.query = {**case.query, "cursor": tenant["page_cursor"]}
    if isinstance(case.body, dict) and "character" in case.body and chosen and not negative_body:
        case.body = {**case.body, "character": tenant["path"]["slug"]}
    if isinstance(case.body, dict) and isinstance(case.body.get("character_version"), int) and not negative_body:
        # Which version numbers exist is data, not schema (an unknown one is a documented 422): use the first.
        case.body = {**case.body, "character_version": 1}
    if isinstance(case.body, dict) and "bot_token" in case.body and not negative_body:
        # A made-up token that has the right form is one Telegram refuses (a documented 422): use a real one.
        case.body = {**case.body, "bot_token": tenant["telegram"].bot_create()}
        if chosen:
            case.body["default_character_id"] = tenant["path"]["slug"]
    if isinstance(case.body, dict) and "file" in case.body and not negative_body:
        # Only a real picture passes (judged by decoding it), which no schema can say: send one.
        case.body = {**case.body, "file": tenant["picture"]}
    if case.path.endswith("/register-url") and isinstance(case.body, dict) and not negative_body:
        # A URL the guard lets through (loopback is allowed for the test) that answers with a picture.
        case.body = {**case.body, "url": tenant["picture_url"]}
    elif isinstance(case.body, dict) and "url" in case.body and not negative_body:
        # Whether a webhook URL is accepted depends on what its host resolves to (the SSRF guard), which no
        # schema can say; the contract tests cover the refusals, so the fuzzer's URLs point at loopback.
        case.body = {**case.body, "url": "http://127.0.0.1:9/hook"}
    memory_patch = case.path.endswith("/memory") and case.method.upper() == "PATCH"
    if memory_patch and isinstance(case.body, dict) and not negative_body:
        case.body = _memory_patch_fitted(case.body)
    if isinstance(case.body, dict) and isinstance(case.body.get("entries"), list) and not negative_body:
        # Whether a lorebook key compiles as a regular expression (/pattern/flags, or any key with use_regex) is
        # data no schema can say (a bad pattern is a documented 422 naming the key): the fuzzer's keys are plain.
        case.body = {**case.body, "entries": [_plain_keys(entry) for entry in case.body["entries"]]}
    if case.path == "/v1/characters/import" and not negative_body:
        # Only a real card passes (a PNG with its chunk, a card's JSON, a CHARX), which no schema can say.
        case.body = tenant["cards"][case.media_type]
    key = (case.headers or {}).get("Idempotency-Key")
    if key and not case.meta.is_negative_at(ParameterLocation.HEADER):
        # Reusing a key for a different body is a (documented) 422; generated keys repeat, so make them unique.
        case.headers = {**case.headers, "Idempotency-Key": f"{next(_sequence)}-{key}"[:255]}


def _memory_patch_fitted(body: dict) -> dict:
    """A schema-valid memory PATCH made acceptable: which fact ids exist, whether a text is only whitespace, whether
    a block's value fits its limit and how many blocks a memory holds are data, not schema (documented 422s,
    tested in apps/api/native/tests/test_memory.py). Keeps the generated shape: the summary, the blocks' labels
    and the number of facts added."""
    fitted = {key: value for key, value in body.items() if key == "summary"}
    if isinstance(body.get("blocks"), list):
        labels = list(dict.fromkeys(block["label"] for block in body["blocks"] if isinstance(block, dict)))
        fitted["blocks"] = [{"label": label, "value": "fitted"} for label in labels[:16]]
    if isinstance(body.get("facts"), dict):
        added = body["facts"].get("add") or []
        fitted["facts"] = {"add": [{"text": f"fact {index}"} for index in range(min(len(added), 100))]}
    return fitted


def _plain_keys(entry):
    if not isinstance(entry, dict):
        return entry
    plain = {**entry, "use_regex": False}
    for name in ("keys", "secondary_keys"):
        if isinstance(entry.get(name), list):
            plain[name] = [f"k{key}" if isinstance(key, str) and key.startswith("/") else key for key in entry[name]]
    return plain


# Requests the fuzzer found the server and its schema disagreeing on, kept as fixed examples.
CHARACTER = {"slug": "mira", "display_name": "Mira"}
SCHEMA_LIES = [
    (
        "/v1/characters",
        {**CHARACTER, "behavioral_thresholds": {"selfie_comfort": False}},
        "behavioral_thresholds.selfie_comfort",
    ),
    ("/v1/characters", {**CHARACTER, "emotion_baseline": {"valence": "0.5"}}, "emotion_baseline.valence"),
    (
        "/v1/characters",
        {**CHARACTER, "behavioral_thresholds": {"daily_image_cap": "7"}},
        "behavioral_thresholds.daily_image_cap",
    ),
    (
        "/v1/characters",
        {**CHARACTER, "behavioral_thresholds": {"cold_initiate_enabled": "yes"}},
        "behavioral_thresholds.cold_initiate_enabled",
    ),
    ("/v1/characters", {**CHARACTER, "display_name": " \u0085 "}, "display_name"),
    ("/v1/characters", {**CHARACTER, "onboarding": [None]}, "onboarding[0]"),
    ("/v1/sessions", {"character": "luna", "external_user_ref": "u1", "proactive_enabled": 1}, "proactive_enabled"),
    ("/v1/sessions", {"character": " luna", "external_user_ref": "u1"}, "character"),
    ("/v1/sessions", {"character": "luna", "external_user_ref": "\u0085"}, "external_user_ref"),
]


@pytest.mark.parametrize(("path", "body", "field"), SCHEMA_LIES, ids=[field for _, _, field in SCHEMA_LIES])
def test_bodies_the_schema_calls_invalid_are_422_naming_the_field(path, body, field, tenant, api):
    counts = row_counts()
    assert_error(api.post(path, body, format="json"), 422, "validation_error", fields=[field])
    assert row_counts() == counts


@pytest.mark.parametrize("query", ["limit=", "character=", "cursor=", "external_user_ref="])
def test_an_empty_query_value_is_invalid_not_absent(query, api, db):
    name = query.rstrip("=")
    assert_error(api.get(f"/v1/sessions?{query}"), 422, "validation_error", fields=[name])


def test_text_is_kept_exactly_as_sent(tenant, api):
    body = {"slug": "nova", "display_name": " Nova ", "greeting": "  hi  "}
    content = api.post("/v1/characters", body, format="json").json()["data"]
    stored = api.get("/v1/characters/nova").json()["data"]["content"]
    assert (content["display_name"], stored["greeting"]) == (" Nova ", "  hi  ")
