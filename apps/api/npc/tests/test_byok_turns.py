"""Bring-your-own-model on an NPC turn, through the SDK route: the request's key and models carry its calls to
``LLM_BYOK_BASE_URL`` (the fake OpenAI server) and nowhere else, for that request only, at no credits; the
key lands in no row, no log record and no error body. The NPC's own model is the offline ``scripted`` one,
so every request the fake server records was made on the caller's key."""

import logging
from decimal import Decimal

import pytest
from django.apps import apps
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.accounts.models import UsageRecord
from apps.conversations.models import Event
from apps.conversations.tests.npc_scenario import scenario_body
from apps.npcs import selectors as npcs_selectors
from apps.npcs import services as npcs_services

pytestmark = pytest.mark.django_db

KEY = "sk-byok-4f9e1c7a2b8d6e30"
BYOK = {"X-LLM-API-Key": KEY, "X-LLM-Eval-Model": "eval-m", "X-LLM-Response-Model": "reply-m"}
TO_THE_MODEL = "What a lovely gate"  # no matcher takes it: the evaluation is a model call
LOGGERS = ("", "django", "openai", "httpx", "httpcore", "foilengine", "apps")


@pytest.fixture
def npc(owner):
    return npcs_services.npc_save(app=owner.api_key.app, body=scenario_body())


@pytest.fixture
def logs(caplog):
    for name in LOGGERS:
        caplog.set_level(logging.DEBUG, logger=name or None)
    return caplog


def _start(foil, npc, player="player-1"):
    body = {"user_session_id": player, "player_name": "Ada", "player_gender": "female"}
    assert foil.post(f"/npc/api/v1/sdk/chat/{npc.id}/init-session", body, format="json").status_code == 200


def _send(foil, npc, text, player="player-1", headers=None):
    return foil.post(
        f"/npc/api/v1/sdk/chat/{npc.id}/message",
        {"message": text, "user_session_id": player},
        format="json",
        headers=headers or {},
    )


def every_row_as_text() -> str:
    """Every row of every table (auto-created m2m tables too), as text."""
    return repr([list(model._base_manager.values()) for model in apps.get_models(include_auto_created=True)])


def cache_holds(text: str) -> bool:
    """Whether any value in the cache (local memory, or every string key of the Redis database) holds ``text``."""
    needle = text.encode()
    if isinstance(getattr(cache, "_cache", None), dict):  # LocMemCache: pickled values by key
        return any(needle in value for value in cache._cache.values())
    client = cache._cache.get_client(write=False)
    return any(
        needle in (client.get(key) or b"") for key in client.scan_iter(count=1000) if client.type(key) == b"string"
    )


def logged_text(caplog) -> str:
    """Every captured record: its formatted line with any traceback, and all its attributes."""
    return caplog.text + repr([record.__dict__ for record in caplog.records])


def test_a_byok_turn_sends_both_calls_on_the_key_with_each_steps_model_at_no_credits(foil, npc, byok_llm, logs):
    _start(foil, npc)

    response = _send(foil, npc, TO_THE_MODEL, headers=BYOK)

    assert response.status_code == 200, response.json()
    assert "you said: What a lovely gate" in response.json()["message"]
    evaluation, reply = byok_llm.chat_requests
    assert (evaluation.authorization, reply.authorization) == (f"Bearer {KEY}", f"Bearer {KEY}")
    assert evaluation.body["response_format"] == {"type": "json_object"}
    assert (evaluation.body["model"], reply.body["model"]) == ("eval-m", "reply-m")
    usage = UsageRecord.objects.filter(app=npc.app).order_by("created_at")
    assert [(u.purpose, u.model, u.provider, u.credits, u.status) for u in usage] == [
        ("npc_evaluation", "eval-m", "openai_compatible", Decimal(0), "settled"),
        ("reply", "reply-m", "openai_compatible", Decimal(0), "settled"),
    ]
    assert all(u.input_tokens > 0 and u.output_tokens > 0 for u in usage)

    assert any(record.name.startswith(("openai", "httpx", "httpcore")) for record in logs.records)
    assert KEY not in logged_text(logs)
    assert KEY not in every_row_as_text()
    cache.set("byok-probe", "probe-value-0451")
    assert not cache_holds(KEY) and cache_holds("probe-value-0451")  # the scan sees what the cache holds


