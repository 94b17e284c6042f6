"""/healthz, /readyz and /metrics in the test process: liveness touches nothing, readiness names each check,
the metrics route is gated by its token and reports a real turn (outcome, model calls, tokens, route latency)."""

import socket
import time
import uuid
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.test import Client
from prometheus_client.parser import text_string_to_metric_families

from apps.conversations import services as conversation_services
from apps.conversations.tests.factories import session_start
from apps.core import clock, executor, readiness
from apps.delivery.webhooks.models import WebhookDelivery, WebhookEndpoint

TOKEN = "metrics-secret"


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # closed again when the block ends: nothing listens there


def _samples(client: Client) -> dict[tuple, float]:
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200, response.content
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.content.decode())
        for sample in family.samples
    }


def _value(samples: dict[tuple, float], name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_healthz_answers_ok_without_touching_anything(db, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = Client().get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response["X-Request-ID"]


def test_readyz_passes_on_this_configuration(db, settings):
    response = Client().get("/readyz")
    body = response.json()
    assert response.status_code == 200, body
    assert body["status"] == "ok"
    expected = {"database", "worker"} | ({"redis"} if settings.REDIS_URL else set())
    assert set(body["checks"]) == expected
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["worker"] == {"ok": True, "ms": body["checks"]["worker"]["ms"], "mode": "in-process"}


def test_readyz_names_an_unreachable_broker_within_its_timeout(db, settings):
    settings.RUN_EXECUTOR = "celery"
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{_closed_port()}/0"
    settings.READINESS_TIMEOUT_SECONDS = 1.0
    started = time.monotonic()
    response = Client().get("/readyz")
    assert time.monotonic() - started < 10  # a deadline for a hang, not a timing
    body = response.json()
    assert response.status_code == 503
    assert body["status"] == "fail"
    assert body["checks"]["broker"]["ok"] is False
    assert "error" in body["checks"]["broker"]
    assert body["checks"]["database"]["ok"] is True


@pytest.fixture
def heartbeats(settings):
    if not settings.REDIS_URL:
        pytest.skip("worker heartbeats live in Redis (REDIS_URL)")
    settings.RUN_EXECUTOR = "celery"
    settings.WORKER_HEARTBEAT_KEY = f"test:heartbeats:{uuid.uuid4().hex}"
    import redis

    client = redis.Redis.from_url(settings.REDIS_URL)
    yield client
    client.delete(settings.WORKER_HEARTBEAT_KEY)
    client.close()


def test_readyz_names_the_worker_when_no_heartbeat_was_seen(db, heartbeats):
    response = Client().get("/readyz")
    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["worker"]["ok"] is False
    assert checks["worker"]["error"] == "no worker heartbeat seen"
    assert checks["broker"]["ok"] is True  # the broker is up: only the worker is named


def test_readyz_says_how_old_a_stale_heartbeat_is_and_passes_on_a_fresh_one(db, heartbeats, settings):
    heartbeats.zadd(settings.WORKER_HEARTBEAT_KEY, {"celery@old": time.time() - 42})
    response = Client().get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["worker"]["error"] == "no heartbeat for 42 s"

    readiness.worker_heartbeat_write(worker="celery@new")
    response = Client().get("/readyz")
    assert response.status_code == 200, response.json()
    assert response.json()["checks"]["worker"]["workers"] == 1

    readiness.worker_heartbeat_remove(worker="celery@new")  # a clean shutdown takes it away
    assert Client().get("/readyz").status_code == 503


def test_metrics_is_absent_without_a_token_and_refuses_a_wrong_one(db, settings):
    settings.METRICS_TOKEN = ""
    assert Client().get("/metrics").status_code == 404
    assert Client().get("/metrics", HTTP_AUTHORIZATION="Bearer anything").status_code == 404

    settings.METRICS_TOKEN = TOKEN
    refused = Client().get("/metrics")
    assert refused.status_code == 401
    assert refused["WWW-Authenticate"] == 'Bearer realm="metrics"'
    assert Client().get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    assert Client().get("/metrics", HTTP_AUTHORIZATION=f"Token {TOKEN}").status_code == 401
    answered = Client().get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert answered.status_code == 200
    assert answered["Content-Type"].startswith("text/plain; version=")


def test_metrics_count_a_real_turn(api, owner, settings, django_capture_on_commit_callbacks):
    settings.METRICS_TOKEN = TOKEN
    client = Client()
    before = _samples(client)
    session = session_start(owner.api_key.app)

    with django_capture_on_commit_callbacks(execute=True):  # the turn runs inline after the send commits
        response = api.post(f"/v1/sessions/{session.id}/messages", {"text": "Hello there!"}, format="json")
    assert response.status_code in (200, 202), response.json()

    after = _samples(client)
    succeeded = {"kind": "reply", "outcome": "succeeded"}
    assert _value(after, "dramatis_turns_total", **succeeded) >= _value(before, "dramatis_turns_total", **succeeded) + 1
    assert _value(after, "dramatis_run_duration_seconds_count", **succeeded) > _value(
        before, "dramatis_run_duration_seconds_count", **succeeded
    )
    call = {"purpose": "reply", "outcome": "succeeded"}
    assert _value(after, "dramatis_model_calls_total", **call) > _value(before, "dramatis_model_calls_total", **call)
    for kind in ("prompt", "completion"):
        labels = {"purpose": "reply", "type": kind}
        assert _value(after, "dramatis_model_tokens_total", **labels) > _value(
            before, "dramatis_model_tokens_total", **labels
        )
    # The POST is labelled by its route template, never by the session id in its path.
    route = {"route": "v1/sessions/<str:session_id>/messages", "method": "POST", "status": "2xx"}
    assert _value(after, "dramatis_http_request_duration_seconds_count", **route) >= 1
    assert not any(session.id in str(labels) for _, labels in after)


@pytest.mark.django_db(transaction=True)  # the gauges are read on another connection: the rows must be committed
def test_metrics_read_unfinished_runs_and_the_oldest_pending_webhook_at_scrape_time(owner, settings, monkeypatch):
    settings.METRICS_TOKEN = TOKEN
    app = owner.api_key.app
    session = session_start(app)
    monkeypatch.setattr(executor, "submit", lambda task, *args, countdown=0.0: None)  # accepted, never run
    conversation_services.message_send(app=app, session_id=session.id, text="hi")
    endpoint = WebhookEndpoint.objects.create(app=app, url="https://hooks.example.com/x", secret="s")
    WebhookDelivery.objects.create(
        endpoint=endpoint, event_id="evt_1", body={}, created_at=clock.now() - timedelta(seconds=90)
    )

    samples = _samples(Client())
    assert _value(samples, "dramatis_runs_unfinished", status="queued") == 1
    assert _value(samples, "dramatis_runs_unfinished", status="running") == 0
    assert _value(samples, "dramatis_webhook_oldest_pending_age_seconds") >= 90
    assert ("dramatis_queue_depth", (("queue", "dramatis"),)) in samples


def test_the_system_check_prints_no_issue(db, capsys):
    call_command("check")
    captured = capsys.readouterr()
    assert captured.out.strip() == "System check identified no issues (0 silenced)."
    assert captured.err == ""
