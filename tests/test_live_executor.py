"""The celery executor against the real Redis broker: what the test process submits, a worker process runs.

Production mode only (a Celery worker needs the broker): one submit, a delayed submit, and a batch through one
producer, each a real turn the worker answers. The embedded mode's executor is covered in apps/core/tests.
"""

import pytest

from apps.accounts import services as accounts_services
from apps.conversations import services
from apps.conversations.models import Run
from apps.conversations.services.messages import RUN_EXECUTE_TASK
from apps.conversations.tests.factories import session_start
from apps.core import executor
from tests.live import PRODUCTION, live_stack_factory  # noqa: F401  (fixture)

pytestmark = [
    pytest.mark.live,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not PRODUCTION, reason="the celery executor needs a broker (REDIS_URL)"),
]


def test_submits_published_to_the_broker_are_run_by_a_worker(live_stack_factory, settings, monkeypatch):  # noqa: F811
    stack = live_stack_factory(web=False, workers=1)
    settings.RUN_EXECUTOR = "celery"
    app = accounts_services.app_create(name="executor live")
    sessions = [session_start(app, slug=f"c{index}", external_user_ref=f"u{index}") for index in range(5)]

    # given five accepted messages whose runs were not handed off yet
    held: list[tuple] = []
    monkeypatch.setattr(executor, "submit", lambda task, *args, countdown=0.0: held.append(args))
    run_ids = [services.message_send(app=app, session_id=s.id, text="hello?").run_ref for s in sessions]
    monkeypatch.undo()
    assert [args[0] for args in held] == run_ids
    assert set(Run.objects.filter(pk__in=run_ids).values_list("status", flat=True)) == {"queued"}

    # when one is submitted now, one a second from now, and three as one batch
    executor.submit(RUN_EXECUTE_TASK, run_ids[0])
    executor.submit(RUN_EXECUTE_TASK, run_ids[1], countdown=1.0)
    executor.submit_many(RUN_EXECUTE_TASK, held[2:])

    # then the worker answers every one of them
    def answered() -> bool:
        return Run.objects.filter(pk__in=run_ids, status="succeeded").count() == len(run_ids)

    stack.wait_for(answered, timeout=30, what="the worker to answer the five runs")
    assert list(Run.objects.filter(pk__in=run_ids).values_list("attempts", flat=True)) == [1] * len(run_ids)
