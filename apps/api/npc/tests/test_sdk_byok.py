"""Bring-your-own-model and ``validate-llm-key`` driven by Foil Engine's own Python client (``foilengine``,
its ``llm_*`` options) against a live server, with the fake OpenAI server as the BYOK endpoint."""

import logging

import openai
import pytest
from foilengine import FoilEngineClient
from foilengine.errors import BadRequestError, FoilEngineError

from apps.accounts.models import UsageRecord
from apps.api.npc.tests.test_byok_turns import LOGGERS, every_row_as_text, logged_text
from apps.conversations.tests.npc_scenario import scenario_body
from apps.npcs import services as npcs_services

pytestmark = pytest.mark.django_db(transaction=True)

KEY = "sk-sdk-own-9a8b7c6d5e4f"


@pytest.fixture
def npc(owner):
    return npcs_services.npc_save(app=owner.api_key.app, body=scenario_body())


@pytest.fixture
def sdk(live_server, owner):
    """A client with the given ``llm_*`` options."""
    made: list[FoilEngineClient] = []

    def make(**llm) -> FoilEngineClient:
        client = FoilEngineClient(api_key=owner.raw_key, base_url=f"{live_server.url}/npc", max_retries=0, **llm)
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


def test_the_sdks_llm_options_carry_its_turn_to_the_callers_key_and_models(sdk, npc, byok_llm, caplog):
    for name in LOGGERS:
        caplog.set_level(logging.DEBUG, logger=name or None)
    client = sdk(llm_api_key=KEY, llm_eval_model="eval-m", llm_response_model="reply-m")
    client.chat.init_session(npc.id, "player-1", "Ada", "female")

    answer = client.chat.send_message(npc.id, "What a lovely gate", "player-1")

    assert (answer.decision, answer.current_state) == ("redirect", "start")  # the fake's evaluation names none
    assert "you said: What a lovely gate" in answer.message
    sent = [(r.authorization, r.body["model"]) for r in byok_llm.chat_requests]
    assert sent == [(f"Bearer {KEY}", "eval-m"), (f"Bearer {KEY}", "reply-m")]
    assert sorted(UsageRecord.objects.values_list("model", "credits")) == [("eval-m", 0), ("reply-m", 0)]
    assert KEY not in logged_text(caplog) and KEY not in every_row_as_text()

    plain = sdk()
    plain.chat.send_message(npc.id, "What a lovely gate", "player-1")
    assert len(byok_llm.chat_requests) == 2  # the key was that client's requests' only


def test_a_streamed_turn_runs_on_the_callers_key_and_closes_its_client(sdk, npc, byok_llm, caplog, monkeypatch):
    caplog.set_level(logging.DEBUG)
    closed: list[str] = []
    close = openai.OpenAI.close
    monkeypatch.setattr(openai.OpenAI, "close", lambda client: (closed.append(client.api_key), close(client))[1])
    client = sdk(llm_api_key=KEY, llm_response_model="reply-m")
    client.chat.init_session(npc.id, "player-1", "Ada", "female")

    events = list(client.chat.send_message_stream(npc.id, "Hello, gatekeeper", "player-1"))

    assert (events[0].event_type, events[-1].event_type) == ("metadata", "done")
    assert "".join(e.data["text"] for e in events if e.event_type == "text_delta") == events[-1].data.message
    [reply] = byok_llm.chat_requests  # a matcher decided: the reply is the one call
    assert (reply.authorization, reply.body["model"], reply.body["stream"]) == (f"Bearer {KEY}", "reply-m", True)
    assert closed == [KEY]
    assert KEY not in logged_text(caplog) and KEY not in every_row_as_text()


def test_a_refused_key_is_a_400_before_the_stream_or_an_error_event_in_it_never_with_the_key(sdk, npc, byok_llm):
    byok_llm.required_api_key = "sk-the-only-good-one"
    client = sdk(llm_api_key=KEY)
    client.chat.init_session(npc.id, "player-1", "Ada", "female")
    with pytest.raises(BadRequestError) as refused:  # the evaluation, before the stream starts
        list(client.chat.send_message_stream(npc.id, "What a lovely gate", "player-1"))
    assert "HTTP 401" in refused.value.message and KEY not in refused.value.message

    events = list(client.chat.send_message_stream(npc.id, "Hello, gatekeeper", "player-1"))  # the reply's call
    assert [e.event_type for e in events] == ["metadata", "error"]
    assert events[-1].data["code"] == "llm_key_refused" and KEY not in events[-1].data["error"]
    assert client.chat.get_session(npc.id, "player-1").current_state == "start"  # nothing of the turn written


def test_validate_llm_key_answers_valid_with_the_model(sdk, byok_llm, settings):
    settings.LLM_BYOK_DEFAULT_MODEL = "house-default"

    assert sdk(llm_api_key=KEY).validate_llm_key() == {"valid": True, "model": "house-default"}
    assert sdk(llm_api_key=KEY, llm_model="hdr-model").validate_llm_key() == {"valid": True, "model": "hdr-model"}
    assert sdk(llm_api_key=KEY, llm_model="hdr-model").validate_llm_key(model="body-model")["model"] == "body-model"

    assert [(r.authorization, r.body["model"], r.body["max_tokens"]) for r in byok_llm.chat_requests] == [
        (f"Bearer {KEY}", "house-default", 1),
        (f"Bearer {KEY}", "hdr-model", 1),
        (f"Bearer {KEY}", "body-model", 1),
    ]
    assert UsageRecord.objects.count() == 0


def test_a_refused_key_is_valid_false_with_the_reason_and_without_the_key(sdk, byok_llm, caplog):
    caplog.set_level(logging.DEBUG)
    byok_llm.required_api_key = "sk-the-only-good-one"

    answer = sdk(llm_api_key=KEY).validate_llm_key(model="m")

    assert answer["valid"] is False and answer["model"] == "m"
    assert "HTTP 401" in answer["error"] and KEY not in answer["error"]

    byok_llm.required_api_key = None
    byok_llm.forbidden_api_keys = {KEY}
    answer = sdk(llm_api_key=KEY).validate_llm_key(model="m")
    assert answer["valid"] is False and "HTTP 403" in answer["error"] and KEY not in answer["error"]
    assert KEY not in logged_text(caplog)


def test_validate_llm_key_without_a_key_is_a_bad_request(sdk, byok_llm):
    with pytest.raises(BadRequestError, match="X-LLM-API-Key"):
        sdk().validate_llm_key()
    with pytest.raises(BadRequestError, match="X-LLM-API-Key"):  # a step's key is not the one to check
        sdk(llm_eval_api_key=KEY).validate_llm_key()
    assert byok_llm.requests == []


def test_an_unreachable_provider_is_a_503_not_an_answer_about_the_key(sdk, settings):
    settings.LLM_BYOK_BASE_URL = "http://127.0.0.1:9/v1"
    with pytest.raises(FoilEngineError) as failed:
        sdk(llm_api_key=KEY).validate_llm_key()
    assert "did not answer in time or refused the connection" in failed.value.message
