"""The turn pipeline through its services, with the inline executor."""

from apps.conversations import services
from apps.conversations.models import Event, Run
from apps.conversations.tests.factories import session_start


def test_message_send_appends_user_event_run_status_and_reply(owner, django_capture_on_commit_callbacks, announced):
    # given a session on a character with a greeting
    app = owner.api_key.app
    session = session_start(app, greeting="Hi, I'm Luna.")
    # when the user sends a message (on_commit callbacks run the turn inline)
    with django_capture_on_commit_callbacks(execute=True):
        result = services.message_send(app=app, session_id=session.id, text="hey, what are you up to?")
    # then the log holds the greeting, the user message, the generating status, the reply and the emotion, in order
    events = list(Event.objects.filter(session=session).order_by("cursor"))
    assert [(e.cursor, e.event_type, e.role) for e in events] == [
        (1, "character.initiated", "character"),
        (2, "message.created", "user"),
        (3, "run.status", ""),
        (4, "message.created", "character"),
        (5, "emotion.updated", "character"),
    ]
    assert result.cursor == 2 and result.sent_turn_index == 1
    assert events[2].payload == {"status": "generating", "run_ref": result.run_ref}
    reply = events[3].payload
    assert reply["text"] and reply["bubbles"] and " ".join(reply["bubbles"]) == reply["text"]
    assert Run.objects.get(pk=result.run_ref).status == "succeeded"
    assert [e["cursor"] for e in announced] == [2, 3, 4, 5]


def test_run_execute_twice_answers_once(owner, django_capture_on_commit_callbacks):
    app = owner.api_key.app
    session = session_start(app)
    result = services.message_send(app=app, session_id=session.id, text="hello")
    first = services.run_execute(run_id=result.run_ref)
    second = services.run_execute(run_id=result.run_ref)
    assert (first.status, second.status) == ("succeeded", "skipped")
    assert Event.objects.filter(session=session, event_type="message.created", role="character").count() == 1
