"""Selfies in turns: the decision rides in the reply call, the image is drawn after the reply commits and lands
as image.ready (or image.failed), metered and budgeted, within the day's cap."""

import base64
import threading
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.core.files.storage import default_storage

from apps.accounts import services as accounts_services
from apps.accounts.models import UsageRecord
from apps.assets import backends
from apps.assets.errors import ImageBackendError
from apps.assets.models import GeneratedImage
from apps.assets.tests.factories import identity_asset_create, selfie_character_fields
from apps.conversations import services, tasks
from apps.conversations.models import Event, Run, SelfieDayCount
from apps.conversations.services import selfies
from apps.conversations.tests.factories import session_start
from apps.core import clock, executor
from apps.llm.providers.scripted import ScriptedProvider
from apps.llm.types import ChatMessage, ChatResult


@pytest.fixture(autouse=True)
def _lexicon(settings):
    settings.EMOTION_APPRAISER = "lexicon"


def selfie_session(app, *, slug="mira", external_user_ref="user_1", identity=True, **thresholds):
    session = session_start(
        app, slug=slug, external_user_ref=external_user_ref, **selfie_character_fields(**thresholds)
    )
    if identity:
        identity_asset_create(session.character)
    return session


def turn(app, session, text, capture):
    """Send ``text`` and run its turn; the image job queued after commit is held, not run."""
    with capture(execute=False) as callbacks:
        sent = services.message_send(app=app, session_id=session.id, text=text)
    outcome = services.run_execute(run_id=sent.run_ref)
    assert outcome.status == "succeeded"
    del callbacks
    return Run.objects.get(pk=sent.run_ref)


def types(session) -> list[str]:
    return list(Event.objects.filter(session=session).order_by("cursor").values_list("event_type", flat=True))


def reply_of(run) -> Event:
    return Event.objects.get(run=run, event_type="message.created", role="character")


def test_a_turn_asked_for_a_selfie_replies_first_and_the_image_lands_after(owner, django_capture_on_commit_callbacks):
    app = owner.api_key.app
    session = selfie_session(app)
    run = turn(app, session, "send me a selfie from where you are?", django_capture_on_commit_callbacks)

    # the text reply is committed, naming the pending selfie; one model call, no image yet
    reply = reply_of(run)
    image = GeneratedImage.objects.get()
    assert reply.payload["selfie"] == {"image_id": image.id, "status": "pending", "caption": "Here you go!"}
    assert reply.payload["text"] and "{" not in reply.payload["text"]
    assert run.model_calls == 1
    assert (image.status, image.kind, image.session_id, image.run_ref) == ("pending", "selfie", session.id, run.id)
    assert "short silver bob" in image.prompt and "Lisbon" in image.prompt  # anchors + scene
    assert "image.ready" not in types(session)

    # when the image job runs, the image is drawn, stored, and announced once
    assert services.image_job_execute(image_id=image.id).status == "ready"
    assert services.image_job_execute(image_id=image.id).status == "skipped"
    image.refresh_from_db()
    ready = Event.objects.get(session=session, event_type="image.ready")
    assert ready.payload == {
        "image_id": image.id,
        "kind": "selfie",
        "run_ref": run.id,
        "width": 512,
        "height": 512,
        "prompt_summary": image.prompt_summary,
        "caption": "Here you go!",
    }
    assert ready.run_id == run.id and ready.cursor > reply.cursor
    with default_storage.open(image.file.name, "rb") as handle:
        assert handle.read()[:8] == b"\x89PNG\r\n\x1a\n"
    assert image.thumbnail.name and image.report["identity_asset_used"] == image.assets_used[0]
    # the stored payload holds the id only; reading it adds fresh signed links
    public = ready.as_public_dict()["payload"]
    assert "url" not in ready.payload and public["url"].startswith("/v1/files/")
    assert public["thumbnail_url"] != public["url"] and public["url_expires_at"].endswith("Z")


def test_the_image_is_metered_at_its_rate_and_a_failed_one_at_zero(owner, django_capture_on_commit_callbacks, settings):
    settings.IMAGE_CREDITS_PER_IMAGE = 7.5
    app = owner.api_key.app
    session = selfie_session(app)
    run = turn(app, session, "a photo please!", django_capture_on_commit_callbacks)
    image = GeneratedImage.objects.get()
    services.image_job_execute(image_id=image.id)
    record = UsageRecord.objects.get(purpose="image")
    assert (record.resource_type, record.run_ref, record.credits, record.outcome) == (
        "image",
        run.id,
        Decimal("7.5"),
        "succeeded",
    )
    assert GeneratedImage.objects.get().credits == Decimal("7.5")


