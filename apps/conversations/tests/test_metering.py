"""Metering turns: the ledger row of each run priced from the rate card, reservation before the model call,
settlement after it, the 402 gate of a send and budget refusals of runs — against the fake OpenAI server
(real HTTP through the openai client) and the offline scripted provider."""

from decimal import Decimal

import pytest

from apps.accounts import services as accounts_services
from apps.accounts.errors import BudgetExceeded
from apps.accounts.models import BudgetCounter, UsageRecord
from apps.conversations import services
from apps.conversations.models import Event, IdempotencyRecord, Run, Session
from apps.conversations.tests.factories import session_start
from apps.core import clock
from apps.llm.tests.factories import llm_model_create
from apps.llm.types import ChatMessage, ModelSpec, input_tokens_upper_bound


@pytest.fixture(autouse=True)
def _lexicon_appraiser(settings):
    """These tests count the reply's model calls; the metered model appraisal has its own tests."""
    settings.EMOTION_APPRAISER = "lexicon"


def row_counts() -> dict:
    """What a refused send must leave untouched."""
    return {
        "events": Event.objects.count(),
        "runs": Run.objects.count(),
        "usage": UsageRecord.objects.count(),
        "counters": list(BudgetCounter.objects.values_list("pk", "spent_credits", "reserved_credits")),
        "cursors": list(Session.objects.values_list("pk", "last_cursor", "user_turn_count")),
        "idempotency": IdempotencyRecord.objects.count(),
    }


PRICED = {"prompt_credits_per_1k": Decimal("1.5"), "completion_credits_per_1k": Decimal("4")}


@pytest.fixture
def priced_fake_model(fake_llm):
    """The fake server's model in the catalog, with a rate card."""
    return llm_model_create(name="fake-chat", provider="openai_compatible", is_default=True, **PRICED)


def _cost(input_tokens: int, output_tokens: int, per_1k_in: Decimal, per_1k_out: Decimal) -> Decimal:
    return ((input_tokens * per_1k_in + output_tokens * per_1k_out) / 1000).quantize(Decimal("0.000001"))


