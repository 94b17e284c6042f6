"""DELETE /v1/external-users/{ref}: erasing everything of one end-user (a GDPR request)."""

from decimal import Decimal

import pytest
from django.apps import apps
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection, models
from django.db.models import Sum
from django.test.utils import CaptureQueriesContext

from apps.accounts import services as accounts_services
from apps.accounts.models import BudgetPolicy, UsageRecord
from apps.accounts.types import ERASED_REF
from apps.api.native.tests.contract import assert_error
from apps.assets.models import GeneratedImage
from apps.characters.tests.factories import character_publish
from apps.conversations import services
from apps.conversations.models import Event, IdempotencyRecord, Memory, MemoryFact, Run, SelfieDayCount, Session
from apps.conversations.tests.npc_scenario import scenario_body
from apps.core import clock
from apps.delivery.models import (
    TelegramChat,
    TelegramDelivery,
    TelegramUpdate,
    WebhookDelivery,
    WebhookEndpoint,
)
from apps.delivery.telegram import services as telegram_services
from apps.delivery.webhooks.selectors import persona_scope
from apps.npcs import services as npcs_services
from apps.npcs.models import Playthrough
from apps.personas.models import PersonaRelationship, PersonaSession

USER = "user-42"
OTHER_USER = "user-7"
WEBHOOK_URL = "http://127.0.0.1:9/hook"
WEBHOOK_SECRET = "erase-signing-secret-0123"


@pytest.fixture(autouse=True)
def _loopback_webhooks(settings):
    settings.WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.0/8"]


def _image(app, session, ref: str) -> GeneratedImage:
    """A drawn selfie of the session, with its file and thumbnail in storage."""
    image = GeneratedImage.objects.create(
        app=app,
        character=session.character,
        session_id=session.id,
        external_user_ref=ref,
        kind=GeneratedImage.Kind.SELFIE,
        status=GeneratedImage.Status.READY,
        model="builtin",
        backend="builtin",
        prompt="a selfie at the beach",
    )
    image.file = default_storage.save(f"images/test/{image.id}.png", ContentFile(b"png"))
    image.thumbnail = default_storage.save(f"images/thumbs/test/{image.id}.png", ContentFile(b"png"))
    image.save(update_fields=["file", "thumbnail"])
    return image


def _end_user(app, ref: str, *, telegram=None, tag: str = "") -> list[Session]:
    """An end-user of ``app`` with something in every place an erasure must reach: two conversations (with
    messages, runs, emotion state, usage), memory with two characters, a picture, a selfie count, a budget, a
    webhook on one session and deliveries of their events to an app-wide webhook, a Telegram chat, an NPC
    playthrough and an Idempotency-Key record."""
    for slug in ("luna", "mira"):
        if not app.characters.filter(slug=slug).exists():
            character_publish(app, slug=slug, greeting="hi!")
    sessions = [
        services.session_create(app=app, character_slug=slug, external_user_ref=ref) for slug in ("luna", "mira")
    ]
    WebhookEndpoint.objects.create(app=app, session=sessions[0], url=WEBHOOK_URL, secret=WEBHOOK_SECRET)
    for index, session in enumerate(sessions):
        services.message_send(
            app=app, session_id=session.id, text=f"I live in Lisbon {tag}", idempotency_key=f"{ref}-{index}"
        )
    for session in sessions:
        services.session_memory_patch(
            app=app,
            session_id=session.id,
            changes={
                "summary": f"{ref} lives in Lisbon.",
                "blocks": [{"label": "notes", "value": "Lisbon"}],
                "facts": {"add": [{"text": "Lives in Lisbon", "key": "user.home"}]},
            },
        )
    fact = MemoryFact.objects.filter(memory__app=app, memory__external_user_ref=ref).first()
    services.session_memory_patch(
        app=app, session_id=sessions[0].id, changes={"facts": {"update": [{"id": fact.id, "text": "Lives in Porto"}]}}
    )
    _image(app, sessions[0], ref)
    SelfieDayCount.objects.create(
        app=app, character=sessions[0].character, external_user_ref=ref, day=clock.now().date(), count=1
    )
    accounts_services.budget_policy_set(app=app, external_user_ref=ref, limit_credits=1000, period="daily")
    UsageRecord.objects.create(
        app=app,
        run_ref=Run.objects.filter(session=sessions[0]).first().id,
        session_id=sessions[0].id,
        character="luna",
        external_user_ref=ref,
        resource_type="chat",
        purpose="memory_summary",
        status="settled",
        credits=Decimal("2.5"),
        input_tokens=100,
        created_at=clock.now(),
    )
    if telegram is not None:
        channel, _ = telegram_services.telegram_channel_connect(
            app=app, bot_token=telegram.bot_create(), routing_mode="single_character", default_character_slug="luna"
        )
        chat = TelegramChat.objects.create(
            channel=channel, telegram_user_id=hash(ref) % 10_000, chat_id=hash(ref) % 10_000, session=sessions[1]
        )
        TelegramDelivery.objects.create(
            channel=channel,
            chat=chat,
            event_id=f"evt_{sessions[1].id}_2",
            event_type="message.created",
            cursor=2,
            kind="message",
            texts=["I live in Lisbon"],
            next_attempt_at=clock.now(),
        )
        TelegramUpdate.objects.create(channel=channel, update_id=1, outcome="accepted", session_id=sessions[1].id)
    npc = npcs_services.npc_save(app=app, body=scenario_body(name=f"Gate {tag}"))
    services.npc_session_start(app=app, npc_id=npc.id, player_session_id=ref, player_name="Ada", player_gender="female")
    return list(Session.objects.filter(app=app, external_user_ref=ref))