def test_a_terminal_backend_error_is_image_failed_and_settles_at_zero(
    owner, django_capture_on_commit_callbacks, monkeypatch
):
    def refuse(spec, request):
        raise ImageBackendError("The backend refused the prompt.")

    monkeypatch.setitem(backends.BACKENDS, "builtin", refuse)
    app = owner.api_key.app
    session = selfie_session(app)
    turn(app, session, "selfie?", django_capture_on_commit_callbacks)
    image = GeneratedImage.objects.get()
    assert services.image_job_execute(image_id=image.id).status == "failed"
    failed = Event.objects.get(session=session, event_type="image.failed")
    assert failed.payload["code"] == "image_backend_failed" and failed.payload["image_id"] == image.id
    assert "url" not in failed.as_public_dict()["payload"]
    record = UsageRecord.objects.get(purpose="image")
    assert (record.credits, record.outcome) == (0, "failed")


def test_a_transient_backend_error_is_retried_a_bounded_number_of_times(
    owner, django_capture_on_commit_callbacks, monkeypatch, settings
):
    settings.IMAGE_MAX_ATTEMPTS = 3
    calls = []

    def flaky(spec, request):
        calls.append(request.seed)
        raise ImageBackendError("The backend timed out.", transient=True)

    monkeypatch.setitem(backends.BACKENDS, "builtin", flaky)
    app = owner.api_key.app
    session = selfie_session(app)
    turn(app, session, "pic?", django_capture_on_commit_callbacks)
    image = GeneratedImage.objects.get()
    first = services.image_job_execute(image_id=image.id, attempt=1)
    second = services.image_job_execute(image_id=image.id, attempt=2)
    assert (first.status, second.status) == ("queued", "queued") and second.retry_in == 2 * first.retry_in
    assert services.image_job_execute(image_id=image.id, attempt=3).status == "failed"
    assert len(calls) == 3 and len(set(calls)) == 1  # the same seed each time: the same picture is asked for
    assert types(session).count("image.failed") == 1
    assert UsageRecord.objects.filter(purpose="image").count() == 1  # one reservation across the retries


def test_a_character_without_image_thresholds_takes_the_plain_path(owner, django_capture_on_commit_callbacks):
    app = owner.api_key.app
    session = session_start(app)
    identity_asset_create(session.character)
    run = turn(app, session, "send me a selfie?", django_capture_on_commit_callbacks)
    assert "selfie" not in reply_of(run).payload
    assert not GeneratedImage.objects.exists()


def test_no_identity_asset_means_no_selfie(owner, django_capture_on_commit_callbacks):
    app = owner.api_key.app
    session = selfie_session(app, identity=False)
    run = turn(app, session, "send me a selfie?", django_capture_on_commit_callbacks)
    assert "selfie" not in reply_of(run).payload and not GeneratedImage.objects.exists()


def test_the_daily_cap_stops_selfies_for_the_rest_of_the_local_day(owner, django_capture_on_commit_callbacks):
    app = owner.api_key.app
    session = selfie_session(app, daily_image_cap=1)
    turn(app, session, "selfie please?", django_capture_on_commit_callbacks)
    second = turn(app, session, "another selfie please?", django_capture_on_commit_callbacks)
    assert GeneratedImage.objects.count() == 1
    assert "selfie" not in reply_of(second).payload
    count = SelfieDayCount.objects.get()
    assert (count.count, count.day) == (1, selfies.local_day(session))


def test_the_cap_counts_days_in_the_end_users_zone(owner, monkeypatch):
    app = owner.api_key.app
    session = selfie_session(app)
    late_evening_utc = datetime(2026, 3, 1, 23, 30, tzinfo=UTC)
    monkeypatch.setattr(selfies.clock, "now", lambda: late_evening_utc)
    session.timezone = "Pacific/Kiritimati"  # UTC+14: already the next day
    assert selfies.local_day(session) == date(2026, 3, 2)
    session.timezone = "America/New_York"
    assert selfies.local_day(session) == date(2026, 3, 1)


def test_a_hard_budget_without_room_skips_the_selfie_with_a_reason_and_charges_nothing(
    owner, django_capture_on_commit_callbacks, api
):
    app = owner.api_key.app
    accounts_services.budget_policy_set(app=app, limit_credits=Decimal(1), resource_type="image")
    session = selfie_session(app)
    run = turn(app, session, "send me a selfie?", django_capture_on_commit_callbacks)

    assert not GeneratedImage.objects.exists()
    assert not UsageRecord.objects.filter(purpose="image").exists()
    skipped = Event.objects.get(session=session, event_type="image.skipped")
    assert skipped.payload["reason"] == "budget_exceeded" and skipped.run_id == run.id
    trace = api.get(f"/v1/sessions/{session.id}/trace").json()["data"]["events"]
    assert any(
        item["event"]["event_type"] == "image.skipped" and item["event"]["payload"]["reason"] == "budget_exceeded"
        for item in trace
    )


