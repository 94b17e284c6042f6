"""The outage scenarios: Redis restarted under load, Redis flushed with turns queued, PostgreSQL restarted under
load. Each runs the chaos stack (tests/chaos/harness.py) against private servers (tests/chaos/instances.py),
never the machine's shared PostgreSQL and Redis, and returns a ``ScenarioResult`` with its pass criteria and
what it measured. ``full`` picks the long variant (``make chaos``) over the suite's fast one.
"""

from __future__ import annotations

import json
import os
import re
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime

from tests.chaos.harness import ChaosStack, Tenant, database_create
from tests.chaos.instances import PrivatePostgres, PrivateRedis
from tests.chaos.llm_stub import LLMStub
from tests.chaos.scenarios import ScenarioResult
from tests.live import LiveClient

RECONNECT_BOUND = 30.0  # seconds: workers and beat reconnect, and throughput returns, within this
OUTAGE_DEADLINE = 180.0  # a hang bound for "every accepted turn answered", not a timing


@contextmanager
def _private_stack(**kwargs):
    """PostgreSQL and Redis of the scenario's own, a migrated database on the first, and the stack on both."""
    with PrivatePostgres() as postgres, PrivateRedis() as redis_server:
        env = {**os.environ, "DJANGO_SECRET_KEY": "chaos-test-only-secret-key", "REDIS_URL": redis_server.url}
        database_url = database_create(postgres.url, env)
        with ChaosStack(database_url=database_url, redis_url=redis_server.url, **kwargs) as stack:
            yield stack, postgres, redis_server


