"""GET /v1/rates, GET /v1/usage, the budget-policy endpoints, the 402 of a send, GET /runs with cost and
GET /v1/sessions/{id}/trace: success, tenancy, the error body, and nothing written on failure."""

from decimal import Decimal

import pytest
from django.test import Client

from apps.accounts import services as accounts_services
from apps.accounts.models import BudgetPolicy, UsageRecord
from apps.api.native.tests.contract import assert_error
from apps.characters.tests.factories import character_publish
from apps.conversations import services
from apps.conversations.models import Session
from apps.conversations.tests.factories import session_start
from apps.delivery.telegram import services as telegram_services
from apps.llm.tests.factories import image_model_create, llm_model_create


@pytest.fixture
def priced_models(db):
    """Two offline models with different rates; ``cheap`` is the default."""
    cheap = llm_model_create(
        name="cheap", provider="scripted", is_default=True, prompt_credits_per_1k=1, completion_credits_per_1k=2
    )
    pricey = llm_model_create(
        name="pricey", provider="scripted", prompt_credits_per_1k=10, completion_credits_per_1k=30, max_tokens=200
    )
    return cheap, pricey


@pytest.fixture
def traffic(owner, priced_models, django_capture_on_commit_callbacks):
    """Turns of two characters (on two models) with two end-users, run through the real pipeline."""
    app = owner.api_key.app
    luna = session_start(app, slug="luna", external_user_ref="ann", display_name="Luna")
    mira = session_start(app, slug="mira", external_user_ref="bob", display_name="Mira", model="pricey")
    luna_bob = services.session_create(app=app, character_slug="luna", external_user_ref="bob")
    with django_capture_on_commit_callbacks(execute=True):
        for session, text in [(luna, "hi"), (luna, "how are you"), (mira, "hello there"), (luna_bob, "yo")]:
            services.message_send(app=app, session_id=session.id, text=text)
    return {"luna": luna, "mira": mira, "luna_bob": luna_bob}


def _records(**filters) -> list[UsageRecord]:
    return list(UsageRecord.objects.filter(status="settled", **filters))


def _sum(records) -> dict:
    return {
        "records": len(records),
        "input_tokens": sum(r.input_tokens for r in records),
        "output_tokens": sum(r.output_tokens for r in records),
        "total_tokens": sum(r.input_tokens + r.output_tokens for r in records),
        "credits": float(sum((r.credits for r in records), Decimal(0))),
    }


# --- rates -------------------------------------------------------------------------------------------
def test_rates_list_the_catalog_and_the_settings_models(api, priced_models, settings):
    settings.LLM_INPUT_CREDITS_PER_1K = 0.5
    settings.LLM_OUTPUT_CREDITS_PER_1K = 1.5
    settings.IMAGE_CREDITS_PER_IMAGE = 12.0
    llm_model_create(name="retired", is_active=False, prompt_credits_per_1k=99)

    response = api.get("/v1/rates")

    assert response.status_code == 200
    body = response.json()
    assert body["schema_version"] and body["next_actions"]
    data = body["data"]
    assert data["unit"] == "credits"
    builtin = {"model": "builtin", "provider": "builtin", "credits_per_image": 12.0, "width": 512, "height": 512}
    assert data["images"] == {"credits_per_image": 12.0, "models": [{**builtin, "is_default": True}]}
    rates = {rate["model"]: rate for rate in data["models"]}
    assert set(rates) == {"cheap", "pricey", "scripted"}  # LLM_CHAT_MODEL is "scripted" here
    assert rates["pricey"] == {
        "model": "pricey",
        "provider": "scripted",
        "input_credits_per_1k_tokens": 10.0,
        "output_credits_per_1k_tokens": 30.0,
        "input_credits_per_1m_tokens": 10000.0,
        "output_credits_per_1m_tokens": 30000.0,
        "max_tokens": 200,
        "is_default": False,
    }
    assert rates["cheap"]["is_default"] and not rates["scripted"]["is_default"]
    assert (rates["scripted"]["input_credits_per_1k_tokens"], rates["scripted"]["output_credits_per_1k_tokens"]) == (
        0.5,
        1.5,
    )


