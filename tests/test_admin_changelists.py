"""Every registered admin's changelist stays flat as rows grow, and every change page renders.

The walk is over ``admin.site._registry``, so a new admin is covered the day it is registered: it needs a row
maker below (a test fails until it has one). Each maker adds one row of its model (through the services and
factories where one exists; through the ORM where the real door would call out, e.g. Telegram's getMe).

For each model the changelist is fetched as a superuser with 2 rows and again with 22: the statement count must
be the same, and it is pinned in ``STATEMENTS`` so that a change (a new column that reaches across a relation,
a filter that lists another table) shows up in review. The figures are printed with ``-s``.
"""

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from itertools import count

import pytest
from django.contrib import admin
from django.contrib.admin.utils import quote
from django.contrib.auth.models import Group, User
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from apps.accounts import services as accounts_services
from apps.accounts.models import App, Plan, UsageRecord
from apps.assets.models import GeneratedImage
from apps.assets.tests.factories import identity_asset_create
from apps.characters import services as characters_services
from apps.characters.models import Character
from apps.characters.tests.factories import character_publish
from apps.conversations import services as conversation_services
from apps.conversations.models import ProactiveSend, Run, Session
from apps.conversations.tests.npc_scenario import scenario_body
from apps.core import clock
from apps.delivery import services as delivery_services
from apps.delivery.models import TelegramChannel, TelegramChat, TelegramDelivery, WebhookEndpoint
from apps.llm.tests.factories import llm_model_create
from apps.npcs import services as npcs_services
from apps.npcs.models import NPC
from apps.personas import services as personas_services
from apps.personas.models import CharacterPersona

pytestmark = pytest.mark.django_db

# Statements per changelist GET as a superuser (session, user, the count, the page, each filter's choices),
# the same at 2 rows and at 22.
STATEMENTS: dict[str, int] = {
    "accounts.apikey": 6,
    "accounts.app": 6,  # the plan filter lists the plans
    "accounts.budgetpolicy": 7,
    "accounts.plan": 5,
    "accounts.usagerecord": 8,
    "assets.generatedimage": 9,
    "assets.visualasset": 6,
    "auth.group": 5,
    "auth.user": 6,
    "characters.character": 6,
    "characters.characterversion": 6,
    "characters.lorebook": 6,
    "conversations.event": 6,
    "conversations.proactivesend": 5,
    "conversations.run": 7,
    "conversations.session": 6,
    "delivery.telegramchannel": 6,
    "delivery.telegramchat": 6,
    "delivery.telegramdelivery": 8,
    "delivery.webhookdelivery": 8,
    "delivery.webhookendpoint": 7,
    "llm.llmmodel": 5,
    "npcs.machine": 6,
    "npcs.npc": 6,
    "npcs.playthrough": 7,
    "personas.characterpersona": 5,
    "personas.personasession": 6,
}

_serial = count(1)


@dataclass
class World:
    """The parents rows hang from: one app, one published character, one session on it."""

    app: App
    character: Character
    session: Session
    npc: NPC | None = None

    def character_new(self) -> Character:
        return character_publish(self.app, slug=f"c-{next(_serial)}").character

    def session_new(self) -> Session:
        return conversation_services.session_create(
            app=self.app, character_slug=self.character.slug, external_user_ref=f"user-{next(_serial)}"
        )

    def run_new(self) -> Run:
        sent = conversation_services.message_send(app=self.app, session_id=self.session.id, text="hi")
        return Run.objects.get(pk=sent.run_ref)  # queued: the dispatch waits for a commit that never comes

    def endpoint_new(self) -> WebhookEndpoint:
        return delivery_services.webhook_endpoint_create(app=self.app, url=f"http://127.0.0.1:9/hook/{next(_serial)}")

    def telegram_channel_new(self) -> TelegramChannel:
        # Connecting calls getMe and setWebhook (see delivery's Telegram tests): the row as the service leaves it.
        serial = next(_serial)
        return TelegramChannel.objects.create(
            app=self.app,
            bot_token=f"{serial}:token",
            token_hint=f"{serial}:…",
            bot_id=serial,
            bot_username=f"bot_{serial}",
            default_character=self.character,
        )

    def telegram_chat_new(self, channel: TelegramChannel | None = None) -> TelegramChat:
        serial = next(_serial)
        return TelegramChat.objects.create(
            channel=channel or self.telegram_channel_new(),
            telegram_user_id=serial,
            chat_id=serial,
            session=self.session_new(),
        )


