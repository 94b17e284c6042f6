"""Tenant isolation on the native /v1 surface (reliability.md items 25-27), generated from its OpenAPI schema.

- BOLA matrix: for every path with an id or slug and every HTTP method, app B's key on app A's ids gets
  exactly the answer an id that does not exist gets (404 for the documented methods, 405 for the others),
  writes and announces nothing, and never shows one of A's ids; list endpoints never show A's rows.
- Mass assignment: ownership, ids, counters and timestamps in request bodies are refused (character
  content, whose unknown fields are 422s) or ignored (sessions, messages), never applied.
- Keys authenticate only in the Authorization header, and no response carries a key, its hash or its secret.
- Slugs belong to their app: both apps have a character with the same slug, and each only ever sees and
  changes its own character, versions and sessions through it.
"""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from apps.accounts import services as accounts_services
from apps.accounts.models import ApiKey, BudgetCounter, BudgetPolicy, UsageRecord
from apps.api.native.tests.contract import assert_error, quota_counters, row_counts
from apps.assets import services as asset_services
from apps.assets.models import GeneratedImage, VisualAsset
from apps.assets.tests.factories import selfie_character_fields
from apps.assets.tests.pictures import picture
from apps.characters import services as characters_services
from apps.characters.models import Character, CharacterVersion, Lorebook, LorebookEntry
from apps.characters.tests.factories import character_publish
from apps.conversations import services as conversation_services
from apps.conversations.models import Event, IdempotencyRecord, Memory, MemoryFact, Run, Session
from apps.delivery import services as delivery_services
from apps.delivery.models import (
    TelegramChannel,
    TelegramChat,
    TelegramDelivery,
    TelegramUpdate,
    WebhookDelivery,
    WebhookEndpoint,
)
from apps.delivery.telegram import services as telegram_services
from apps.personas.models import PersonaSession
from tests import isolation