def test_rates_list_each_active_image_model_with_its_price_per_picture(api, db, settings):
    settings.IMAGE_CREDITS_PER_IMAGE = 4.0
    image_model_create(
        name="house-sd",
        provider="automatic1111",
        base_url="http://127.0.0.1:9",
        width=768,
        height=1024,
        credits_per_image="2.5",
        is_default=True,
    )
    image_model_create(name="retired-sd", provider="builtin", credits_per_image=9, is_active=False)

    response = api.get("/v1/rates")

    images = response.json()["data"]["images"]
    assert images["credits_per_image"] == 2.5  # the default image model's price
    assert images["models"] == [
        {
            "model": "house-sd",
            "provider": "automatic1111",
            "credits_per_image": 2.5,
            "width": 768,
            "height": 1024,
            "is_default": True,
        },
        {
            "model": "builtin",
            "provider": "builtin",
            "credits_per_image": 4.0,
            "width": 512,
            "height": 512,
            "is_default": False,
        },
    ]
    # an image model is not a chat model: it has no token rates
    assert "house-sd" not in {rate["model"] for rate in response.json()["data"]["models"]}


def test_rates_need_a_key(anon, db):
    assert_error(anon.get("/v1/rates"), 401, "missing_api_key")


# --- usage -------------------------------------------------------------------------------------------
def test_usage_totals_match_the_ledger(api, traffic):
    data = api.get("/v1/usage").json()["data"]
    assert data["totals"] == _sum(_records())
    assert data["totals"]["records"] == 4 and data["totals"]["credits"] > 0
    assert (data["group_by"], data["groups"], data["truncated"]) == (None, [], False)


@pytest.mark.parametrize(
    ("group_by", "column"),
    [
        ("model", "model"),
        ("provider", "provider"),
        ("character", "character"),
        ("session", "session_id"),
        ("external_user", "external_user_ref"),
        ("resource_type", "resource_type"),
    ],
)
def test_usage_groups_by_each_dimension(api, traffic, group_by, column):
    data = api.get("/v1/usage", {"group_by": group_by}).json()["data"]

    records = _records()
    expected = {
        value: _sum([r for r in records if getattr(r, column) == value])
        for value in {getattr(r, column) for r in records}
    }
    assert {group["key"]: {k: v for k, v in group.items() if k != "key"} for group in data["groups"]} == expected
    credits = [group["credits"] for group in data["groups"]]
    assert credits == sorted(credits, reverse=True)  # most expensive first
    assert data["totals"] == _sum(records)


def test_usage_groups_name_what_happened(api, traffic):
    by_character = {g["key"]: g["records"] for g in api.get("/v1/usage?group_by=character").json()["data"]["groups"]}
    by_user = {g["key"]: g["records"] for g in api.get("/v1/usage?group_by=external_user").json()["data"]["groups"]}
    by_model = {g["key"]: g["records"] for g in api.get("/v1/usage?group_by=model").json()["data"]["groups"]}
    assert (by_character, by_user, by_model) == (
        {"luna": 3, "mira": 1},
        {"ann": 2, "bob": 2},
        {"cheap": 3, "pricey": 1},
    )


def test_usage_filters_and_date_ranges(api, traffic):
    bob = api.get("/v1/usage", {"external_user_ref": "bob", "group_by": "character"}).json()["data"]
    assert bob["totals"] == _sum(_records(external_user_ref="bob"))
    assert {g["key"] for g in bob["groups"]} == {"luna", "mira"}
    session = traffic["luna"].id
    assert api.get("/v1/usage", {"session_id": session}).json()["data"]["totals"] == _sum(_records(session_id=session))
    today = UsageRecord.objects.first().created_at.date()
    same_day = api.get("/v1/usage", {"from": today.isoformat(), "to": today.isoformat()}).json()["data"]
    assert same_day["totals"]["records"] == 4
    before = api.get("/v1/usage", {"to": "2000-01-01"}).json()["data"]
    assert before["totals"] == {"records": 0, "input_tokens": 0, "output_tokens": 0, "total_tokens": 0, "credits": 0.0}
    later = api.get("/v1/usage", {"from": "2999-01-01T00:00:00Z"}).json()["data"]
    assert later["totals"]["records"] == 0 and later["from"].startswith("2999-01-01T00:00:00")


def test_usage_groups_are_capped_by_limit_and_say_so(api, traffic):
    data = api.get("/v1/usage", {"group_by": "session", "limit": 2}).json()["data"]
    assert len(data["groups"]) == 2 and data["truncated"] is True
    assert data["totals"]["records"] == 4


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"group_by": "planet"}, "group_by"),
        ({"from": "yesterday"}, "from"),
        ({"to": "2026-02-30"}, "to"),
        ({"limit": 0}, "limit"),
        ({"resource_type": "video"}, "resource_type"),
    ],
)
def test_bad_usage_queries_are_422_naming_the_field(api, db, query, field):
    assert_error(api.get("/v1/usage", query), 422, "validation_error", fields=[field])


