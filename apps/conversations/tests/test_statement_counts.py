"""The guard on a turn's cost: exact SQL statement counts (transaction control included) and model calls.

These are counts, not timings, so they belong in the suite: a change that adds a query to the message POST
or the worker's turn fails here, and has to lower another or say why it is worth its cost (and change the
number here, with the bench comparison in its commit). They run with the production event sinks
(channel layer, Telegram, webhooks, persona sockets and webhooks), the shared cache the way production has
it, and real transactions.
"""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from apps.accounts import services as accounts_services
from apps.accounts.models import UsageRecord
from apps.conversations import services
from apps.conversations.models import Run
from apps.conversations.services.messages import RUN_EXECUTE_TASK
from apps.conversations.tests.factories import session_start
from apps.core import executor
from apps.llm.types import ChatMessage

pytestmark = pytest.mark.django_db(transaction=True)

PRODUCTION_SINKS = [
    "apps.delivery.sinks.ChannelLayerSink",
    "apps.delivery.sinks.TelegramSink",
    "apps.delivery.sinks.WebhookSink",
    "apps.delivery.persona_sinks.PersonaSocketSink",
    "apps.delivery.persona_sinks.PersonaWebhookSink",
]

# The budgets: statements after the run's claim (one statement of its own).
REPLY_TURN = 9
REPLY_TURN_ONE_BUDGET = 14
MESSAGE_POST = 5


@pytest.fixture(autouse=True)
def _production_shape(settings):
    settings.EVENT_SINKS = PRODUCTION_SINKS
    settings.EMOTION_APPRAISER = "lexicon"
    settings.API_KEY_CACHE_SECONDS = 5


@pytest.fixture
def dispatched(monkeypatch) -> list[str]:
    """Runs handed to the executor after commit, held here so the two halves of a turn are counted apart."""
    held: list[str] = []
    submit = executor.submit

    def hold_runs(task, *args, countdown=0.0):
        if task == RUN_EXECUTE_TASK:
            held.append(args[0])
        else:
            submit(task, *args, countdown=countdown)

    monkeypatch.setattr(executor, "submit", hold_runs)
    return held


def _statements(captured: CaptureQueriesContext) -> list[str]:
    # SQLite opens write transactions as BEGIN IMMEDIATE (the embedded default's transaction_mode).
    return ["BEGIN" if query["sql"] == "BEGIN IMMEDIATE" else query["sql"] for query in captured.captured_queries]


def _show(statements: list[str]) -> str:
    return "\n".join(f"{index + 1:>3}  {sql[:160]}" for index, sql in enumerate(statements))


def _turn(app, session, text: str) -> tuple[list[str], Run]:
    """Send ``text`` and execute its run, counting the worker's statements (the claim included)."""
    sent = services.message_send(app=app, session_id=session.id, text=text)
    with CaptureQueriesContext(connection) as captured:
        outcome = services.run_execute(run_id=sent.run_ref)
    assert outcome.status == "succeeded"
    return _statements(captured), Run.objects.get(pk=sent.run_ref)


def _warm_session(app, dispatched, **session_fields):
    """A session past its first turn (which creates its emotion session) with the caches warm."""
    session = session_start(app, **session_fields)
    _turn(app, session, "Hello there, nice to meet you.")
    return session


def test_the_message_post_takes_five_statements_with_metering_on(owner, dispatched):
    app = owner.api_key.app
    session = session_start(app)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {owner.raw_key}")
    url = f"/v1/sessions/{session.id}/messages"
    assert client.post(url, {"text": "warming the key and catalog caches"}, format="json").status_code == 202
    with CaptureQueriesContext(connection) as captured:
        response = client.post(url, {"text": "how was your day?"}, format="json")
    assert response.status_code == 202, response.content
    statements = _statements(captured)
    # BEGIN, the cursor UPDATE (which also checks the session is the app's), the Run, the two events, COMMIT
    assert len(statements) == MESSAGE_POST, _show(statements)
    assert statements[0] == "BEGIN" and statements[-1] == "COMMIT"
    assert len(dispatched) == 2