SCHEMA = SchemaGenerator().get_schema(request=None, public=True)
# Signed file URLs: the token is the permission, whoever holds it (an <img> tag has no key); tested in
# apps/api/native/tests/test_visual_assets.py (expiry, tampering).
BEARER_URL_PATHS = {"/v1/files/{token}"}
ID_PATHS = isolation.id_paths(SCHEMA, excluded=BEARER_URL_PATHS)
LIST_PATHS = isolation.list_paths(SCHEMA)
MATRIX = isolation.matrix(SCHEMA, excluded=BEARER_URL_PATHS)
NOT_FOUND_CODES = {
    "slug": "character_not_found",
    "session_id": "session_not_found",
    "app_id": "app_not_found",
    "channel_id": "delivery_channel_not_found",
    "external_user_ref": "external_user_not_found",
    "webhook_id": "webhook_endpoint_not_found",
    "endpoint_id": "webhook_endpoint_not_found",
    "asset_id": "visual_asset_not_found",
    "probe_id": "image_not_found",
    "run_ref": "run_not_found",
    "lorebook_id": "lorebook_not_found",
}
# Erasing an end-user answers a ref the app never had with zeros, so another app's user gets that same answer
# (here a 422: app B already used the shared Idempotency-Key for a message), and app A's rows stay untouched.
ANSWERED_LIKE_AN_UNKNOWN_ID = {"external_user_erase"}
WEBHOOK_URL = "http://127.0.0.1:9/hook"
WEBHOOK_SECRET = "tenant-signing-secret-0123"
# A valid body for each documented write with an id in its path, so that only the tenancy can refuse it
# (a callable gets the tenant whose ids are in the path).
VALID_BODIES = {
    "character_patch": {"greeting": "hello from the wrong tenant"},
    "message_send": {"text": "hello from the wrong tenant"},
    "telegram_channel_connect": lambda tenant: {
        "bot_token": tenant.telegram.bot_create(),
        "default_character_id": tenant.slugs[0],
    },
    "delivery_channel_verify": {},
    "delivery_channel_delete": None,
    "external_user_budget_policy_set": {"limit_credits": 500},
    "external_user_budget_policy_delete": None,
    "proactive_controls_update": {"proactive_enabled": True, "daily_initiate_cap": 5, "timezone": "Asia/Seoul"},
    "proactive_test": {},
    "channel_create": {"url": WEBHOOK_URL, "secret": WEBHOOK_SECRET},
    "channel_delete": None,
    "webhook_endpoint_delete": None,
    "session_stream_token_create": None,
    "session_update": {"character_version": 1},
    "visual_asset_upload": lambda tenant: {
        "file": SimpleUploadedFile("face.png", picture("PNG"), content_type="image/png"),
        "asset_key": "face-2",
        "category": "identity",
    },
    "visual_asset_register_url": lambda tenant: {
        "url": tenant.picture_url,
        "asset_key": "face-3",
        "category": "identity",
    },
    "visual_asset_promote": None,
    "visual_asset_retire": None,
    "image_probe_start": lambda tenant: {"probe_type": "identity_selfie", "session_id": tenant.sessions[0].id},
    "session_memory_update": {"summary": "from the wrong tenant", "facts": {"add": [{"text": "wrong tenant"}]}},
    "session_memory_erase": None,
    "external_user_erase": None,
    "character_lorebook_put": {"name": "Stolen", "entries": [{"keys": ["harbour"], "content": "Not yours."}]},
    "character_lorebooks_set": {"lorebook_ids": []},
    "lorebook_update": {"name": "Stolen", "entries": []},
    "lorebook_delete": None,
}
SHARED_IDEMPOTENCY_KEY = "same-key-in-both-apps"
SHARED_SLUG = "luna"  # both apps author a character with this slug
UNKNOWN = {
    "slug": "no-such-character",
    "session_id": "sess_000000000000000000000000",
    "app_id": "app_000000000000000000000000",
    "channel_id": "dch_000000000000000000000000",
    "external_user_ref": "no-such-user",
    "webhook_id": "whk_000000000000000000000000",
    "endpoint_id": "whk_000000000000000000000000",
    "asset_id": "vas_000000000000000000000000",
    "probe_id": "img_000000000000000000000000",
    "run_ref": "run_000000000000000000000000",
    "lorebook_id": "lb_000000000000000000000000",
}
# Lists that show no ids or slugs of the caller (the rate card is the server's; budgets show amounts).
LISTS_WITHOUT_OWN_IDS = {"/v1/rates", "/v1/budget-policy", "/v1/account"}
# The query under which a list shows the caller's own slugs.
OWN_ROWS_QUERY = {"/v1/usage": {"group_by": "character"}}


@pytest.fixture(autouse=True)
def _loopback_webhooks(settings):
    """Both apps register webhooks on 127.0.0.1, which the SSRF guard allows only when told to."""
    settings.WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.0/8"]


@pytest.fixture
def picture_url(picture_host) -> str:
    """A picture that register-url can fetch (from 127.0.0.1, allowed for the test)."""
    return picture_host.serve("/face.png", picture("PNG"))