def _event(world: World) -> None:
    with transaction.atomic():
        conversation_services.events_append(
            session_id=world.session.id, events=[conversation_services.NewEvent("message.created", {"text": "x"})]
        )


def _usage_record(world: World) -> None:
    UsageRecord.objects.create(
        app=world.app,
        session_id=world.session.id,
        character=world.character.slug,
        external_user_ref=world.session.external_user_ref,
        model="scripted",
        resource_type="chat_turn",
        purpose="reply",
        status="settled",
        credits=Decimal("0.5"),
        created_at=clock.now(),
    )


def _generated_image(world: World) -> None:
    GeneratedImage.objects.create(
        app=world.app,
        character=world.character,
        session_id=world.session.id,
        kind=GeneratedImage.Kind.SELFIE,
        model="builtin",
        backend="builtin",
        prompt="a selfie",
    )


def _proactive_send(world: World) -> None:
    now = clock.now()
    ProactiveSend.objects.create(
        session=world.session,
        slot_at=now + timedelta(minutes=next(_serial)),
        sent_at=now,
        kind="check_in",
        run=world.run_new(),
    )


def _telegram_delivery(world: World) -> None:
    chat = world.telegram_chat_new()
    TelegramDelivery.objects.create(
        channel=chat.channel,
        chat=chat,
        event_id=f"evt_{next(_serial)}",
        event_type="message.created",
        cursor=1,
        kind="message",
        texts=["hi"],
        status="failed",
        last_error="Forbidden: bot was blocked by the user",
        next_attempt_at=clock.now(),
    )


def _lorebook(world: World) -> None:
    """A shared book attached to the world's character, and a new character's own book: both kinds of row."""
    book = {"name": f"book {next(_serial)}", "entries": [{"keys": ["harbour"], "content": "The harbour."}]}
    shared = characters_services.lorebook_create(app=world.app, data=book).lorebook
    characters_services.character_lorebooks_set(app=world.app, slug=world.character.slug, lorebook_ids=[shared.id])
    characters_services.lorebook_own_put(app=world.app, slug=world.character_new().slug, data=book)


def _npc(world: World):
    return npcs_services.npc_save(app=world.app, body=scenario_body(name=f"Gatekeeper {next(_serial)}"))


def _playthrough(world: World) -> None:
    if world.npc is None:
        world.npc = _npc(world)
    conversation_services.npc_session_start(
        app=world.app, npc_id=world.npc.pk, player_session_id=f"p-{next(_serial)}", player_name="Ana", player_gender=""
    )