def test_usage_shows_only_the_callers_ledger(other_api, traffic):
    data = other_api.get("/v1/usage", {"group_by": "session"}).json()["data"]
    assert data["totals"]["records"] == 0 and data["groups"] == []


# --- budgets -----------------------------------------------------------------------------------------
def test_an_end_users_budget_is_set_read_and_cleared(api, traffic, nothing_written):
    url = "/v1/external-users/ann/budget-policy"

    response = api.post(url, {"limit_credits": 2.5, "period": "daily", "soft_limit_credits": 2}, format="json")

    assert response.status_code == 200, response.content
    [policy] = response.json()["data"]["policies"]
    spent = float(sum(r.credits for r in _records(external_user_ref="ann")))
    assert policy == {
        "scope": "external_user",
        "external_user_ref": "ann",
        "resource_type": "all",
        "period": "daily",
        "enforcement": "hard",
        "limit_credits": 2.5,
        "soft_limit_credits": 2.0,
        "period_start": policy["period_start"],
        "period_end": policy["period_end"],
        "spent_credits": spent,  # the day's spending before the cap counts
        "reserved_credits": 0.0,
        "remaining_credits": max(0.0, round(2.5 - spent, 6)),
        "updated_at": policy["updated_at"],
    }
    assert policy["period_start"].endswith(("T00:00:00Z", "T00:00:00+00:00"))
    assert api.get(url).json()["data"]["policies"] == [policy]

    # a second resource type is a second policy; POST again replaces one
    api.post(url, {"limit_credits": 1, "resource_type": "proactive_turn"}, format="json")
    replaced = api.post(url, {"limit_credits": 7}, format="json").json()["data"]["policies"]
    assert [(p["resource_type"], p["limit_credits"], p["period"]) for p in replaced] == [
        ("all", 7.0, "monthly"),
        ("proactive_turn", 1.0, "monthly"),
    ]
    # null removes one; DELETE removes the rest
    cleared = api.post(url, {"limit_credits": None, "resource_type": "proactive_turn"}, format="json")
    assert [p["resource_type"] for p in cleared.json()["data"]["policies"]] == ["all"]
    deleted = api.delete(url)
    assert deleted.json()["data"] == {"external_user_ref": "ann", "cleared": 1}
    assert not BudgetPolicy.objects.exists()


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({}, ["limit_credits"]),
        ({"limit_credits": -1}, ["limit_credits"]),
        ({"limit_credits": "5"}, ["limit_credits"]),
        ({"limit_credits": 5, "period": "weekly"}, ["period"]),
        ({"limit_credits": 5, "enforcement": "maybe"}, ["enforcement"]),
        ({"limit_credits": 5, "resource_type": "video"}, ["resource_type"]),
        ({"limit_credits": 5, "soft_limit_credits": -0.5}, ["soft_limit_credits"]),
    ],
)
def test_bad_budget_bodies_are_422_and_write_nothing(api, traffic, nothing_written, body, fields):
    with nothing_written():
        response = api.post("/v1/external-users/ann/budget-policy", body, format="json")
        app_wide = api.put("/v1/budget-policy", body, format="json")
    assert_error(response, 422, "validation_error", fields=fields)
    assert_error(app_wide, 422, "validation_error", fields=fields)


def test_another_apps_end_user_looks_absent(api, other_api, traffic, nothing_written):
    url = "/v1/external-users/ann/budget-policy"  # ann has sessions in the owner's app only
    with nothing_written():
        answers = [
            other_api.post(url, {"limit_credits": 1}, format="json"),
            other_api.get(url),
            other_api.delete(url),
            api.post("/v1/external-users/nobody/budget-policy", {"limit_credits": 1}, format="json"),
        ]
    for response in answers:
        detail = assert_error(response, 404, "external_user_not_found")
        assert "POST /v1/sessions" in detail["fix"]