def test_a_run_through_the_openai_client_settles_a_ledger_row_priced_from_the_catalog(
    owner, priced_fake_model, fake_llm, django_capture_on_commit_callbacks
):
    app = owner.api_key.app
    session = session_start(app, slug="luna", external_user_ref="u-42", display_name="Luna")

    with django_capture_on_commit_callbacks(execute=True):
        sent = services.message_send(app=app, session_id=session.id, text="hey, what are you up to tonight?")

    [request] = fake_llm.chat_requests
    run = Run.objects.get(pk=sent.run_ref)
    record = UsageRecord.objects.get(run_ref=sent.run_ref)
    # the fake server counts words; the ledger takes the provider's usage block as reported
    assert (record.input_tokens, record.output_tokens) == (run.prompt_tokens, run.completion_tokens)
    assert record.input_tokens == sum(len(m["content"].split()) for m in request.body["messages"])
    assert record.credits == _cost(record.input_tokens, record.output_tokens, Decimal("1.5"), Decimal("4"))
    assert record.credits > 0
    assert (record.status, record.outcome, record.resource_type) == ("settled", "succeeded", "chat_turn")
    assert (record.app_id, record.session_id, record.character, record.external_user_ref) == (
        app.id,
        session.id,
        "luna",
        "u-42",
    )
    assert (record.model, record.provider) == ("fake-chat", "openai_compatible")
    # what was reserved bounded what was spent: the whole prompt and max_tokens of reply
    assert record.reserved_credits >= record.credits
    assert record.reserved_credits == _cost(
        sum((len(m["content"]) + 1) // 2 + 4 for m in request.body["messages"]),
        request.body["max_tokens"],
        Decimal("1.5"),
        Decimal("4"),
    )


def test_the_scripted_provider_reports_token_counts_priced_from_the_settings(
    owner, settings, django_capture_on_commit_callbacks
):
    settings.LLM_INPUT_CREDITS_PER_1K = 2.0
    settings.LLM_OUTPUT_CREDITS_PER_1K = 10.0
    app = owner.api_key.app
    session = session_start(app, display_name="Luna", profile={"visible_interests": ["tea"]})

    with django_capture_on_commit_callbacks(execute=True):
        sent = services.message_send(app=app, session_id=session.id, text="tell me something about tea please")

    record = UsageRecord.objects.get(run_ref=sent.run_ref)
    reply = Event.objects.get(session=session, role="character", event_type="message.created")
    assert record.output_tokens == len(reply.payload["text"].split()) > 0
    assert record.input_tokens > 6  # the message's six words plus the character sheet
    assert record.credits == _cost(record.input_tokens, record.output_tokens, Decimal(2), Decimal(10))
    assert (record.model, record.provider) == ("scripted", "scripted")


def test_over_a_hard_cap_the_send_is_refused_before_anything_is_written_or_called(
    owner, priced_fake_model, fake_llm, django_capture_on_commit_callbacks, announced
):
    app = owner.api_key.app
    session = session_start(app, external_user_ref="u-1")
    accounts_services.budget_policy_set(app=app, external_user_ref="u-1", limit_credits=Decimal("0.01"))
    before, announced_before = row_counts(), len(announced)

    with django_capture_on_commit_callbacks(execute=True) as callbacks, pytest.raises(BudgetExceeded) as refused:
        services.message_send(app=app, session_id=session.id, text="hello")

    assert refused.value.status == 402 and refused.value.code == "budget_exceeded"
    assert "u-1" in refused.value.message and refused.value.fix_hint
    assert fake_llm.chat_requests == []
    assert (row_counts(), callbacks, len(announced)) == (before, [], announced_before)


def test_a_run_that_can_no_longer_reserve_fails_with_budget_exceeded_without_a_model_call(
    owner, priced_fake_model, fake_llm, django_capture_on_commit_callbacks
):
    # given a message accepted while there was room, and a cap lowered before its run starts
    app = owner.api_key.app
    session = session_start(app, external_user_ref="u-1")
    sent = services.message_send(app=app, session_id=session.id, text="hello")  # not dispatched yet
    accounts_services.budget_policy_set(app=app, limit_credits=Decimal("0.01"))  # the app-wide budget

    with django_capture_on_commit_callbacks(execute=True):
        outcome = services.run_execute(run_id=sent.run_ref)

    assert outcome.status == "failed"
    assert fake_llm.chat_requests == []
    run = Run.objects.get(pk=sent.run_ref)
    assert (run.status, run.error_code, run.model_calls) == ("failed", "budget_exceeded", 0)
    failed = Event.objects.get(session=session, event_type="run.failed")
    assert failed.payload["code"] == "budget_exceeded" and failed.payload["run_ref"] == run.id
    assert not UsageRecord.objects.exists()  # nothing reserved, nothing in the ledger
    assert not BudgetCounter.objects.exists()  # the refused reservation was rolled back whole


def test_a_failed_model_call_settles_to_zero_and_releases_the_reservation(
    owner, priced_fake_model, fake_llm, django_capture_on_commit_callbacks
):
    app = owner.api_key.app
    session = session_start(app, external_user_ref="u-1")
    accounts_services.budget_policy_set(app=app, external_user_ref="u-1", limit_credits=Decimal(100))
    fake_llm.set_mode("bad_request")

    with django_capture_on_commit_callbacks(execute=True):
        sent = services.message_send(app=app, session_id=session.id, text="hello")

    record = UsageRecord.objects.get(run_ref=sent.run_ref)
    assert (record.status, record.outcome, record.credits) == ("settled", "failed", 0)
    assert record.reserved_credits > 0
    counter = BudgetCounter.objects.get()
    assert (counter.spent_credits, counter.reserved_credits) == (0, 0)


def test_a_run_taken_over_keeps_its_first_reservation_and_settles_once(
    owner, priced_fake_model, fake_llm, django_capture_on_commit_callbacks
):
    # given a run whose worker reserved credits and died before the model answered
    app = owner.api_key.app
    session = session_start(app, external_user_ref="u-1")
    accounts_services.budget_policy_set(app=app, external_user_ref="u-1", limit_credits=Decimal(100))
    sent = services.message_send(app=app, session_id=session.id, text="hello")
    run = Run.objects.select_related("session__character_version").get(pk=sent.run_ref)
    spec = ModelSpec(name="fake-chat", provider="openai_compatible", upstream_model="fake-chat", **_rates())
    services.metering.run_usage_reserve(run=run, spec=spec, messages=[ChatMessage("user", "hello")])
    held = BudgetCounter.objects.get().reserved_credits
    Run.objects.filter(pk=run.id).update(status="running", attempts=1, lease_expires_at=clock.now())

    # when another worker takes the run over and finishes it
    with django_capture_on_commit_callbacks(execute=True):
        assert services.run_execute(run_id=run.id).status == "succeeded"

    # then one ledger row, its first reservation released, and the spend counted once
    record = UsageRecord.objects.get()
    assert record.reserved_credits == held
    counter = BudgetCounter.objects.get()
    assert (counter.reserved_credits, counter.spent_credits) == (0, record.credits)
    settled_again = accounts_services.usage_settle(
        run_ref=run.id, input_tokens=1, output_tokens=1, credits=Decimal(1), outcome="succeeded"
    )
    assert settled_again.record is None
    counter.refresh_from_db()
    assert counter.spent_credits == record.credits


def _rates() -> dict:
    return {"input_credits_per_1k": Decimal("1.5"), "output_credits_per_1k": Decimal("4"), "max_tokens": 400}


def test_crossing_the_soft_limit_emits_one_budget_warning_per_period(
    owner, priced_fake_model, fake_llm, django_capture_on_commit_callbacks, announced
):
    app = owner.api_key.app
    session = session_start(app, external_user_ref="u-1")
    accounts_services.budget_policy_set(
        app=app, external_user_ref="u-1", limit_credits=Decimal(100), soft_limit_credits=Decimal("0.000001")
    )

    with django_capture_on_commit_callbacks(execute=True):
        first = services.message_send(app=app, session_id=session.id, text="hello")
        services.message_send(app=app, session_id=session.id, text="hello again")

    [warning] = Event.objects.filter(session=session, event_type="budget.warning")
    assert warning.run_id == first.run_ref
    assert warning.payload["scope"] == "external_user" and warning.payload["external_user_ref"] == "u-1"
    assert warning.payload["threshold_credits"] == 0.000001
    assert warning.payload["spent_credits"] == float(UsageRecord.objects.get(run_ref=first.run_ref).credits)
    assert "budget.warning" in [event["event_type"] for event in announced]


def test_a_soft_policy_warns_at_its_limit_but_never_refuses(
    owner, priced_fake_model, fake_llm, django_capture_on_commit_callbacks
):
    app = owner.api_key.app
    session = session_start(app)
    accounts_services.budget_policy_set(app=app, limit_credits=Decimal("0.000001"), enforcement="soft")

    with django_capture_on_commit_callbacks(execute=True):
        for text in ("one", "two", "three"):
            services.message_send(app=app, session_id=session.id, text=text)

    assert Run.objects.filter(session=session, status="succeeded").count() == 3
    assert Event.objects.filter(session=session, event_type="budget.warning").count() == 1
    counter = BudgetCounter.objects.get()
    assert counter.spent_credits == sum(UsageRecord.objects.values_list("credits", flat=True))


def test_per_user_caps_hold_one_end_user_while_the_app_wide_cap_holds_them_all(
    owner, priced_fake_model, fake_llm, django_capture_on_commit_callbacks
):
    app = owner.api_key.app
    capped = session_start(app, slug="luna", external_user_ref="capped")
    free = services.session_create(app=app, character_slug="luna", external_user_ref="free")
    accounts_services.budget_policy_set(app=app, external_user_ref="capped", limit_credits=Decimal(0))

    with pytest.raises(BudgetExceeded):
        services.message_send(app=app, session_id=capped.id, text="hi")
    with django_capture_on_commit_callbacks(execute=True):
        services.message_send(app=app, session_id=free.id, text="hi")
    spent = UsageRecord.objects.get().credits
    assert spent > 0

    # an app-wide cap at what was spent leaves no room for anyone
    accounts_services.budget_policy_set(app=app, limit_credits=spent)
    for session in (capped, free):
        with pytest.raises(BudgetExceeded):
            services.message_send(app=app, session_id=session.id, text="hi")
    # a cap on another resource type does not count chat turns
    accounts_services.budget_policy_clear(app=app)
    accounts_services.budget_policy_set(app=app, resource_type="proactive_turn", limit_credits=Decimal(0))
    with django_capture_on_commit_callbacks(execute=True):
        services.message_send(app=app, session_id=free.id, text="hi")
    assert UsageRecord.objects.count() == 2


def test_a_cap_set_mid_period_counts_what_was_already_spent(
    owner, priced_fake_model, fake_llm, django_capture_on_commit_callbacks
):
    app = owner.api_key.app
    session = session_start(app, external_user_ref="u-1")
    with django_capture_on_commit_callbacks(execute=True):
        services.message_send(app=app, session_id=session.id, text="hi")
    spent = UsageRecord.objects.get().credits

    accounts_services.budget_policy_set(app=app, external_user_ref="u-1", limit_credits=spent)

    with pytest.raises(BudgetExceeded) as refused:
        services.message_send(app=app, session_id=session.id, text="again")
    assert f"used {spent.normalize():f} of its" in refused.value.message


def test_the_reservation_bound_covers_what_the_word_counting_providers_report():
    spec = ModelSpec(name="m", provider="scripted", upstream_model="m", **_rates())
    messages = [ChatMessage("system", "a b c d e f"), ChatMessage("user", "I a b c")]
    assert input_tokens_upper_bound(messages) >= sum(len(m.content.split()) for m in messages)
    # by hand: one token per two characters, rounded up (11 and 7 characters: 6 + 4), plus 4 per message: 18
    # input tokens; the reply at max_tokens 400. At 1.5 and 4 credits per 1k: (18 x 1.5 + 400 x 4) / 1000.
    assert input_tokens_upper_bound(messages) == 18
    assert spec.credits_upper_bound(messages) == Decimal("1.627")


def test_a_turn_the_character_starts_is_metered_as_proactive(
    owner, priced_fake_model, fake_llm, django_capture_on_commit_callbacks
):
    app = owner.api_key.app
    session = session_start(app, external_user_ref="u-1")

    with django_capture_on_commit_callbacks(execute=True):
        started = services.proactive_test_send(app=app, session_id=session.id)

    record = UsageRecord.objects.get(run_ref=started.run_ref)
    assert (record.resource_type, record.status, record.external_user_ref) == ("proactive_turn", "settled", "u-1")
    assert record.credits > 0 and len(fake_llm.chat_requests) == 1


def test_a_proactive_turn_over_the_cap_fails_with_budget_exceeded_and_calls_no_model(
    owner, priced_fake_model, fake_llm, django_capture_on_commit_callbacks
):
    app = owner.api_key.app
    session = session_start(app, external_user_ref="u-1")
    accounts_services.budget_policy_set(
        app=app, external_user_ref="u-1", resource_type="proactive_turn", limit_credits=Decimal(0)
    )

    with django_capture_on_commit_callbacks(execute=True):
        started = services.proactive_test_send(app=app, session_id=session.id)

    run = Run.objects.get(pk=started.run_ref)
    assert (run.status, run.error_code, run.model_calls) == ("failed", "budget_exceeded", 0)
    assert fake_llm.chat_requests == [] and not UsageRecord.objects.exists()
    # the cap counts only proactive turns: the end-user's own messages are still answered
    with django_capture_on_commit_callbacks(execute=True):
        services.message_send(app=app, session_id=session.id, text="hi")
    assert UsageRecord.objects.get().resource_type == "chat_turn"


def test_a_model_appraisal_is_metered_as_its_own_call_and_shown_in_the_trace(
    owner, api, priced_fake_model, fake_llm, settings, django_capture_on_commit_callbacks
):
    settings.EMOTION_APPRAISER = "auto"
    app = owner.api_key.app
    session = session_start(app, external_user_ref="u-1")
    with django_capture_on_commit_callbacks(execute=True):
        sent = services.message_send(app=app, session_id=session.id, text="I got the job, I am so happy!")

    run = Run.objects.get(pk=sent.run_ref)
    [appraisal_request] = fake_llm.appraisal_requests
    assert (run.status, run.model_calls) == ("succeeded", 2)
    rows = {row.purpose: row for row in UsageRecord.objects.filter(run_ref=run.id)}
    assert set(rows) == {"emotion_appraisal", "reply"}
    appraisal = rows["emotion_appraisal"]
    assert (appraisal.status, appraisal.outcome, appraisal.resource_type) == ("settled", "succeeded", "chat_turn")
    assert appraisal.input_tokens == sum(len(m["content"].split()) for m in appraisal_request.body["messages"])
    assert appraisal.credits == _cost(appraisal.input_tokens, appraisal.output_tokens, Decimal("1.5"), Decimal("4"))
    assert appraisal.credits > 0

    trace = api.get(f"/v1/sessions/{session.id}/trace?run_ref={run.id}").json()["data"]["events"]
    [reply] = [item for item in trace if item["event"]["event_type"] == "message.created"]
    usage = reply["usage"]
    assert [call["purpose"] for call in usage["calls"]] == ["emotion_appraisal", "reply"]
    assert usage["credits"] == pytest.approx(float(appraisal.credits + rows["reply"].credits))
    assert usage["model"] == "fake-chat"


def test_a_budget_without_room_for_the_appraisal_fails_the_turn_before_any_model_call(
    owner, priced_fake_model, fake_llm, settings, django_capture_on_commit_callbacks
):
    # given a hard cap that lets the send through (its bound is the reply at max_tokens) but has no room
    # for the appraisal call's longer prompt
    settings.EMOTION_APPRAISER = "auto"
    app = owner.api_key.app
    session = session_start(app, external_user_ref="u-1")
    text = "I got the job, I am so happy!"
    spec = ModelSpec(name="fake-chat", provider="openai_compatible", upstream_model="fake-chat", **_rates())
    floor = spec.credits_upper_bound([ChatMessage("user", text)])
    accounts_services.budget_policy_set(app=app, external_user_ref="u-1", limit_credits=floor)

    with django_capture_on_commit_callbacks(execute=True):
        sent = services.message_send(app=app, session_id=session.id, text=text)

    # then the turn fails with budget_exceeded, no model was called and nothing was spent or held
    run = Run.objects.get(pk=sent.run_ref)
    assert (run.status, run.error_code, run.model_calls) == ("failed", "budget_exceeded", 0)
    assert fake_llm.requests == []
    assert not UsageRecord.objects.exists()
    assert not BudgetCounter.objects.exclude(reserved_credits=0, spent_credits=0).exists()