class Tenant:
    """An app with a key, characters, sessions, and a sent message (a run and its events) in each session,
    a connected Telegram bot, budgets for the app and its end-user, and the runs' usage in the ledger.

    Besides its own slugs, each app has a character under ``SHARED_SLUG`` (with its own content) and a
    session on it; the shared slug is not among ``visible_ids``, since the other app shows it for its own."""

    def __init__(self, issued, name: str, captured, telegram, picture_url: str = "") -> None:
        self.app = issued.api_key.app
        self.raw_key = issued.raw_key
        self.client = APIClient()
        self.client.credentials(HTTP_AUTHORIZATION=f"Bearer {issued.raw_key}")
        self.slugs = [f"{name}-luna", f"{name}-mira"]
        self.external_user_ref = f"{name}-user"
        for slug in self.slugs:  # selfie-ready (image thresholds, identity anchors): probes can be started
            character_publish(
                self.app, slug=slug, display_name=slug.title(), greeting="hi!", **selfie_character_fields()
            )
        self.shared_greeting = f"hi, {name} here"
        self.shared_character = character_publish(
            self.app, slug=SHARED_SLUG, display_name=f"{name.title()} Luna", greeting=self.shared_greeting
        ).character
        self.shared_session = conversation_services.session_create(
            app=self.app, character_slug=SHARED_SLUG, external_user_ref=self.external_user_ref
        )
        self.sessions = [
            conversation_services.session_create(
                app=self.app, character_slug=slug, external_user_ref=self.external_user_ref
            )
            for slug in self.slugs
        ]
        accounts_services.budget_policy_set(app=self.app, limit_credits=1000)
        accounts_services.budget_policy_set(
            app=self.app, external_user_ref=self.external_user_ref, limit_credits=1000, period="daily"
        )
        with captured(execute=True):
            for index, session in enumerate(self.sessions):
                key = SHARED_IDEMPOTENCY_KEY if index == 0 else None  # keys are per app
                conversation_services.message_send(
                    app=self.app, session_id=session.id, text="hello", idempotency_key=key
                )
        self.telegram = telegram
        self.bot_token = telegram.bot_create()
        self.channel, _ = telegram_services.telegram_channel_connect(
            app=self.app,
            bot_token=self.bot_token,
            routing_mode="single_character",
            default_character_slug=self.slugs[0],
        )
        self.webhook = WebhookEndpoint.objects.create(
            app=self.app, session=self.sessions[0], url=WEBHOOK_URL, secret=WEBHOOK_SECRET
        )
        self.endpoint = WebhookEndpoint.objects.create(app=self.app, url=WEBHOOK_URL, secret=WEBHOOK_SECRET)
        self.run = Run.objects.filter(session=self.sessions[0]).first()
        Run.objects.filter(pk=self.run.pk).update(context={"model": "scripted", "parts": [], "lore": []})
        conversation_services.session_memory_patch(
            app=self.app, session_id=self.sessions[0].id, changes={"summary": f"{name} knows things"}
        )
        self.picture_url = picture_url
        self.asset = asset_services.visual_asset_upload(
            app=self.app, character_slug=self.slugs[0], file=picture("PNG"), asset_key="face", category="identity"
        ).asset
        with captured(execute=True):  # a probe drawn by the built-in renderer, announced on the first session
            self.probe = conversation_services.image_probe_start(
                app=self.app, character_slug=self.slugs[0], session_id=self.sessions[0].id, probe_type="identity_selfie"
            )
        book = {"name": f"{name} world", "entries": [{"keys": ["harbour"], "content": f"{name}'s harbour."}]}
        self.lorebook = characters_services.lorebook_create(app=self.app, data=book).lorebook
        characters_services.character_lorebooks_set(app=self.app, slug=self.slugs[0], lorebook_ids=[self.lorebook.id])
        characters_services.lorebook_own_put(app=self.app, slug=self.slugs[0], data=book)
        with captured(execute=False):  # rows to show in snapshots; nobody listens on port 9 anyway
            delivery_services.webhook_event_enqueue(
                app_id=self.app.id, event_id=f"evt_{name}_1", payload={"event": {}}, endpoint_ids=[self.endpoint.id]
            )

    @property
    def path_values(self) -> dict[str, str]:
        return {
            "slug": self.slugs[0],
            "session_id": self.sessions[0].id,
            "app_id": self.app.id,
            "channel_id": self.channel.id,
            "external_user_ref": self.external_user_ref,
            "webhook_id": self.webhook.id,
            "endpoint_id": self.endpoint.id,
            "asset_id": self.asset.id,
            "probe_id": self.probe.id,
            "run_ref": self.run.id,
            "lorebook_id": self.lorebook.id,
        }

    def snapshot(self) -> dict[str, list]:
        """Every row the app owns, with every column, to prove that nothing of it changed."""
        sessions = Session.objects.filter(app=self.app)
        return {
            "characters": list(Character.objects.filter(app=self.app).order_by("pk").values()),
            "versions": list(CharacterVersion.objects.filter(character__app=self.app).order_by("pk").values()),
            "sessions": list(sessions.order_by("pk").values()),
            "events": list(Event.objects.filter(session__in=sessions).order_by("pk").values()),
            "runs": list(Run.objects.filter(session__in=sessions).order_by("pk").values()),
            "idempotency": list(IdempotencyRecord.objects.filter(app=self.app).order_by("pk").values()),
            "keys": list(ApiKey.objects.filter(app=self.app).order_by("pk").values()),
            "telegram_channels": list(TelegramChannel.objects.filter(app=self.app).order_by("pk").values()),
            "telegram_chats": list(TelegramChat.objects.filter(channel__app=self.app).order_by("pk").values()),
            "telegram_updates": list(TelegramUpdate.objects.filter(channel__app=self.app).order_by("pk").values()),
            "telegram_deliveries": list(TelegramDelivery.objects.filter(channel__app=self.app).order_by("pk").values()),
            "usage": list(UsageRecord.objects.filter(app=self.app).order_by("pk").values()),
            "budgets": list(BudgetPolicy.objects.filter(app=self.app).order_by("pk").values()),
            "budget_counters": list(BudgetCounter.objects.filter(policy__app=self.app).order_by("pk").values()),
            "persona_sessions": list(PersonaSession.objects.filter(app=self.app).order_by("pk").values()),
            "webhooks": list(WebhookEndpoint.objects.filter(app=self.app).order_by("pk").values()),
            "deliveries": list(WebhookDelivery.objects.filter(endpoint__app=self.app).order_by("pk").values()),
            "visual_assets": list(VisualAsset.objects.filter(app=self.app).order_by("pk").values()),
            "images": list(GeneratedImage.objects.filter(app=self.app).order_by("pk").values()),
            "memories": list(Memory.objects.filter(app=self.app).order_by("pk").values()),
            "facts": list(MemoryFact.objects.filter(memory__app=self.app).order_by("pk").values()),
            "lorebooks": list(Lorebook.objects.filter(app=self.app).order_by("pk").values()),
            "lorebook_entries": list(LorebookEntry.objects.filter(lorebook__app=self.app).order_by("pk").values()),
            "lorebook_links": sorted(
                Lorebook.characters.through.objects.filter(lorebook__app=self.app).values_list(
                    "lorebook_id", "character_id"
                )
            ),
        }

    def visible_ids(self) -> set[str]:
        """Every id of the app's rows that a response could show."""
        sessions = Session.objects.filter(app=self.app)
        return {
            self.app.id,
            *self.slugs,
            *Character.objects.filter(app=self.app).values_list("id", flat=True),
            *CharacterVersion.objects.filter(character__app=self.app).values_list("id", flat=True),
            *sessions.values_list("id", flat=True),
            *Run.objects.filter(session__in=sessions).values_list("id", flat=True),
            *TelegramChannel.objects.filter(app=self.app).values_list("id", flat=True),
            *UsageRecord.objects.filter(app=self.app).values_list("id", flat=True),
            *BudgetPolicy.objects.filter(app=self.app).values_list("id", flat=True),
            self.external_user_ref,
            *PersonaSession.objects.filter(app=self.app).values_list("id", flat=True),
            *WebhookEndpoint.objects.filter(app=self.app).values_list("id", flat=True),
            *VisualAsset.objects.filter(app=self.app).values_list("id", flat=True),
            *GeneratedImage.objects.filter(app=self.app).values_list("id", flat=True),
            *Lorebook.objects.filter(app=self.app).values_list("id", flat=True),
        }