def test_a_budget_filled_after_the_turn_fails_the_image_without_a_charge(owner, django_capture_on_commit_callbacks):
    app = owner.api_key.app
    session = selfie_session(app)
    turn(app, session, "selfie?", django_capture_on_commit_callbacks)
    accounts_services.budget_policy_set(app=app, limit_credits=Decimal(1), resource_type="image")
    image = GeneratedImage.objects.get()
    assert services.image_job_execute(image_id=image.id).status == "failed"
    failed = Event.objects.get(session=session, event_type="image.failed")
    assert failed.payload["code"] == "budget_exceeded"
    assert not UsageRecord.objects.filter(purpose="image").exists()
    assert not GeneratedImage.objects.get().file


def test_the_reply_call_answers_json_through_a_real_provider(owner, django_capture_on_commit_callbacks, fake_llm):
    app = owner.api_key.app
    session = selfie_session(app)
    fake_llm.queue_json({"reply": "On my way to the tram!", "selfie": {"scene": "at the tram stop", "caption": "tram"}})
    run = turn(app, session, "what are you doing?", django_capture_on_commit_callbacks)
    assert reply_of(run).payload["text"] == "On my way to the tram!"
    asked = fake_llm.chat_requests[-1].body
    assert asked["response_format"] == {"type": "json_object"} and "Selfies (proactivity 0.8" in str(asked)
    assert GeneratedImage.objects.get().prompt_summary == "at the tram stop"
    assert run.model_calls == 1 and len(fake_llm.chat_requests) == 1


def test_prose_where_json_was_asked_is_the_reply_without_a_selfie(owner, django_capture_on_commit_callbacks, fake_llm):
    app = owner.api_key.app
    session = selfie_session(app)
    fake_llm.set_mode("not_json")
    run = turn(app, session, "what are you doing?", django_capture_on_commit_callbacks)
    assert run.status == "succeeded" and reply_of(run).payload["text"].startswith("Luna here")
    assert not GeneratedImage.objects.exists()
    assert UsageRecord.objects.get(run_ref=run.id, purpose="reply").outcome == "succeeded"


def test_a_proactive_message_can_carry_a_selfie(owner, django_capture_on_commit_callbacks, fake_llm):
    app = owner.api_key.app
    session = selfie_session(app)
    fake_llm.queue_json({"reply": "Morning! Look at this light.", "selfie": {"scene": "sunrise on the balcony"}})
    with django_capture_on_commit_callbacks(execute=False):
        started = services.proactive_test_send(app=app, session_id=session.id)
    assert services.run_execute(run_id=started.run_ref).status == "succeeded"
    image = GeneratedImage.objects.get()
    assert image.run_ref == started.run_ref
    services.image_job_execute(image_id=image.id)
    assert types(session)[-1] == "image.ready"


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ('{"reply": "hi", "selfie": null}', ("hi", None)),
        ('```json\n{"reply": "hi", "selfie": {"scene": "cafe", "caption": "c"}}\n```', ("hi", ("cafe", "c"))),
        ('{"reply": "hi", "selfie": {"scene": "  "}}', ("hi", None)),
        ('{"text": "hello"}', ("hello", None)),
        ("just prose", ("just prose", None)),
        ('{"selfie": {"scene": "x"}}', ('{"selfie": {"scene": "x"}}', None)),
    ],
)
def test_reading_the_reply_call_is_lenient(answer, expected):
    text, wish = selfies.selfie_reply_read(ChatResult(text=answer, model="m"))
    assert (text, (wish.scene, wish.caption) if wish else None) == expected


def test_the_scripted_heuristic_is_deterministic_and_gated_by_the_thresholds():
    provider = ScriptedProvider()

    def wish(proactivity, comfort, *users):
        system = f"You are Mira.\nWhere you live: Lisbon\nSelfies (proactivity {proactivity}, comfort {comfort}): ..."
        messages = [ChatMessage("system", system)] + [ChatMessage("user", text) for text in users]
        return provider.selfie_wish(messages)

    assert wish(0.1, 0.1, "can I see a pic of you?")["caption"] == "Here you go!"
    assert wish(0.1, 0.1, "hello") is None  # unasked, not before the third message
    chatty = [f"message {index}" for index in range(3)]
    rolls = [wish(1, 1, *chatty, f"and {index}") for index in range(200)]
    assert rolls == [wish(1, 1, *chatty, f"and {index}") for index in range(200)]
    assert 20 < sum(roll is not None for roll in rolls) < 80  # about one in four at 1 x 1
    assert not any(wish(0, 1, *chatty, f"and {index}") for index in range(200))