def test_the_app_wide_budget_is_set_read_and_cleared(api, traffic, other_api):
    response = api.put("/v1/budget-policy", {"limit_credits": 50, "enforcement": "soft"}, format="json")

    assert response.status_code == 200
    [policy] = response.json()["data"]["policies"]
    assert (policy["scope"], policy["external_user_ref"], policy["enforcement"]) == ("app", None, "soft")
    assert policy["spent_credits"] == float(sum(r.credits for r in _records()))
    assert api.get("/v1/budget-policy").json()["data"]["policies"] == [policy]
    assert other_api.get("/v1/budget-policy").json()["data"]["policies"] == []  # per app
    assert api.delete("/v1/budget-policy?resource_type=image").json()["data"]["cleared"] == 0
    assert api.delete("/v1/budget-policy").json()["data"] == {"external_user_ref": None, "cleared": 1}


def test_sandbox_keys_cannot_change_budgets(anon, db, nothing_written):
    sandbox = accounts_services.app_create(name="sandbox", is_sandbox=True, **accounts_services.SANDBOX_CAPS)
    anon.credentials(HTTP_AUTHORIZATION=f"Bearer {accounts_services.api_key_create(app=sandbox).raw_key}")
    with nothing_written():
        response = anon.put("/v1/budget-policy", {"limit_credits": 5}, format="json")
    assert_error(response, 403, "demo_key_surface_disabled")


def test_a_send_over_the_cap_is_402_before_any_model_call_and_writes_nothing(api, owner, fake_llm, nothing_written):
    session = session_start(owner.api_key.app, external_user_ref="ann")
    api.post("/v1/external-users/ann/budget-policy", {"limit_credits": 0}, format="json")

    with nothing_written():
        response = api.post(f"/v1/sessions/{session.id}/messages", {"text": "hi"}, format="json")

    detail = assert_error(response, 402, "budget_exceeded")
    assert "budget-policy" in detail["fix"]
    assert fake_llm.requests == []


# --- runs and trace ----------------------------------------------------------------------------------
def test_runs_show_their_cost(api, traffic):
    session = traffic["luna"]
    runs = api.get(f"/v1/sessions/{session.id}/runs").json()["data"]["runs"]
    ledger = {r.run_ref: r for r in _records(session_id=session.id)}
    assert len(runs) == 2
    for run in runs:
        record = ledger[run["run_ref"]]
        assert (run["credits"], run["reserved_credits"]) == (float(record.credits), float(record.reserved_credits))
        assert (run["resource_type"], run["usage_status"]) == ("chat_turn", "settled")
        assert (run["prompt_tokens"], run["completion_tokens"]) == (record.input_tokens, record.output_tokens)
    one = runs[1]["run_ref"]
    only = api.get(f"/v1/sessions/{session.id}/runs", {"run_ref": one}).json()["data"]["runs"]
    assert [run["run_ref"] for run in only] == [one]


def test_trace_pages_through_events_newest_first_with_usage_and_delivery(api, traffic):
    # no greeting; two turns of (user message, run.status, reply, emotion.updated): cursors 1..8
    session = traffic["luna"]
    first = api.get(f"/v1/sessions/{session.id}/trace", {"limit": 5})

    assert first.status_code == 200
    data = first.json()["data"]
    assert [item["event"]["cursor"] for item in data["events"]] == [8, 7, 6, 5, 4]
    assert data["next_before"] == 4
    assert f"GET /v1/sessions/{session.id}/trace?limit=5&before=4" in [
        a["command"] for a in first.json()["next_actions"]
    ]
    rest = api.get(f"/v1/sessions/{session.id}/trace", {"limit": 5, "before": 4}).json()["data"]
    assert [item["event"]["cursor"] for item in rest["events"]] == [3, 2, 1]
    assert rest["next_before"] is None

    ledger = {r.run_ref: r for r in _records(session_id=session.id)}
    for item in data["events"] + rest["events"]:
        event = item["event"]
        assert {"kind": "sse", "status": "available"}.items() <= item["deliveries"][0].items()
        if event["run_ref"] is None:  # the user's message belongs to no run
            assert item["usage"] is None
            continue
        record = ledger[event["run_ref"]]
        assert item["usage"]["credits"] == float(record.credits) and item["usage"]["status"] == "settled"
        assert (item["usage"]["input_tokens"], item["usage"]["model"]) == (record.input_tokens, "cheap")
    run_ref = data["events"][0]["event"]["run_ref"]
    one_run = api.get(f"/v1/sessions/{session.id}/trace", {"run_ref": run_ref}).json()["data"]["events"]
    assert [(i["event"]["event_type"], i["event"]["run_ref"]) for i in one_run] == [
        ("emotion.updated", run_ref),
        ("message.created", run_ref),
        ("run.status", run_ref),
    ]