@pytest.fixture
def tenant_a(owner, django_capture_on_commit_callbacks, fake_telegram, picture_url):
    return Tenant(owner, "alpha", django_capture_on_commit_callbacks, fake_telegram, picture_url)


@pytest.fixture
def tenant_b(other, django_capture_on_commit_callbacks, fake_telegram):
    return Tenant(other, "beta", django_capture_on_commit_callbacks, fake_telegram)


def _body(operation_id: str, tenant: Tenant):
    body = VALID_BODIES.get(operation_id)
    return body(tenant) if callable(body) else body


def _call(client: APIClient, method: str, url: str, body: dict | None, **headers):
    if method == "get":
        return client.get(url, **headers)
    multipart = isinstance(body, dict) and any(isinstance(value, SimpleUploadedFile) for value in body.values())
    body_format = "multipart" if multipart else "json"
    return getattr(client, method)(url, body if body is not None else {}, format=body_format, **headers)


def test_the_matrix_covers_every_id_path_of_the_schema():
    assert {
        "/v1/characters/{slug}",
        "/v1/sessions/{session_id}/messages",
        "/v1/sessions/{session_id}/events/stream",
        "/v1/sessions/{session_id}/state",
    } <= set(ID_PATHS)
    params = {name for path in ID_PATHS for name in isolation.path_params(path)}
    assert params == set(NOT_FOUND_CODES), "a new path parameter needs its not-found code and unknown value here"
    documented_writes = {
        item[method]["operationId"]
        for path, item in SCHEMA["paths"].items()
        if "{" in path
        for method in item
        if method != "get"
    }
    assert documented_writes == set(VALID_BODIES), "a new write with an id needs a valid body here"


