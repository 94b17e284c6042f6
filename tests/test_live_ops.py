"""What operators watch, on the real processes: a clean start, /readyz seeing a live worker's heartbeat, one
/metrics adding up every process of the machine (the turn counted by the worker appears on the web's scrape),
and the JSON log lines of the process that ran a turn carrying its run_ref and session_id.

Both modes: in production mode (REDIS_URL) the web (daphne) and a Celery worker are separate processes, so a
turn's counters on the web's /metrics prove the multiprocess aggregation; embedded, one process does both.
"""

import json
import urllib.error
import urllib.request
import uuid

import pytest
from django.conf import settings
from prometheus_client.parser import text_string_to_metric_families

from apps.accounts import services as accounts_services
from apps.conversations.models import Run
from apps.conversations.tests.factories import session_start
from tests.live import PRODUCTION, live_stack  # noqa: F401  (fixture)

pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True)]

TOKEN = "live-metrics-token"
LIVE_ENV = {
    "METRICS_TOKEN": TOKEN,
    "LOG_FORMAT": "json",
    "LOG_LEVEL": "INFO",
    "WORKER_HEARTBEAT_SECONDS": "1",
    "WORKER_HEARTBEAT_KEY": f"test:live-heartbeats:{uuid.uuid4().hex}",
    # A folder of this module's processes only, so what /metrics shows came from them.
    "PROMETHEUS_MULTIPROC_DIR": str(settings.VAR_DIR / "test-prometheus" / f"live-{uuid.uuid4().hex[:8]}"),
}


def _records(log: str) -> list[dict]:
    records = []
    for line in log.splitlines():
        if line.startswith("{"):
            try:
                records.append(json.loads(line))
            except ValueError:
                continue
    return records


def _metric(text: str, name: str, **labels: str) -> float:
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(key) == value for key, value in labels.items()):
                return sample.value
    return 0.0


def test_processes_start_without_warnings(live_stack):  # noqa: F811
    for process in live_stack.processes:
        loud = [record for record in _records(process.log()) if record.get("level") in {"WARNING", "ERROR", "CRITICAL"}]
        assert loud == [], f"{process.name} warned at start-up: {loud}"
        # Python warnings (drf-spectacular's among them) print "...Warning: ..."; Celery's about running as root
        # speaks of this machine, where the tests run as root, not of the project.
        printed = [line for line in process.log().splitlines() if "Warning:" in line and "superuser" not in line]
        assert printed == [], f"{process.name} printed warnings at start-up: {printed}"


def test_readyz_sees_the_worker(live_stack):  # noqa: F811
    client = live_stack.client()

    def ready():
        response = client.get("/readyz")
        return response if response.status == 200 else None

    response = live_stack.wait_for(ready, timeout=20, what="/readyz to answer 200")
    checks = response.body["checks"]
    assert checks["database"]["ok"] is True
    if PRODUCTION:
        assert set(checks) == {"database", "redis", "broker", "worker"}
        assert checks["worker"]["ok"] is True and checks["worker"]["workers"] >= 1
    else:
        assert checks["worker"]["mode"] == "in-process"
    assert client.get("/healthz").body == {"status": "ok"}


def test_a_turn_shows_on_the_web_metrics_and_in_the_runners_json_logs(live_stack):  # noqa: F811
    app = accounts_services.app_create(name="ops live")
    key = accounts_services.api_key_create(app=app, name="live").raw_key
    session = session_start(app)
    client = live_stack.client(key)

    sent = client.post(f"/v1/sessions/{session.id}/messages", {"text": "Hello, how are you?"})
    assert sent.status == 202, sent.body
    run_ref = sent.data["run_ref"]
    live_stack.wait_for(
        lambda: Run.objects.filter(pk=run_ref, status="succeeded").exists(), timeout=30, what="the turn to finish"
    )

    # The web process's scrape adds up every process's samples: in production mode the turn ran on the worker.
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(f"{live_stack.base_url}/metrics", timeout=10)
    assert refused.value.code == 401
    request = urllib.request.Request(f"{live_stack.base_url}/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        text = response.read().decode()
    assert _metric(text, "dramatis_turns_total", kind="reply", outcome="succeeded") >= 1
    assert _metric(text, "dramatis_model_calls_total", purpose="reply", outcome="succeeded") >= 1
    assert _metric(text, "dramatis_model_tokens_total", purpose="reply", type="completion") >= 1
    route = "v1/sessions/<str:session_id>/messages"
    assert _metric(text, "dramatis_http_request_duration_seconds_count", route=route, method="POST") >= 1

    runner = next(p for p in live_stack.processes if p.name.startswith("worker")) if PRODUCTION else None
    runner = runner or live_stack.processes[0]

    def logged():
        return [r for r in _records(runner.log()) if r.get("run_ref") == run_ref]

    lines = live_stack.wait_for(logged, timeout=10, what=f"{runner.name} to log the turn")
    assert {line["session_id"] for line in lines} == {session.id}
    assert all({"time", "level", "logger", "message", "app_id"} <= set(line) for line in lines)