def test_trace_of_another_apps_session_is_404_and_bad_queries_422(api, other_api, traffic):
    session = traffic["luna"]
    assert_error(other_api.get(f"/v1/sessions/{session.id}/trace"), 404, "session_not_found")
    assert_error(api.get(f"/v1/sessions/{session.id}/trace", {"limit": 0}), 422, "validation_error", fields=["limit"])
    assert_error(
        api.get(f"/v1/sessions/{session.id}/trace", {"before": "x"}), 422, "validation_error", fields=["before"]
    )


def test_trace_shows_each_events_telegram_delivery(
    owner, api, fake_telegram, settings, django_capture_on_commit_callbacks
):
    # given a Telegram bot whose end-user wrote, and whose reply went out through the real sink
    settings.EVENT_SINKS = ["conftest.RecordingSink", "apps.delivery.sinks.TelegramSink"]
    app = owner.api_key.app
    character_publish(app, slug="luna", greeting="hey, I'm Luna!")
    token = fake_telegram.bot_create(username="luna_bot")
    channel, _ = telegram_services.telegram_channel_connect(
        app=app, bot_token=token, routing_mode="single_character", default_character_slug="luna"
    )
    url, secret = fake_telegram.webhook_of(token)
    with django_capture_on_commit_callbacks(execute=True):
        Client().post(
            url.removeprefix("http://testserver"),
            fake_telegram.update(user_id=77, text="hi there"),
            content_type="application/json",
            HTTP_X_TELEGRAM_BOT_API_SECRET_TOKEN=secret,
        )
    session = Session.objects.get(external_user_ref="telegram:77")

    items = api.get(f"/v1/sessions/{session.id}/trace").json()["data"]["events"]

    # then each event carries its rows on the bot, next to the implicit SSE/polling one
    kinds = [(i["event"]["event_type"], [d["kind"] for d in i["deliveries"]], i["delivery_status"]) for i in items]
    assert kinds == [
        ("emotion.updated", ["sse"], None),  # the character's feelings are read, not sent to the chat
        ("message.created", ["sse", "telegram"], "delivered"),  # the reply
        ("run.status", ["sse", "telegram"], "delivered"),  # the typing action
        ("message.created", ["sse"], None),  # the end-user's own message is not sent back
        ("character.initiated", ["sse", "telegram"], "delivered"),  # the greeting
    ]
    reply = items[1]["deliveries"][1]
    assert (reply["channel_id"], reply["status"], reply["attempts"]) == (channel.id, "delivered", 1)
    assert reply["delivered_at"] is not None
    assert items[1]["usage"]["status"] == "settled"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/v1/rates"),
        ("get", "/v1/usage"),
        ("get", "/v1/budget-policy"),
        ("put", "/v1/budget-policy"),
        ("delete", "/v1/budget-policy"),
        ("get", "/v1/external-users/ann/budget-policy"),
        ("post", "/v1/external-users/ann/budget-policy"),
        ("delete", "/v1/external-users/ann/budget-policy"),
        ("get", "/v1/sessions/sess_000000000000000000000000/trace"),
    ],
)
def test_every_new_endpoint_needs_a_key_and_writes_nothing_without_one(anon, db, nothing_written, method, path):
    with nothing_written():
        response = getattr(anon, method)(path, {"limit_credits": 1}, format="json")
    assert_error(response, 401, "missing_api_key")


def test_trace_shows_each_events_webhook_delivery(owner, api, webhook_receiver, settings):
    # given a session with a signed webhook channel on a real receiver
    settings.WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    settings.EVENT_SINKS = ["conftest.RecordingSink", "apps.delivery.sinks.WebhookSink"]
    session = session_start(owner.api_key.app, slug="luna")
    channel = api.post(
        f"/v1/sessions/{session.id}/channels",
        {"url": webhook_receiver.url, "secret": "test-signing-secret-0123456789"},
        format="json",
    ).json()["data"]
    # when a turn runs and its events are pushed
    api.post(f"/v1/sessions/{session.id}/messages", {"text": "hello"}, format="json")
    trace = api.get(f"/v1/sessions/{session.id}/trace").json()["data"]["events"]
    # then every event lists its webhook row next to the implicit SSE delivery, for that channel
    assert trace, "the turn wrote events"
    for item in trace:
        kinds = [delivery["kind"] for delivery in item["deliveries"]]
        assert kinds == ["sse", "webhook"], item
        webhook = item["deliveries"][1]
        assert webhook["channel_id"] == channel["channel_id"]
        assert webhook["status"] in {"pending", "delivering", "delivered"}