@pytest.mark.parametrize(("path", "method"), MATRIX, ids=isolation.matrix_ids(MATRIX))
def test_another_apps_ids_look_exactly_like_ids_that_do_not_exist(
    path, method, tenant_a, tenant_b, announced, django_capture_on_commit_callbacks
):
    operation = SCHEMA["paths"][path].get(method)
    body = _body(operation["operationId"], tenant_a) if operation else None
    before, counts, quotas, announced_before = tenant_a.snapshot(), row_counts(), quota_counters(), len(announced)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        # With the key both apps used: a replay must not answer before the tenancy check.
        headers = {"HTTP_IDEMPOTENCY_KEY": SHARED_IDEMPOTENCY_KEY}
        foreign = _call(tenant_b.client, method, isolation.url(path, tenant_a.path_values), body, **headers)
        unknown = _call(tenant_b.client, method, isolation.url(path, UNKNOWN), body, **headers)

    if operation and operation["operationId"] in ANSWERED_LIKE_AN_UNKNOWN_ID:
        detail = foreign.json().get("detail") or foreign.json()["data"]
        assert unknown.json().get("detail") or unknown.json()["data"]
    elif operation:
        param = isolation.path_params(path)[0]
        detail = assert_error(foreign, 404, NOT_FOUND_CODES[param])
    else:
        detail = assert_error(foreign, 405, "method_not_allowed")
    assert unknown.status_code == foreign.status_code
    unknown_detail = unknown.json().get("detail") or unknown.json()["data"]
    assert isolation.without_ids(detail, tenant_a.path_values) == isolation.without_ids(unknown_detail, UNKNOWN)
    assert not any(
        value in foreign.content.decode() for value in tenant_a.visible_ids() - set(tenant_a.path_values.values())
    )
    assert tenant_a.snapshot() == before
    assert (row_counts(), quota_counters(), callbacks, len(announced)) == (counts, quotas, [], announced_before)


def test_the_owner_gets_the_same_requests_answered(tenant_a, django_capture_on_commit_callbacks):
    """The matrix's 404s come from the tenancy, not from wrong URLs or bodies: the owner's key gets 2xx."""

    def last_the_deletes_and_the_erasure_last_of_all(pair):  # the ids must live until their own call
        operation = SCHEMA["paths"][pair[0]].get(pair[1]) or {}
        return (pair[1] == "delete", operation.get("operationId") == "external_user_erase")

    for path, method in sorted(MATRIX, key=last_the_deletes_and_the_erasure_last_of_all):
        operation = SCHEMA["paths"][path].get(method)
        if operation is None or path.endswith("/stream"):  # the stream would not end
            continue
        with django_capture_on_commit_callbacks(execute=True):
            response = _call(
                tenant_a.client,
                method,
                isolation.url(path, tenant_a.path_values),
                _body(operation["operationId"], tenant_a),
            )
        assert 200 <= response.status_code < 300, (method, path, response.content[:300])


@pytest.mark.parametrize("path", LIST_PATHS)
def test_lists_show_only_the_callers_rows(path, tenant_a, tenant_b):
    filters = {
        "character": tenant_a.slugs[0],
        "external_user_ref": tenant_a.external_user_ref,
        "session_id": tenant_a.sessions[0].id,
        "limit": 100,
    }
    parameters = [
        param["name"] for param in SCHEMA["paths"][path]["get"].get("parameters", []) if param["in"] == "query"
    ]
    queries = [{}] + [{name: filters[name]} for name in parameters if name in filters]
    for query in queries:
        response = tenant_b.client.get(path, query)
        assert response.status_code == 200, (path, query, response.content[:300])
        text = response.content.decode()
        assert not [value for value in tenant_a.visible_ids() if value in text], (path, query)
    if path in LISTS_WITHOUT_OWN_IDS:
        return
    own = tenant_b.client.get(path, OWN_ROWS_QUERY.get(path, {})).content.decode()
    own_rows = {"/v1/webhook-endpoints": [tenant_b.endpoint.id], "/v1/lorebooks": [tenant_b.lorebook.id]}
    expected = own_rows.get(path, tenant_b.slugs)
    assert all(value in own for value in expected)  # the caller's own rows are there