@dataclass
class Load:
    """Posts ``turns`` messages over ``seconds`` from a few threads, round robin over the tenant's sessions, and
    keeps every answer: (monotonic time, status, run ref or None)."""

    stack: ChaosStack
    tenant: Tenant
    turns: int
    seconds: float
    threads: int = 4
    answers: list[tuple[float, int, str | None]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _post(self, index: int) -> None:
        start = self.started + index * self.seconds / self.turns
        time.sleep(max(0.0, start - time.monotonic()))
        session = self.tenant.session_ids[index % len(self.tenant.session_ids)]
        api = LiveClient(self.stack.base_url, self.tenant.key)
        try:
            sent = api.post(f"/v1/sessions/{session}/messages", {"text": f"turn {index}: still with me?"})
            status, body = sent.status, sent.body
        except OSError:  # the web process did not answer at all: counted as such
            status, body = 0, None
        run_ref = body["data"]["run_ref"] if status == 202 else None
        with self._lock:
            self.answers.append((time.monotonic(), status, run_ref))

    def _run(self) -> None:
        with ThreadPoolExecutor(self.threads) as pool:
            list(pool.map(self._post, range(self.turns)))

    def start(self) -> Load:
        self.started = time.monotonic()
        self._thread.start()
        return self

    def join(self) -> Load:
        self._thread.join(timeout=self.seconds + 120)
        return self

    def statuses(self, since: float = 0.0, until: float = float("inf")) -> Counter[int]:
        return Counter(status for at, status, _ in self.answers if since <= at < until)

    @property
    def accepted(self) -> list[str]:
        return [run_ref for _, status, run_ref in self.answers if status == 202]

    def first_accepted_after(self, moment: float) -> float | None:
        times = [at for at, status, _ in self.answers if status == 202 and at >= moment]
        return min(times) - moment if times else None


def _answered(stack: ChaosStack, run_refs: list[str]) -> bool:
    if not run_refs:
        return True
    rows = stack.sql("SELECT count(*) FROM conversations_run WHERE id = ANY(%s) AND status IN ('succeeded', 'failed')",
                     [run_refs])  # fmt: skip
    return rows[0][0] == len(run_refs)


_LOG_TIME = re.compile(r"^\[(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}): ")


def _logged_at(line: str, marker: str) -> float | None:
    """Epoch seconds of a log line carrying ``marker``: a JSON line (``LOG_FORMAT=json``, production's default)
    or Celery's own text format; None for any other line."""
    if line.startswith("{"):
        try:
            record = json.loads(line)
        except ValueError:
            return None
        if marker in str(record.get("message", "")) and record.get("time"):
            return datetime.fromisoformat(record["time"]).timestamp()
        return None
    stamp = _LOG_TIME.match(line)
    if stamp and marker in line:
        return datetime.strptime(stamp.group(1), "%Y-%m-%d %H:%M:%S,%f").replace(tzinfo=UTC).timestamp()
    return None


def _reconnected_after(stack: ChaosStack, role: str, wall_clock: float) -> list[float | None]:
    """For each process of ``role``: seconds from ``wall_clock`` (epoch) to its first log line after it that shows
    it talking to the broker again (a worker logs "Connected to" on each reconnect; beat "Sending due task" as it
    publishes), or None when it has not."""
    marker = "Connected to" if role == "worker" else "Sending due task"
    found = []
    for process in stack.processes[role]:
        seconds = None
        for line in process.log().splitlines():
            at = _logged_at(line, marker)
            if at is not None and at >= wall_clock:
                seconds = round(at - wall_clock, 1)
                break
        found.append(seconds)
    return found


def _rounded(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds, 2)


def _log_count(stack: ChaosStack, role: str, text: str) -> int:
    return sum(process.log().count(text) for process in stack.processes[role])


def _outage_under_load(
    stack: ChaosStack, turns: int, seconds: float, down: float, server: PrivatePostgres | PrivateRedis
) -> tuple[Load, float, float]:
    """``turns`` messages over ``seconds`` to 10 sessions, with ``server`` stopped a third of the way in and
    started again ``down`` seconds later; returns the finished load and when the server stopped and came back
    (monotonic)."""
    tenant = stack.provision(sessions=10)
    load = Load(stack, tenant, turns, seconds).start()
    time.sleep(seconds / 3)
    stopped = time.monotonic()
    server.stop()
    time.sleep(down)
    server.start()
    back = time.monotonic()
    return load.join(), stopped, back


def _finish(result: ScenarioResult, stack: ChaosStack, load_accepted: list[str]) -> None:
    """Wait for every accepted turn (a hang bound), then check the invariants."""
    stack.wait_for(lambda: _answered(stack, load_accepted), timeout=OUTAGE_DEADLINE, what="every accepted turn")
    time.sleep(2 * float(stack.env["RUNS_RECOVER_INTERVAL_SECONDS"]))  # an answered turn must stay answered once
    report = stack.invariants()
    replies = report["one reply per accepted turn"].figures
    result.figures.update(succeeded=replies.get("succeeded", 0), failed=replies.get("failed", 0),
                          duplicate_replies=replies["duplicate_replies"])  # fmt: skip
    result.check("every accepted turn answered, none twice", report["one reply per accepted turn"].passed)
    result.check("invariants clean", report.passed)
    result.report = report


# --- 17: Redis restarted under load ----------------------------------------------------------------------------
def redis_restart(*, full: bool = False) -> ScenarioResult:
    turns, seconds, down = (200, 60.0, 5.0) if full else (40, 12.0, 2.0)
    result = ScenarioResult(f"Redis restarted ({down:.0f} s down, data lost) during {turns} turns over {seconds:.0f} s")
    env = {"RUNS_RECOVER_QUEUED_AFTER_SECONDS": "2"}
    with (
        LLMStub(latency=(0.2, 1.0), seed=17) as llm,
        _private_stack(llm=llm, workers=2, beats=1, env=env) as (
            stack,
            _postgres,
            redis_server,
        ),
    ):
        load, stopped, back = _outage_under_load(stack, turns, seconds, down, redis_server)
        back_wall = time.time() - (time.monotonic() - back)
        statuses = load.statuses()
        stack.wait_for(lambda: all(s is not None for s in _reconnected_after(stack, "worker", back_wall)),
                       timeout=OUTAGE_DEADLINE, what="the workers to reconnect")  # fmt: skip
        workers = _reconnected_after(stack, "worker", back_wall)
        beat = _reconnected_after(stack, "beat", back_wall)
        _finish(result, stack, load.accepted)
    result.figures.update(
        turns=turns, answers=dict(statuses), answers_while_down=dict(load.statuses(stopped, back)),
        workers_reconnected_s=workers, beat_reconnected_s=beat,
        first_accepted_after_s=_rounded(load.first_accepted_after(back)),
    )  # fmt: skip
    result.check("the API answered 202 or 503, never 500", set(statuses) <= {202, 503})
    result.check(f"every worker and beat reconnected within {RECONNECT_BOUND:.0f} s",
                 all(s is not None and s <= RECONNECT_BOUND for s in [*workers, *beat]))  # fmt: skip
    return result


# --- 18: Redis flushed with turns queued -----------------------------------------------------------------------
def redis_flush(*, full: bool = False) -> ScenarioResult:
    turns, interval = (100, 5.0) if full else (30, 3.0)
    result = ScenarioResult(f"FLUSHALL with {turns} turns queued (workers stopped), sweep every {interval:g} s")
    env = {"RUNS_RECOVER_INTERVAL_SECONDS": str(interval), "RUNS_RECOVER_QUEUED_AFTER_SECONDS": "1"}
    with _private_stack(workers=2, beats=1, env=env) as (stack, _postgres, redis_server):
        tenant = stack.provision(sessions=10)
        for index in range(len(stack.processes["worker"])):
            stack.kill("worker", index)
        load = Load(stack, tenant, turns, seconds=0.0).start().join()
        import redis

        queued = redis.Redis.from_url(redis_server.url).llen("dramatis")
        redis_server.flushall()
        left = redis.Redis.from_url(redis_server.url).dbsize()
        workers = [stack.spawn("worker", index) for index in range(len(stack.processes["worker"]))]
        for process in workers:
            stack.await_ready(process)
        ready_wall = time.time()

        def claimed() -> list[datetime]:
            rows = stack.sql("SELECT started_at FROM conversations_run WHERE id = ANY(%s)", [load.accepted])
            return [started for (started,) in rows]

        stack.wait_for(lambda: all(claimed()), timeout=OUTAGE_DEADLINE, what="every flushed turn to be re-queued")
        starts = [started.timestamp() - ready_wall for started in claimed()]
        _finish(result, stack, load.accepted)
    first, last = round(min(starts), 1), round(max(starts), 1)
    result.figures.update(
        turns=turns, accepted=len(load.accepted), broker_messages_before_flush=queued, keys_after_flush=left,
        first_claimed_after_workers_s=first, all_claimed_after_workers_s=last, sweep_interval_s=interval,
    )  # fmt: skip
    result.check(f"all {turns} turns were accepted while the workers were stopped", len(load.accepted) == turns)
    result.check("the flush emptied the broker", left == 0)
    result.check(f"the sweep re-queued them within 2 sweep intervals ({2 * interval:g} s) of the workers' start",
                 first <= 2 * interval)  # fmt: skip
    return result


# --- 19: PostgreSQL restarted under load -----------------------------------------------------------------------
def postgres_restart(*, full: bool = False) -> ScenarioResult:
    turns, seconds, down = (200, 60.0, 15.0) if full else (40, 15.0, 4.0)
    result = ScenarioResult(f"PostgreSQL restarted ({down:.0f} s down) during {turns} turns over {seconds:.0f} s")
    # The model takes a moment, so turns are in the middle of their call when the database goes away.
    with (
        LLMStub(latency=(0.5, 2.0), seed=19) as llm,
        _private_stack(llm=llm, workers=2, beats=1) as (
            stack,
            postgres,
            _redis_server,
        ),
    ):
        load, stopped, back = _outage_under_load(stack, turns, seconds, down, postgres)
        statuses = load.statuses()
        recovered = load.first_accepted_after(back)
        _finish(result, stack, load.accepted)
        retried = _log_count(stack, "worker", "interrupted by a database outage")
        in_flight = stack.sql("SELECT count(*) FROM conversations_run WHERE attempts > 1")[0][0]
    before = load.statuses(0.0, stopped)
    during = load.statuses(stopped, back)
    after = load.statuses(back)
    result.figures.update(
        turns=turns, answers_before=dict(before), answers_while_down=dict(during), answers_after=dict(after),
        recovered_s=_rounded(recovered), worker_retries_logged=retried, runs_claimed_again=in_flight,
    )  # fmt: skip
    result.check("the API answered 503, never 500, while PostgreSQL was down", set(during) <= {503, 202})
    result.check("no 500 at any time", 500 not in statuses and 0 not in statuses)
    result.check(f"accepting turns again within {RECONNECT_BOUND:.0f} s of PostgreSQL's return",
                 recovered is not None and recovered <= RECONNECT_BOUND)  # fmt: skip
    return result


OUTAGE_SCENARIOS: dict[str, Callable[..., ScenarioResult]] = {
    "redis-restart": redis_restart,
    "redis-flush": redis_flush,
    "postgres-restart": postgres_restart,
}