@pytest.fixture
def world(owner, other, fake_telegram, django_capture_on_commit_callbacks):
    """The user to erase, another user of the same app, and a user of another app with the same ref."""
    app, other_app = owner.api_key.app, other.api_key.app
    app_webhook = WebhookEndpoint.objects.create(app=app, url=WEBHOOK_URL, secret=WEBHOOK_SECRET)
    with django_capture_on_commit_callbacks(execute=True):  # the turns run inline; webhook sends fail fast
        erased = _end_user(app, USER, telegram=fake_telegram, tag="a")
        kept = _end_user(app, OTHER_USER, telegram=fake_telegram, tag="b")
        twin = _end_user(other_app, USER, tag="c")
    for session in [*erased, *kept]:  # what the webhook sink writes for each event (the tests' sinks do not)
        for event in Event.objects.filter(session=session):
            public = event.as_public_dict()
            WebhookDelivery.objects.create(
                endpoint=app_webhook,
                event_id=public["event_id"],
                event_type=event.event_type,
                body={"event": public},
                created_at=clock.now(),
            )
    return {"app": app, "erased": erased, "kept": kept, "twin": twin, "app_webhook": app_webhook}


def _user_rows(app, ref: str, session_ids: list[str]) -> dict[str, int]:
    """Rows of the user in every model that has an ``external_user_ref``, a foreign key to Session or a plain
    ``session_id`` column, found by walking the installed models."""
    found: dict[str, int] = {}
    for model in apps.get_models():
        fields = {field.name: field for field in model._meta.get_fields() if getattr(field, "concrete", False)}
        query = models.Q(pk__in=[])
        if "external_user_ref" in fields:
            query |= models.Q(external_user_ref=ref)
        for field in fields.values():
            if field.is_relation and field.related_model is Session:
                query |= models.Q(**{f"{field.name}__in": session_ids})
        if "session_id" in fields and not fields["session_id"].is_relation:
            query |= models.Q(session_id__in=session_ids)
        rows = model.objects.filter(query)
        if "app" in fields:
            rows = rows.filter(app=app)
        count = rows.count()
        if count:
            found[model._meta.label] = count
    return found