def test_an_idempotency_key_replays_only_within_its_app(tenant_a, tenant_b):
    """Both apps sent "hello" with the same Idempotency-Key; B's retry replays B's first answer, never A's."""
    session = tenant_b.sessions[0]
    first_run = Run.objects.get(session=session)
    response = tenant_b.client.post(
        f"/v1/sessions/{session.id}/messages",
        {"text": "hello"},
        format="json",
        HTTP_IDEMPOTENCY_KEY=SHARED_IDEMPOTENCY_KEY,
    )
    assert response.status_code == 202
    assert response.json()["data"]["run_ref"] == first_run.id
    assert Run.objects.filter(session__app=tenant_b.app).count() == len(tenant_b.sessions)  # a replay, not a send


# --- one slug, two apps -----------------------------------------------------------------------------
def _own_view_of_the_shared_slug(tenant: Tenant) -> dict:
    """What the app's key sees through the shared slug: the character, its versions and its sessions."""
    client = tenant.client
    detail = client.get(f"/v1/characters/{SHARED_SLUG}").json()["data"]
    listed = client.get("/v1/characters").json()["data"]["characters"]
    versions = client.get(f"/v1/characters/{SHARED_SLUG}/versions").json()["data"]["versions"]
    sessions = client.get("/v1/sessions", {"character": SHARED_SLUG, "limit": 100}).json()["data"]["sessions"]
    return {
        "character_id": detail["character_id"],
        "greeting": detail["content"].get("greeting"),
        "listed": [item["character_id"] for item in listed if item["slug"] == SHARED_SLUG],
        "versions": {item["version_id"] for item in versions},
        "sessions": {item["session_id"] for item in sessions},
    }


def test_the_same_slug_in_two_apps_is_two_characters_each_app_sees_only_its_own(tenant_a, tenant_b):
    for tenant in (tenant_a, tenant_b):
        character = tenant.shared_character
        assert _own_view_of_the_shared_slug(tenant) == {
            "character_id": character.id,
            "greeting": tenant.shared_greeting,
            "listed": [character.id],
            "versions": set(CharacterVersion.objects.filter(character=character).values_list("id", flat=True)),
            "sessions": {tenant.shared_session.id},
        }
    assert tenant_a.shared_character.id != tenant_b.shared_character.id
    assert tenant_a.shared_greeting != tenant_b.shared_greeting


def test_writes_through_a_shared_slug_change_only_the_callers_character(
    tenant_a, tenant_b, django_capture_on_commit_callbacks
):
    seen_by_a = _own_view_of_the_shared_slug(tenant_a)
    before = tenant_a.snapshot()  # after A's reads, which mark its key as used
    client = tenant_b.client
    with django_capture_on_commit_callbacks(execute=True):
        repost = client.post("/v1/characters", {"slug": SHARED_SLUG, "display_name": "Beta Luna"}, format="json")
        patch = client.patch(f"/v1/characters/{SHARED_SLUG}", {"greeting": "patched by beta"}, format="json")
        session = client.post(
            "/v1/sessions", {"character": SHARED_SLUG, "external_user_ref": "beta-new-user"}, format="json"
        )
        connect = client.post(
            f"/v1/apps/{tenant_b.app.id}/delivery-channels/telegram",
            {"bot_token": tenant_b.telegram.bot_create(), "default_character_id": SHARED_SLUG},
            format="json",
        )
    assert (repost.status_code, patch.status_code, session.status_code, connect.status_code) == (201, 200, 201, 201)
    assert (repost.json()["data"]["character_id"], repost.json()["data"]["dropped_fields"]) == (
        tenant_b.shared_character.id,
        ["greeting"],
    )
    assert (patch.json()["data"]["character_id"], patch.json()["data"]["version_number"]) == (
        tenant_b.shared_character.id,
        3,
    )
    assert Session.objects.get(id=session.json()["data"]["session_id"]).character_id == tenant_b.shared_character.id
    channel = TelegramChannel.objects.get(id=connect.json()["data"]["channel_id"])
    assert channel.default_character_id == tenant_b.shared_character.id
    assert tenant_a.snapshot() == before
    assert _own_view_of_the_shared_slug(tenant_a) == seen_by_a
    seen_by_b = _own_view_of_the_shared_slug(tenant_b)
    assert seen_by_b["greeting"] == "patched by beta" and len(seen_by_b["versions"]) == 3
    assert not (seen_by_b["versions"] | seen_by_b["sessions"]) & (seen_by_a["versions"] | seen_by_a["sessions"])


