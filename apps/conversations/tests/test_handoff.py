"""Handing runs to the executor: by the task's name, and never lost when the broker is unreachable."""

from apps.conversations import services, tasks
from apps.conversations.models import Event, Run
from apps.conversations.services.messages import RUN_EXECUTE_TASK
from apps.conversations.tests.factories import session_start
from apps.core import executor


def test_runs_are_submitted_by_the_name_of_their_task():
    assert executor._task_named(RUN_EXECUTE_TASK) is tasks.run_execute_task._get_current_object()


def test_send_is_accepted_and_later_answered_when_the_broker_is_down(
    owner, unreachable_broker, settings, django_capture_on_commit_callbacks
):
    # given a session, and a broker that refuses connections
    app = owner.api_key.app
    session = session_start(app)
    # when a message is sent, the hand-off after commit fails but does not raise
    with django_capture_on_commit_callbacks(execute=True):
        result = services.message_send(app=app, session_id=session.id, text="are you there?")
    # then the message and its queued run are durable, with no reply yet
    run = Run.objects.get(pk=result.run_ref)
    assert run.status == Run.Status.QUEUED and run.attempts == 0
    assert not Event.objects.filter(session=session, role="character").exists()
    # and once the broker is back, the recovery sweep answers it exactly once
    settings.RUN_EXECUTOR = "inline"
    Run.objects.filter(pk=run.pk).update(available_at=run.available_at.replace(year=2000))
    assert tasks.runs_recover_task() == 1
    assert tasks.runs_recover_task() == 0
    assert Event.objects.filter(session=session, event_type="message.created", role="character").count() == 1