def _snapshot(app, ref: str) -> dict:
    sessions = Session.objects.filter(app=app, external_user_ref=ref)
    return {
        "sessions": list(sessions.order_by("pk").values()),
        "events": Event.objects.filter(session__in=sessions).count(),
        "runs": Run.objects.filter(session__in=sessions).count(),
        "memories": list(Memory.objects.filter(app=app, external_user_ref=ref).order_by("pk").values()),
        "facts": MemoryFact.objects.filter(memory__app=app, memory__external_user_ref=ref).count(),
        "personas": PersonaSession.objects.filter(native_session__in=sessions).count(),
        "usage": list(UsageRecord.objects.filter(app=app, external_user_ref=ref).order_by("pk").values()),
        "budgets": BudgetPolicy.objects.filter(app=app, external_user_ref=ref).count(),
        "images": GeneratedImage.objects.filter(app=app, external_user_ref=ref).count(),
        "chats": TelegramChat.objects.filter(session__in=sessions).count(),
        "deliveries": WebhookDelivery.objects.filter(
            endpoint__app=app, body__event__session_id__in=list(sessions.values_list("pk", flat=True))
        ).count(),
        "playthroughs": Playthrough.objects.filter(app=app, player_session_id=ref).count(),
        "selfies": SelfieDayCount.objects.filter(app=app, external_user_ref=ref).count(),
    }


def test_erasing_an_end_user_leaves_nothing_of_them_but_anonymised_usage(
    api, world, django_capture_on_commit_callbacks
):
    app = world["app"]
    erased_ids = [session.id for session in world["erased"]]
    before = _user_rows(app, USER, erased_ids)
    assert {"conversations.Session", "conversations.Event", "conversations.Run", "conversations.Memory"} <= set(before)
    assert {"accounts.UsageRecord", "accounts.BudgetPolicy", "assets.GeneratedImage", "delivery.TelegramChat"} <= set(
        before
    )
    persona_ids = list(
        Session.objects.filter(pk__in=erased_ids, persona_session__isnull=False).values_list(
            "persona_session", flat=True
        )
    )
    assert persona_ids, "the turns started the emotion state"
    WebhookEndpoint.objects.create(app=app, scope=persona_scope(persona_ids[0]), url=WEBHOOK_URL, secret=WEBHOOK_SECRET)
    PersonaRelationship.objects.create(session_id=persona_ids[0], user_ref=USER, state={})
    image = GeneratedImage.objects.get(app=app, external_user_ref=USER)
    files = [image.file.name, image.thumbnail.name]
    assert all(default_storage.exists(name) for name in files)
    usage_before = UsageRecord.objects.filter(app=app).aggregate(credits=Sum("credits"), tokens=Sum("input_tokens"))
    kept_before, twin_before = _snapshot(app, OTHER_USER), _snapshot(world["twin"][0].app, USER)
    fact_ids = list(
        MemoryFact.objects.filter(memory__app=app, memory__external_user_ref=USER).values_list("pk", flat=True)
    )

    with django_capture_on_commit_callbacks(execute=True):
        response = api.delete(f"/v1/external-users/{USER}")

    assert response.status_code == 200, response.content[:500]
    data = response.json()["data"]
    assert data["external_user_ref"] == USER
    erased = data["erased"]
    assert erased["sessions"] == 3  # two conversations and the NPC playthrough's session
    # one memory per character the user met (the NPC's included: every session gets its memory when it opens);
    # one fact was updated: closed + successor
    assert erased["memories"] == 3 and erased["memory_facts"] == 3
    assert erased["events"] > 0 and erased["runs"] >= 2
    assert (erased["generated_images"], erased["selfie_day_counts"], erased["budget_policies"]) == (1, 1, 1)
    assert (erased["telegram_chats"], erased["telegram_deliveries"], erased["npc_playthroughs"]) == (1, 1, 1)
    assert erased["emotion_sessions"] == len(persona_ids) and erased["emotion_relationships"] >= 1
    assert erased["webhook_endpoints"] == 2  # the session's and the emotion session's
    assert erased["webhook_deliveries"] >= 2 and erased["idempotency_records"] == 2
    assert data["anonymised"]["usage_records"] >= 1

    remaining = _user_rows(app, USER, erased_ids)
    assert remaining == {}, remaining  # usage rows no longer name the user, the sessions or the runs
    anonymised = UsageRecord.objects.filter(app=app, external_user_ref=ERASED_REF)
    assert anonymised.count() == data["anonymised"]["usage_records"]
    assert set(anonymised.values_list("session_id", "run_ref")) == {(ERASED_REF, "")}
    usage_after = UsageRecord.objects.filter(app=app).aggregate(credits=Sum("credits"), tokens=Sum("input_tokens"))
    assert usage_after == usage_before  # billing totals unchanged
    assert not PersonaSession.objects.filter(pk__in=persona_ids).exists()
    assert not PersonaRelationship.objects.filter(session__app=app, user_ref=USER).exists()
    assert not MemoryFact.objects.filter(pk__in=fact_ids).exists()
    assert not WebhookEndpoint.objects.filter(scope=persona_scope(persona_ids[0])).exists()
    assert not WebhookDelivery.objects.filter(body__event__session_id__in=erased_ids).exists()
    assert world["app_webhook"].pk and WebhookEndpoint.objects.filter(pk=world["app_webhook"].pk).exists()
    assert not Playthrough.objects.filter(app=app, player_session_id=USER).exists()
    assert not IdempotencyRecord.objects.filter(app=app, key__startswith=f"{USER}-").exists()
    assert not TelegramUpdate.objects.filter(session_id__in=erased_ids).exists()
    assert not any(default_storage.exists(name) for name in files)  # the files went after commit
    # the other end-user of the app and the same ref in another app are untouched
    assert _snapshot(app, OTHER_USER) == kept_before
    assert _snapshot(world["twin"][0].app, USER) == twin_before
    assert twin_before["sessions"] and twin_before["facts"] and twin_before["usage"]