# --- mass assignment ---------------------------------------------------------------------------------
FORGED = {
    "app": "app_forged",
    "app_id": "app_forged",
    "id": "forged_id",
    "created_at": "2000-01-01T00:00:00Z",
    "updated_at": "2000-01-01T00:00:00Z",
    "status": "archived",
    "api_key": "dk_forged",
    "secret": "forged",
}


def test_character_body_with_internal_fields_is_422_naming_them(tenant_a, tenant_b):
    forged = {
        **FORGED,
        "character_id": "char_forged",
        "version_number": 99,
        "current_version": 1,
        "app": tenant_a.app.id,
    }
    before, counts = tenant_a.snapshot(), row_counts()
    response = tenant_b.client.post(
        "/v1/characters", {"slug": "beta-new", "display_name": "New", **forged}, format="json"
    )
    assert_error(response, 422, "validation_error", fields=list(forged))
    assert (tenant_a.snapshot(), row_counts()) == (before, counts)


def test_session_body_cannot_set_owner_ids_or_counters(tenant_a, tenant_b):
    forged = {
        **FORGED,
        "app": tenant_a.app.id,
        "app_id": tenant_a.app.id,
        "session_id": tenant_a.sessions[0].id,
        "id": "sess_forged000000000000000000",
        "character_id": Character.objects.get(app=tenant_a.app, slug=tenant_a.slugs[0]).id,
        "character_version_pinned": True,
        "last_cursor": 500,
        "user_turn_count": 50,
        "user_turns": 50,
        "api_key": tenant_a.raw_key,
    }
    before = tenant_a.snapshot()
    plain = tenant_b.client.post(
        "/v1/sessions", {"character": tenant_b.slugs[0], "external_user_ref": "u9"}, format="json"
    )
    response = tenant_b.client.post(
        "/v1/sessions", {"character": tenant_b.slugs[0], "external_user_ref": "u9", **forged}, format="json"
    )
    assert (plain.status_code, response.status_code) == (201, 201), response.content[:300]
    data = response.json()["data"]
    session = Session.objects.get(id=data["session_id"])
    assert session.app == tenant_b.app and session.character.slug == tenant_b.slugs[0]
    assert session.id not in forged.values()
    assert session.created_at.year > 2000
    expected = {name: plain.json()["data"][name] for name in ("character_version", "last_cursor", "user_turns")}
    assert {name: data[name] for name in expected} == expected
    assert (session.last_cursor, session.user_turn_count) == (expected["last_cursor"], 0)
    assert tenant_a.raw_key not in response.content.decode()
    assert tenant_a.snapshot() == before


def test_message_body_cannot_choose_session_role_cursor_or_counters(
    tenant_a, tenant_b, django_capture_on_commit_callbacks
):
    session = tenant_b.sessions[0]
    session.refresh_from_db()
    forged = {
        **FORGED,
        "session_id": tenant_a.sessions[0].id,
        "run_ref": "run_forged",
        "cursor": 500,
        "sent_turn_index": 50,
        "user_turn_count": 50,
        "role": "character",
        "event_type": "character.initiated",
        "accepted": False,
    }
    before = tenant_a.snapshot()
    with django_capture_on_commit_callbacks(execute=True):
        response = tenant_b.client.post(f"/v1/sessions/{session.id}/messages", {"text": "hi", **forged}, format="json")
    assert response.status_code == 202, response.content[:300]
    data = response.json()["data"]
    assert (data["cursor"], data["sent_turn_index"], data["accepted"]) == (session.last_cursor + 1, 2, True)
    event = Event.objects.get(session=session, cursor=data["cursor"])
    assert (event.event_type, event.role, event.payload["text"]) == ("message.created", "user", "hi")
    assert Run.objects.get(id=data["run_ref"]).session_id == session.id
    session.refresh_from_db()
    assert session.user_turn_count == 2
    assert tenant_a.snapshot() == before


