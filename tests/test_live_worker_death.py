"""A worker killed (SIGKILL) in the middle of a turn: the run is picked up again and answered exactly once.

Production mode kills a Celery worker and starts another one with beat's recovery sweep; the embedded
mode's worker is a thread of the ``serve`` process, so there the whole process is killed and restarted
(its scheduler runs the same sweep).
"""

import time

import pytest

from apps.accounts import services as accounts_services
from apps.conversations.models import Event, Run
from apps.conversations.tests.factories import session_start
from tests.fakes.openai_server import DEFAULT_MODEL, FakeOpenAIServer
from tests.live import PRODUCTION, live_stack_factory  # noqa: F401  (fixture)

pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True)]

RECOVER_INTERVAL = 0.5


def test_a_run_whose_worker_is_killed_is_answered_once_by_another_worker(live_stack_factory):  # noqa: F811
    with FakeOpenAIServer(mode="slow", delay_seconds=60.0) as llm:
        # given a worker with a short lease, stuck in a slow model call for a user's message
        env = {
            "LLM_BASE_URL": llm.base_url,
            "LLM_API_KEY": "sk-fake",
            "LLM_CHAT_MODEL": DEFAULT_MODEL,
            "LLM_TIMEOUT_SECONDS": "120",
            "RUN_LEASE_SECONDS": "3",
            "RUNS_RECOVER_INTERVAL_SECONDS": str(RECOVER_INTERVAL),
        }
        stack = live_stack_factory(env=env, workers=1)
        first_worker = stack.processes[0]  # the Celery worker, or the serve process in embedded mode
        app = accounts_services.app_create(name="worker death")
        key = accounts_services.api_key_create(app=app, name="live").raw_key
        session = session_start(app)
        sent = stack.client(key).post(f"/v1/sessions/{session.id}/messages", {"text": "are you still there?"})
        assert sent.status == 202, sent.body
        run_ref = sent.data["run_ref"]

        def running() -> bool:
            run = Run.objects.get(pk=run_ref)
            return bool(llm.chat_requests) and (run.status, run.attempts) == ("running", 1)

        stack.wait_for(running, what="the first worker to claim the run and call the model")

        # when that worker is killed outright and a new one starts
        first_worker.kill()
        first_worker.popen.wait(timeout=10)
        llm.set_mode("instant")
        if PRODUCTION:
            stack.start_worker("worker2", beat=True)  # with beat's recovery sweep
        else:
            stack.await_http(stack.spawn_web())

        # then, once the lease has expired, the sweep hands the run to the new worker, which answers
        def replies() -> int:
            return Event.objects.filter(session=session, event_type="message.created", role="character").count()

        stack.wait_for(replies, timeout=30, what="the new worker's reply")
        answered = Run.objects.get(pk=run_ref)
        time.sleep(4 * RECOVER_INTERVAL)  # a few more sweeps: the finished run must not be picked up again

    assert replies() == 1
    run = Run.objects.get(pk=run_ref)
    # the answering attempt's two calls: the emotion appraisal (a real model serves it here), then the reply
    assert (run.status, run.attempts, run.model_calls) == ("succeeded", 2, 2)
    assert run.updated_at == answered.updated_at
    assert len(llm.chat_requests) == 2
    assert [e.event_type for e in Event.objects.filter(session=session).order_by("cursor")] == [
        "message.created",
        "run.status",
        "message.created",
        "emotion.updated",
    ]