ROW_MAKERS = {
    "auth.user": lambda world: User.objects.create_user(f"user{next(_serial)}"),
    "auth.group": lambda world: Group.objects.create(name=f"group {next(_serial)}"),
    "accounts.app": lambda world: accounts_services.app_create(
        name=f"app {next(_serial)}", plan=Plan.objects.get(slug="free")
    ),
    "accounts.plan": lambda world: Plan.objects.create(
        slug=f"plan-{next(_serial)}", name="Plan", requests_per_minute=10
    ),
    "accounts.apikey": lambda world: accounts_services.api_key_create(app=world.app, name=f"key {next(_serial)}"),
    "accounts.usagerecord": _usage_record,
    "accounts.budgetpolicy": lambda world: accounts_services.budget_policy_set(
        app=world.app, limit_credits=Decimal(10), external_user_ref=f"user-{next(_serial)}"
    ),
    "llm.llmmodel": lambda world: llm_model_create(name=f"model-{next(_serial)}"),
    "characters.character": lambda world: world.character_new(),
    "characters.characterversion": lambda world: world.character_new(),  # its first version
    "characters.lorebook": _lorebook,
    "assets.visualasset": lambda world: identity_asset_create(world.character_new()),
    "assets.generatedimage": _generated_image,
    "personas.characterpersona": lambda world: CharacterPersona.objects.create(
        character=world.character_new(), spec={"preset": "stoic_mentor"}
    ),
    "personas.personasession": lambda world: personas_services.persona_session_create(
        app=world.app, spec={"preset": "stoic_mentor"}
    ),
    "npcs.npc": _npc,
    "npcs.machine": _npc,  # two machines each
    "npcs.playthrough": _playthrough,
    "conversations.session": lambda world: world.session_new(),
    "conversations.run": lambda world: world.run_new(),
    "conversations.event": _event,
    "conversations.proactivesend": _proactive_send,
    "delivery.webhookendpoint": lambda world: world.endpoint_new(),
    "delivery.webhookdelivery": lambda world: delivery_services.webhook_event_enqueue(
        app_id=world.app.pk, event_id=f"evt_{next(_serial)}", payload={"x": 1}, endpoint_ids=[world.endpoint_new().pk]
    ),
    "delivery.telegramchannel": lambda world: world.telegram_channel_new(),
    "delivery.telegramchat": lambda world: world.telegram_chat_new(),
    "delivery.telegramdelivery": _telegram_delivery,
}

REGISTERED = sorted(model._meta.label_lower for model in admin.site._registry)
MODELS = {model._meta.label_lower: model for model in admin.site._registry}


@pytest.fixture
def world(db, settings) -> World:
    settings.WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    settings.TURNS_MAX_PENDING_PER_SESSION = 100  # the pages are filled with unanswered turns on one session
    app = accounts_services.app_create(name="operator's app")
    character = character_publish(app, slug="luna", greeting="hi").character
    session = conversation_services.session_create(app=app, character_slug="luna", external_user_ref="user-0")
    return World(app=app, character=character, session=session)


def _changelist_statements(client, url: str) -> int:
    assert client.get(url).status_code == 200  # warms what any first request reads once (caches)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(queries)


def test_every_registered_admin_has_a_row_maker():
    assert sorted(set(REGISTERED) - set(ROW_MAKERS)) == [], "add a row maker for each newly registered model"
    assert sorted(set(ROW_MAKERS) - set(REGISTERED)) == []


@pytest.mark.parametrize("label", REGISTERED)
def test_the_changelist_costs_the_same_statements_at_2_and_at_22_rows(label, admin_client, world):
    model = MODELS[label]
    make = ROW_MAKERS[label]
    url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
    for _ in range(2):
        make(world)
    few = _changelist_statements(admin_client, url)
    for _ in range(20):
        make(world)
    assert model.objects.count() >= 22
    many = _changelist_statements(admin_client, url)
    print(f"\nchangelist statements {label}: {few} at 2+ rows, {many} at 22+ rows")
    assert many == few, f"{label}: {few} statements with 2 rows, {many} with 22 (a query per row?)"
    assert STATEMENTS.get(label) == many, f"pin STATEMENTS[{label!r}] = {many}"


@pytest.mark.parametrize("label", REGISTERED)
def test_the_change_page_of_a_row_renders(label, admin_client, world):
    model = MODELS[label]
    ROW_MAKERS[label](world)
    obj = model.objects.order_by("-pk").first()
    url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_change", args=[quote(obj.pk)])
    response = admin_client.get(url)
    assert response.status_code == 200, url


def test_the_session_page_costs_the_same_with_few_and_many_events(admin_client, world):
    """The session page lists its events (with their runs) inline: one query for them, not one per event."""
    url = reverse("admin:conversations_session_change", args=[quote(world.session.pk)])
    world.run_new()  # a user message and a run.status of its run
    few = _changelist_statements(admin_client, url)
    for _ in range(10):
        world.run_new()
    assert world.session.events.filter(run__isnull=False).count() == 11
    assert _changelist_statements(admin_client, url) == few