def test_without_headers_no_call_goes_out_and_the_next_request_does_not_reuse_the_key(foil, npc, byok_llm):
    _start(foil, npc)
    plain = _send(foil, npc, TO_THE_MODEL)
    assert plain.status_code == 200 and byok_llm.requests == []

    assert _send(foil, npc, TO_THE_MODEL, headers=BYOK).status_code == 200
    assert len(byok_llm.chat_requests) == 2

    after = _send(foil, npc, TO_THE_MODEL)
    assert after.status_code == 200 and len(byok_llm.chat_requests) == 2
    latest = UsageRecord.objects.filter(app=npc.app).order_by("-created_at")[:2]
    assert {(u.model, u.provider) for u in latest} == {("scripted", "scripted")}
    assert all(u.credits > 0 for u in latest)  # the platform's model bills at its rate again


def test_a_step_key_alone_sends_only_that_step_out(foil, npc, byok_llm):
    _start(foil, npc)
    response = _send(foil, npc, TO_THE_MODEL, headers={"X-LLM-Response-API-Key": KEY, "X-LLM-Model": "ignored"})
    assert response.status_code == 400  # X-LLM-Model would be the evaluation's model on the platform's key
    assert byok_llm.requests == []

    response = _send(foil, npc, TO_THE_MODEL, headers={"X-LLM-Response-API-Key": KEY})
    assert response.status_code == 200
    [reply] = byok_llm.chat_requests  # the evaluation ran on the NPC's own (scripted) model
    assert reply.authorization == f"Bearer {KEY}" and "response_format" not in reply.body
    assert reply.body["model"] == "gpt-4o-mini"  # LLM_BYOK_DEFAULT_MODEL: the scripted model names none


def test_a_byok_turn_costs_the_statements_of_a_plain_one(foil, npc, byok_llm):
    for player in ("player-0", "player-1", "player-2"):
        _start(foil, npc, player)
    _send(foil, npc, TO_THE_MODEL, "player-0")  # the catalog and budget-policy caches are warm from here
    with CaptureQueriesContext(connection) as plain:
        assert _send(foil, npc, TO_THE_MODEL, "player-1").status_code == 200
    with CaptureQueriesContext(connection) as own:
        assert _send(foil, npc, TO_THE_MODEL, "player-2", headers=BYOK).status_code == 200
    assert len(own) == len(plain) == 10


def test_a_refused_key_answers_400_without_the_key_and_leaves_the_turn_unwritten(foil, npc, byok_llm, logs):
    byok_llm.required_api_key = "sk-the-only-good-one"
    _start(foil, npc)
    before = list(Event.objects.filter(session__app=npc.app).values_list("id", flat=True))

    response = _send(foil, npc, TO_THE_MODEL, headers=BYOK)

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "llm_key_refused" and "HTTP 401" in error["message"]
    assert KEY not in response.content.decode()
    assert len(byok_llm.chat_requests) == 1  # the evaluation was refused; no reply call
    assert list(Event.objects.filter(session__app=npc.app).values_list("id", flat=True)) == before
    playthrough = npcs_selectors.playthrough_get(app=npc.app, npc_id=npc.id, player_session_id="player-1")
    assert (playthrough.current_state.key, playthrough.redirect_counts) == ("start", {})
    [failed] = UsageRecord.objects.filter(app=npc.app)
    assert (failed.outcome, failed.credits) == ("failed", Decimal(0))
    assert KEY not in logged_text(logs)
    assert KEY not in every_row_as_text()


def test_bad_headers_are_a_400_naming_the_header_and_nothing_is_written(foil, npc, byok_llm):
    _start(foil, npc)
    events = Event.objects.count()

    response = _send(foil, npc, TO_THE_MODEL, headers={"X-LLM-API-Key": "sk-has a-space-secret"})

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "validation_error" and list(error["fields"]) == ["X-LLM-API-Key"]
    assert "secret" not in response.content.decode()
    assert (Event.objects.count(), UsageRecord.objects.count(), byok_llm.requests) == (events, 0, [])