# --- keys ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("param", ["api_key", "key", "apikey", "access_token", "token", "authorization"])
def test_a_key_in_the_query_string_does_not_authenticate(param, tenant_a):
    anon = APIClient()
    session_id = tenant_a.sessions[0].id
    for value in (tenant_a.raw_key, f"Bearer {tenant_a.raw_key}"):
        query = {param: value}
        assert_error(anon.get("/v1/characters", query), 401, "missing_api_key")
        # ?token= on the stream is for stream tokens only: a key there is refused as a forged token
        stream_code = "invalid_stream_token" if param == "token" else "missing_api_key"
        assert_error(anon.get(f"/v1/sessions/{session_id}/events/stream", query), 401, stream_code)
        counts = row_counts()
        response = anon.post(f"/v1/sessions/{session_id}/messages?{param}={value}", {"text": "hi"}, format="json")
        assert_error(response, 401, "missing_api_key")
        assert row_counts() == counts


def test_no_response_carries_a_key_its_hash_or_internal_fields(tenant_a, tenant_b):
    secrets = {tenant_a.raw_key, tenant_b.raw_key} | set(ApiKey.objects.values_list("secret_hash", flat=True))
    for channel in TelegramChannel.objects.all():  # bot tokens (their secret half) and webhook secrets
        secrets |= {channel.bot_token.split(":")[1], channel.webhook_secret}
    internal = {
        "secret_hash",
        "secret",
        "prefix",
        "app",
        "app_id",
        "lease_token",
        "claimed_by",
        "prompt",
        "bot_token",
        "webhook_secret",
    }
    for path in sorted(SCHEMA["paths"]):
        if "get" not in SCHEMA["paths"][path] or path.endswith("/stream") or path in BEARER_URL_PATHS:
            continue
        response = tenant_a.client.get(isolation.url(path, tenant_a.path_values))
        assert response.status_code == 200, path
        if not response["Content-Type"].startswith("application/json"):  # a file (a card export): its bytes
            assert not [secret for secret in secrets if secret.encode() in response.content], path
            continue
        text = response.content.decode()
        assert not [secret for secret in secrets if secret in text], path
        assert not internal & _keys(response.json()["data"]), path


def _keys(value) -> set[str]:
    if isinstance(value, dict):
        return set(value) | {key for item in value.values() for key in _keys(item)}
    if isinstance(value, list):
        return {key for item in value for key in _keys(item)}
    return set()


# --- the SSE stream with app B's stream token ----------------------------------------------------------------
def test_a_stream_token_of_another_app_opens_no_stream_of_this_one(tenant_a, tenant_b):
    """B's stream token, minted for B's own session, on A's session stream: refused exactly like on a session that
    does not exist (the token names its session; the key's matrix above covers B's key)."""
    minted = tenant_b.client.post(f"/v1/sessions/{tenant_b.sessions[0].id}/stream-token", {}, format="json")
    assert minted.status_code == 201, minted.content[:300]
    token = minted.json()["data"]["token"]
    anon = APIClient()
    before = tenant_a.snapshot()
    foreign = anon.get(f"/v1/sessions/{tenant_a.sessions[0].id}/events/stream", {"token": token})
    unknown = anon.get(f"/v1/sessions/{UNKNOWN['session_id']}/events/stream", {"token": token})
    assert foreign.status_code == unknown.status_code and foreign.status_code in (401, 404), foreign.content[:300]
    values = {"session_id": tenant_a.sessions[0].id}
    assert isolation.without_ids(foreign.json(), values) == isolation.without_ids(
        unknown.json(), {"session_id": UNKNOWN["session_id"]}
    )
    assert not isolation.leaked(foreign.content.decode(), tenant_a.visible_ids())
    assert tenant_a.snapshot() == before
