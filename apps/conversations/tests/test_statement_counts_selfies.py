"""The cost of selfies in statements, pinned like a plain turn's (``test_statement_counts.py``): a character that
may send selfies adds two reads before the reply call; a turn that sends one adds the cap's slot and the
pending image to the one outcome transaction; the image job is its own work, after the reply."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.assets.models import GeneratedImage
from apps.assets.tests.factories import identity_asset_create, selfie_character_fields
from apps.conversations import services
from apps.conversations.models import Run
from apps.conversations.services.messages import RUN_EXECUTE_TASK
from apps.conversations.services.selfies import SELFIE_DRAW_TASK
from apps.conversations.tests.factories import session_start
from apps.conversations.tests.test_statement_counts import PRODUCTION_SINKS, REPLY_TURN, _show, _statements
from apps.core import executor

pytestmark = pytest.mark.django_db(transaction=True)

# Statements after the run's claim.
SELFIE_POSSIBLE_TURN = REPLY_TURN + 2  # the identity asset and the day's count, read before the call
SELFIE_TURN = SELFIE_POSSIBLE_TURN + 2  # the cap's slot (one conditional INSERT) and the pending image
IMAGE_JOB = 8


@pytest.fixture(autouse=True)
def _production_shape(settings):
    settings.EVENT_SINKS = PRODUCTION_SINKS
    settings.EMOTION_APPRAISER = "lexicon"
    settings.API_KEY_CACHE_SECONDS = 5


@pytest.fixture
def held(monkeypatch) -> list[tuple[str, str]]:
    """Runs and image jobs handed to the executor after commit, held here to be counted apart."""
    kept: list[tuple[str, str]] = []
    submit = executor.submit

    def hold(task, *args, countdown=0.0):
        if task in (RUN_EXECUTE_TASK, SELFIE_DRAW_TASK):
            kept.append((task, args[0]))
        else:
            submit(task, *args, countdown=countdown)

    monkeypatch.setattr(executor, "submit", hold)
    return kept


def _turn(app, session, text):
    sent = services.message_send(app=app, session_id=session.id, text=text)
    with CaptureQueriesContext(connection) as captured:
        assert services.run_execute(run_id=sent.run_ref).status == "succeeded"
    return _statements(captured), Run.objects.get(pk=sent.run_ref)


def _selfie_session(app):
    session = session_start(app, slug="mira", **selfie_character_fields(daily_image_cap=10))
    identity_asset_create(session.character)
    _turn(app, session, "Hello there, nice to meet you.")  # the first turn creates the emotion session
    return session


def test_a_turn_that_may_send_a_selfie_but_does_not_reads_twice_more(owner, held):
    app = owner.api_key.app
    session = _selfie_session(app)
    statements, run = _turn(app, session, "What did you do today")
    assert len(statements) == 1 + SELFIE_POSSIBLE_TURN, _show(statements)
    assert statements.count("BEGIN") == 1 and run.model_calls == 1
    assert not GeneratedImage.objects.exists()


def test_a_selfie_turn_adds_the_slot_and_the_image_to_the_one_write(owner, held):
    app = owner.api_key.app
    session = _selfie_session(app)
    statements, run = _turn(app, session, "send me a selfie?")
    assert len(statements) == 1 + SELFIE_TURN, _show(statements)
    assert statements.count("BEGIN") == 1 and run.model_calls == 1
    image = GeneratedImage.objects.get()
    assert held[-1] == (SELFIE_DRAW_TASK, image.id)

    # the image job: the image, its identity asset, then one transaction: the fenced image UPDATE, the settled
    # ledger row, the cursor, the event (an app without budgets reserves nothing before drawing)
    with CaptureQueriesContext(connection) as captured:
        assert services.image_job_execute(image_id=image.id).status == "ready"
    job = _statements(captured)
    assert len(job) == IMAGE_JOB, _show(job)
    assert job.count("BEGIN") == 1
