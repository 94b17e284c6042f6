"""Retrying a failed turn by an operator's hand (the admin's "retry" action).

A failed run is never reopened: its attempt number is the fencing token every worker that ever held it
writes with, so resetting it could let a worker from an earlier attempt land a reply. A retry is a new run
for the same trigger instead (same kind, same ``trigger_cursor``, so the same history and the same user
message), announced with ``run.status`` generating like any turn and executed by the same task. The old run
stays failed, with its ``run.failed`` event, for the record.

No turn is answered twice: only a run that failed (so wrote no reply) with a transient code qualifies, and
only while it is its session's latest turn. Checked under the session's row lock, that also refuses a second
retry of the same run, since the first retry is then the latest turn.
"""

from django.db import transaction

from apps.conversations.errors import RunAbandoned
from apps.conversations.models import Run, Session
from apps.conversations.services.events import NewEvent, events_append
from apps.conversations.services.messages import RUN_EXECUTE_TASK
from apps.core import clock, executor
from apps.llm.errors import LLMTransientError

# The failures worth another try: the model provider did not answer in time, or every worker died mid-turn.
# A terminal model error, a missing model or an exhausted budget would fail the same way again.
RETRIABLE_ERROR_CODES = frozenset({LLMTransientError.code, RunAbandoned.code})


def runs_retry(*, run_ids: list[str]) -> dict[str, str]:
    """Queue a new run for each retriable failed run among ``run_ids``; returns {failed run id: new run id}.

    Each run is retried in its own transaction, so one that does not qualify leaves the others be. Runs that do
    not qualify (not failed, failed with a terminal code, or no longer their session's latest turn) are left out
    of the answer and nothing is written for them.
    """
    retried = {}
    for run_id in run_ids:
        new_run_id = _run_retry(run_id)
        if new_run_id is not None:
            retried[run_id] = new_run_id
    return retried


@transaction.atomic
def _run_retry(run_id: str) -> str | None:
    # The run first, then the session: the order a failing worker takes them in (``runs._finish_failure``).
    run = (
        Run.objects.select_for_update()
        .filter(pk=run_id, status=Run.Status.FAILED, error_code__in=RETRIABLE_ERROR_CODES)
        .first()
    )
    if run is None:
        return None
    list(Session.objects.select_for_update().filter(pk=run.session_id).values_list("pk", flat=True))
    later = Run.objects.filter(session_id=run.session_id, trigger_cursor__gte=run.trigger_cursor).exclude(pk=run.pk)
    if later.exists():
        return None
    retry = Run.objects.create(
        session_id=run.session_id, kind=run.kind, trigger_cursor=run.trigger_cursor, available_at=clock.now()
    )
    events_append(
        session_id=run.session_id,
        events=[
            NewEvent("run.status", {"status": "generating", "run_ref": retry.id, "retry_of": run.id}, run_id=retry.id)
        ],
    )
    retry_id = retry.id
    transaction.on_commit(lambda: executor.submit(RUN_EXECUTE_TASK, retry_id))
    return retry_id