def test_a_ref_with_nothing_answers_zeros(api, owner):
    response = api.delete("/v1/external-users/nobody-here")
    assert response.status_code == 200
    data = response.json()["data"]
    assert data["external_user_ref"] == "nobody-here"
    assert set(data["erased"].values()) == {0} and data["anonymised"] == {"usage_records": 0}


def test_another_apps_user_with_the_same_ref_is_untouched(other_api, world):
    app = world["app"]
    before = _snapshot(app, USER)
    response = other_api.delete(f"/v1/external-users/{USER}")
    assert response.status_code == 200
    assert response.json()["data"]["erased"]["sessions"] == 3  # the other app's own user of that ref
    assert _snapshot(app, USER) == before
    assert before["sessions"]


def test_an_idempotency_key_replays_the_first_counts(api, world):
    first = api.delete(f"/v1/external-users/{USER}", HTTP_IDEMPOTENCY_KEY="gdpr-1")
    again = api.delete(f"/v1/external-users/{USER}", HTTP_IDEMPOTENCY_KEY="gdpr-1")
    assert first.status_code == again.status_code == 200
    assert again.json()["data"] == first.json()["data"] and first.json()["data"]["erased"]["sessions"] == 3
    record = IdempotencyRecord.objects.get(key="gdpr-1")
    assert USER not in record.scope and USER not in str(record.response)  # the record does not name the user
    fresh = api.delete(f"/v1/external-users/{USER}", HTTP_IDEMPOTENCY_KEY="gdpr-2")
    assert fresh.json()["data"]["erased"]["sessions"] == 0
    reused = api.delete(f"/v1/external-users/{OTHER_USER}", HTTP_IDEMPOTENCY_KEY="gdpr-1")
    assert_error(reused, 422, "idempotency_key_reused")
    assert Session.objects.filter(app=world["app"], external_user_ref=OTHER_USER).exists()


def test_an_overlong_idempotency_key_is_422_and_erases_nothing(api, world, nothing_written):
    before = _snapshot(world["app"], USER)
    with nothing_written():
        response = api.delete(f"/v1/external-users/{USER}", HTTP_IDEMPOTENCY_KEY="k" * 256)
    assert_error(response, 422, "validation_error", fields=["Idempotency-Key"])
    assert _snapshot(world["app"], USER) == before


def test_without_a_key_it_is_401(anon, world):
    response = anon.delete(f"/v1/external-users/{USER}")
    assert response.status_code == 401
    assert Session.objects.filter(app=world["app"], external_user_ref=USER).exists()


def test_statement_count(api, world, settings):
    settings.API_KEY_CACHE_SECONDS = 5
    api.delete("/v1/external-users/warm-the-key-cache")
    with CaptureQueriesContext(connection) as captured:
        response = api.delete(f"/v1/external-users/{USER}")
    assert response.status_code == 200
    # A fixed number whatever the user holds (bulk statements over id lists, none per row): the sessions'
    # lock, then each app's deletes with the cascades Django's collector runs, and the savepoints around them.
    assert len(captured.captured_queries) == 59, [query["sql"][:90] for query in captured.captured_queries]