@pytest.mark.django_db(transaction=True)
def test_the_text_reply_never_waits_for_the_image(owner, monkeypatch):
    """The backend is held mid-drawing: the reply and its announcement are already committed and readable."""
    app = owner.api_key.app
    session = selfie_session(app)
    entered, release = threading.Event(), threading.Event()
    builtin = backends.BACKENDS["builtin"]

    def held(spec, request):
        entered.set()
        assert release.wait(10)
        return builtin(spec, request)

    monkeypatch.setitem(backends.BACKENDS, "builtin", held)
    drawer: list[threading.Thread] = []

    def submit(task, *args, countdown=0.0):
        if task == selfies.SELFIE_DRAW_TASK:
            thread = threading.Thread(target=services.image_job_execute, kwargs={"image_id": args[0]})
            drawer.append(thread)
            thread.start()
        elif task != "apps.conversations.tasks.run_execute_task":
            raise AssertionError(task)

    monkeypatch.setattr(executor, "submit", submit)
    sent = services.message_send(app=app, session_id=session.id, text="send me a selfie?")
    assert services.run_execute(run_id=sent.run_ref).status == "succeeded"
    try:
        assert entered.wait(10), "the image job never started"
        # the backend is still drawing: the reply is committed and readable, the image is not there yet
        assert "message.created" in types(session) and "image.ready" not in types(session)
        assert GeneratedImage.objects.get().status == "pending"
    finally:
        release.set()
        for thread in drawer:
            thread.join(10)
    assert types(session)[-1] == "image.ready"


def test_a_selfie_end_to_end_with_the_fake_automatic1111_server(
    owner, api, anon, django_capture_on_commit_callbacks, fake_a1111_model, fake_a1111
):
    """The default image model is an AUTOMATIC1111 row: the turn's selfie is drawn by img2img from the
    identity asset, stored, announced, metered at the row's rate, and served by its signed link."""
    app = owner.api_key.app
    session = selfie_session(app)
    with django_capture_on_commit_callbacks(execute=True):  # the turn, then the image job: inline
        services.message_send(app=app, session_id=session.id, text="can you send me a selfie from the park?")

    image = GeneratedImage.objects.get()
    assert (image.status, image.model, image.backend) == ("ready", "fake-sd", "automatic1111")
    (request,) = fake_a1111.img2img_requests
    identity = session.character.visual_assets.get()
    with default_storage.open(identity.file.name, "rb") as handle:
        assert base64.b64decode(request["init_images"][0]) == handle.read()  # the face is the reference
    assert "short silver bob" in request["prompt"] and request["seed"] == image.seed
    record = UsageRecord.objects.get(purpose="image")
    assert (record.credits, record.model, record.provider) == (Decimal(2), "fake-sd", "automatic1111")

    events = api.get(f"/v1/sessions/{session.id}/events?since=0").json()["data"]["events"]
    order = [event["event_type"] for event in events]
    assert order.index("message.created", order.index("run.status")) < order.index("image.ready")
    ready = events[order.index("image.ready")]["payload"]
    served = anon.get(ready["url"])
    with default_storage.open(image.file.name, "rb") as handle:
        assert served.status_code == 200 and b"".join(served.streaming_content) == handle.read()


def test_an_image_whose_job_was_lost_is_drawn_by_the_recovery_sweep(owner, django_capture_on_commit_callbacks):
    app = owner.api_key.app
    session = selfie_session(app)
    turn(app, session, "send me a selfie from where you are?", django_capture_on_commit_callbacks)
    image = GeneratedImage.objects.get()  # pending: its hand-off never ran (a worker died with it)
    assert services.images_recover() == []  # too recent to be lost

    GeneratedImage.objects.filter(pk=image.pk).update(updated_at=clock.now() - timedelta(minutes=10))
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.images_recover_task() == 1
    image.refresh_from_db()
    assert image.status == "ready"
    assert list(
        Event.objects.filter(session=session, event_type="image.ready").values_list("payload__image_id", flat=True)
    ) == [image.id]
    assert services.images_recover(older_than_seconds=0.001) == []  # nothing pending is left