def test_a_reply_turn_reads_twice_and_writes_in_one_transaction(owner, dispatched):
    app = owner.api_key.app
    session = _warm_session(app, dispatched)
    statements, run = _turn(app, session, "What did you do today?")
    # the claim, then: the run with its session, version and emotion session; the history; one transaction
    # (fenced run UPDATE, emotion UPDATE, cursor UPDATE, the events, the settled ledger row)
    assert len(statements) == 1 + REPLY_TURN, _show(statements)
    assert statements.count("BEGIN") == 1 and statements[-1] == "COMMIT"
    assert run.model_calls == 1
    record = UsageRecord.objects.get(run_ref=run.id)
    assert (record.status, record.outcome) == ("settled", "succeeded")


def test_a_reply_turn_on_an_app_with_a_budget_reserves_before_the_call_in_fourteen(owner, dispatched):
    app = owner.api_key.app
    accounts_services.budget_policy_set(app=app, limit_credits=Decimal(1000))
    session = _warm_session(app, dispatched)
    statements, run = _turn(app, session, "What did you do today?")
    # the reservation commits before the model call (BEGIN, the counter's hold, the ledger row, COMMIT);
    # the outcome's transaction then settles the row and the counter instead of inserting the row
    assert len(statements) == 1 + REPLY_TURN_ONE_BUDGET, _show(statements)
    assert statements.count("BEGIN") == 2
    record = UsageRecord.objects.get(run_ref=run.id)
    assert record.status == "settled" and record.holds


def test_an_initiate_turn_costs_no_more_than_a_reply(owner, dispatched):
    app = owner.api_key.app
    session = _warm_session(app, dispatched)
    started = services.proactive_test_send(app=app, session_id=session.id)
    with CaptureQueriesContext(connection) as captured:
        assert services.run_execute(run_id=started.run_ref).status == "succeeded"
    statements = _statements(captured)
    # no user message to appraise: the emotion session is not written
    assert len(statements) == REPLY_TURN, _show(statements)


def test_a_turn_of_a_proactive_session_keeps_its_due_time_in_the_same_transaction(owner, dispatched):
    app = owner.api_key.app
    session = _warm_session(app, dispatched, external_user_ref="proactive-user")
    services.session_proactive_update(app=app, session_id=session.id, changes={"proactive_enabled": True})
    statements, run = _turn(app, session, "Talk to you later!")
    # the due time needs the schedule's state: the session, turns in flight, recent sends, newest messages
    assert len(statements) == 1 + REPLY_TURN + 5, _show(statements)
    assert statements.count("BEGIN") == 1


def test_a_model_appraisal_is_a_second_metered_call_in_the_same_counts(owner, dispatched, fake_llm, settings):
    settings.EMOTION_APPRAISER = "auto"
    app = owner.api_key.app
    session = _warm_session(app, dispatched)
    before = len(fake_llm.requests)
    statements, run = _turn(app, session, "I got the job, I am so happy!")
    # two serial model calls, and both ledger rows written by the one INSERT of the outcome
    assert len(fake_llm.requests) - before == 2
    assert (len(fake_llm.appraisal_requests), run.model_calls) == (2, 2)
    assert len(statements) == 1 + REPLY_TURN, _show(statements)
    calls = dict(UsageRecord.objects.filter(run_ref=run.id).values_list("purpose", "status"))
    assert calls == {"emotion_appraisal": "settled", "reply": "settled"}


def test_a_model_appraisal_under_a_budget_reserves_before_each_call(owner, dispatched, fake_llm, settings):
    settings.EMOTION_APPRAISER = "auto"
    app = owner.api_key.app
    accounts_services.budget_policy_set(app=app, limit_credits=Decimal(1000))
    session = _warm_session(app, dispatched)
    statements, run = _turn(app, session, "I got the job, I am so happy!")
    # each call's reservation is its own committed transaction of four; the outcome settles both rows
    # (an UPDATE each) and the counter once
    assert len(statements) == 1 + REPLY_TURN_ONE_BUDGET + 5, _show(statements)
    assert statements.count("BEGIN") == 3
    assert run.model_calls == 2


def test_a_capped_app_adds_one_statement_to_the_post_for_its_message_quota(owner, dispatched):
    app = owner.api_key.app
    app.max_user_messages = 100
    app.save(update_fields=["max_user_messages"])
    session = session_start(app)
    assert services.message_send(app=app, session_id=session.id, text="warming up").accepted
    with CaptureQueriesContext(connection) as captured:
        services.message_send(app=app, session_id=session.id, text="how was your day?")
    statements = _statements(captured)
    # the quota's conditional UPDATE, taken last so the app row is locked only until the commit
    assert len(statements) == MESSAGE_POST + 1, _show(statements)
    assert statements[-2].startswith("UPDATE accounts_app")


def test_the_first_turn_after_a_publish_reads_the_new_version_once_and_records_it(owner, dispatched):
    from apps.characters import services as characters_services

    app = owner.api_key.app
    session = _warm_session(app, dispatched)
    published = characters_services.character_patch(app=app, slug=session.character.slug, changes={"greeting": "v2"})
    statements, run = _turn(app, session, "Did you change?")
    # one read more than a reply turn: the newly published version; the writes record it at no extra cost
    assert len(statements) == 1 + REPLY_TURN + 1, _show(statements)
    assert run.character_version_id == published.version.id
    statements, run = _turn(app, session, "And now?")
    assert len(statements) == 1 + REPLY_TURN, _show(statements)  # the session is on it now: back to the budget
    assert run.character_version_id == published.version.id


def test_a_streamed_reply_costs_the_same_statements_as_a_plain_one(owner, dispatched):
    app = owner.api_key.app
    session = _warm_session(app, dispatched)
    services.delta_listen(session_id=session.id)  # an event stream listens: the worker streams the reply
    statements, run = _turn(app, session, "What did you do today?")
    assert len(statements) == 1 + REPLY_TURN, _show(statements)
    assert run.model_calls == 1


def test_a_turn_in_the_callers_thread_is_a_send_and_a_turn(owner, dispatched):
    app = owner.api_key.app
    session = _warm_session(app, dispatched)
    with CaptureQueriesContext(connection) as captured:
        turn = services.message_turn(app=app, session_id=session.id, text="What did you do today?")
        deltas = list(turn)
    statements = _statements(captured)
    assert deltas and turn.reply is not None
    # the message POST's transaction (not dispatched), the claim, the worker's turn
    assert len(statements) == MESSAGE_POST + 1 + REPLY_TURN, _show(statements)
    assert turn.send.run_ref not in dispatched  # run here, not handed to a worker
    with CaptureQueriesContext(connection) as captured:
        history = [ChatMessage("user", "hi"), ChatMessage("user", "What now?")]
        services.message_turn(app=app, session_id=session.id, text="What now?", history=history).run()
    # the caller's history replaces the log's read
    assert len(_statements(captured)) == MESSAGE_POST + REPLY_TURN, _show(_statements(captured))


def test_a_turn_whose_user_has_facts_reads_them_in_one_more_statement(owner, dispatched):
    """The memory's summary and blocks come with the run's read; its current facts are one more query, made only
    when the memory has some (``Memory.fact_count``)."""
    from apps.conversations.models import Memory, MemoryFact

    app = owner.api_key.app
    session = _warm_session(app, dispatched)
    statements, _ = _turn(app, session, "Nothing remembered yet.")
    assert len(statements) == 1 + REPLY_TURN, _show(statements)
    memory = Memory.objects.get(pk=session.memory_id)
    MemoryFact.objects.create(memory=memory, text="The user's sister is called Mara.", valid_from=memory.created_at)
    Memory.objects.filter(pk=memory.pk).update(fact_count=1, summary="They talked about Mara.")
    statements, run = _turn(app, session, "Do you remember my sister?")
    assert len(statements) == 1 + REPLY_TURN + 1, _show(statements)
    assert [fact["text"] for fact in run.context["facts"]] == ["The user's sister is called Mara."]


def test_lorebooks_cost_a_turn_no_statement(owner, dispatched):
    """The books come with the character version the run reads; the sticky and cooldown counters are written by
    the outcome's session UPDATE that takes the cursors."""
    from apps.characters import services as characters_services

    app = owner.api_key.app
    session = _warm_session(app, dispatched)
    book = {"entries": [{"keys": ["lighthouse"], "content": "The lighthouse is dark.", "extensions": {"sticky": 3}}]}
    characters_services.lorebook_own_put(app=app, slug=session.character.slug, data=book)
    _turn(app, session, "A first turn on the new version.")  # its first turn reads the new version once
    statements, run = _turn(app, session, "Is the lighthouse lit tonight?")
    assert len(statements) == 1 + REPLY_TURN, _show(statements)
    assert [entry["reason"] for entry in run.context["lore"]] == ["key"]
