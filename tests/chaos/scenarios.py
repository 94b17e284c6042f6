"""The chaos scenarios: each starts its stack, breaks it, waits for it to heal and returns a ``ScenarioResult``
naming its pass criteria, whether each held, and what was measured (counts, time to recovery).

Every scenario takes ``full``: False is the fast variant (the test suite's, seconds to tens of seconds), True
the one ``make chaos`` runs (``python -m tests.chaos --full``). Deadlines only bound a hang; the recovery bound
of a scenario is one of its pass criteria, reported with the time it actually took.
"""

from __future__ import annotations

import http.client
import json
import threading
import time
import urllib.parse
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.chaos.harness import ChaosStack, Tenant
from tests.chaos.invariants import ProactiveRules, Report
from tests.chaos.llm_stub import LLMStub
from tests.chaos.sink import WebhookSink


@dataclass
class ScenarioResult:
    name: str
    checks: list[tuple[str, bool]] = field(default_factory=list)
    figures: dict[str, Any] = field(default_factory=dict)
    report: Report | None = None
    note: str = ""

    def check(self, criterion: str, held: bool) -> None:
        self.checks.append((criterion, bool(held)))

    @property
    def passed(self) -> bool:
        return all(held for _, held in self.checks) and (self.report is None or self.report.passed)

    def text(self) -> str:
        lines = [f"== {self.name}: {'PASS' if self.passed else 'FAIL'}"]
        if self.note:
            lines.append(f"  ({self.note})")
        lines += [f"  [{'PASS' if held else 'FAIL'}] {criterion}" for criterion, held in self.checks]
        lines.append("  figures: " + ", ".join(f"{key}={value}" for key, value in self.figures.items()))
        if self.report is not None:
            lines.append(self.report.text())
        return "\n".join(lines)

    def print(self) -> None:
        print(self.text(), flush=True)


# --- shared steps --------------------------------------------------------------------------------------------
def _send_turns(stack: ChaosStack, tenant: Tenant, turns: int, threads: int = 8) -> list[str]:
    """Post ``turns`` messages spread over the tenant's sessions, in parallel; return the run refs."""
    api = stack.client(tenant.key)

    def send(index: int) -> tuple[int, Any]:
        session = tenant.session_ids[index % len(tenant.session_ids)]
        sent = api.post(f"/v1/sessions/{session}/messages", {"text": f"message number {index}, are you there?"})
        return sent.status, sent.body

    with ThreadPoolExecutor(threads) as pool:
        answers = list(pool.map(send, range(turns)))
    refused = [answer for answer in answers if answer[0] != 202]
    if refused:
        raise RuntimeError(f"{len(refused)} messages were not accepted, e.g. {refused[0]}")
    return [body["data"]["run_ref"] for _, body in answers]


def _run_states(stack: ChaosStack) -> dict[str, int]:
    return dict(stack.sql("SELECT status, count(*) FROM conversations_run GROUP BY status"))


def _all_finished(stack: ChaosStack, count: int) -> bool:
    states = _run_states(stack)
    return states.get("succeeded", 0) + states.get("failed", 0) >= count


def _unfinished(stack: ChaosStack) -> int:
    states = _run_states(stack)
    return states.get("queued", 0) + states.get("running", 0)


def _webhooks_settled(stack: ChaosStack) -> bool:
    pending = stack.sql("SELECT count(*) FROM delivery_webhookdelivery WHERE status = 'pending'")[0][0]
    return pending == 0


# --- 1 and 2: kill -9 a worker ---------------------------------------------------------------------------------
def worker_kill(*, full: bool = False, target: str = "main") -> ScenarioResult:
    """``kill -9`` a worker's main process (``target="main"``, thread pool as in the Procfile) or one of its pool
    children (``target="child"``, prefork) with turns in flight, then restart it."""
    turns = 100 if full else 16
    latency = (2.0, 5.0) if full else (1.0, 2.0)
    visibility, lease = (10.0, 8.0) if full else (5.0, 5.0)
    margin = 60.0 if full else 30.0
    bound = visibility + 2 * latency[1] + margin
    prefork = target == "child"
    name = f"kill -9 a worker's {'pool child (prefork)' if prefork else 'main process'} with {turns} turns in flight"
    result = ScenarioResult(name)
    env = {"CELERY_VISIBILITY_TIMEOUT_SECONDS": str(visibility), "RUN_LEASE_SECONDS": str(int(lease))}
    with (
        LLMStub(latency=latency, seed=1) as llm,
        WebhookSink() as sink,
        ChaosStack(
            llm=llm, workers=2, worker_concurrency=8 if full else 4, worker_pool="prefork" if prefork else "threads",
            env=env,
        ) as stack,
    ):  # fmt: skip
        tenant = stack.provision(sessions=max(1, turns // 2), webhooks=[sink.url_for("main")])
        _send_turns(stack, tenant, turns)
        stack.wait_for(lambda: _run_states(stack).get("running", 0) >= 4, what="turns in flight")
        in_flight = _run_states(stack).get("running", 0)
        killed_at = time.monotonic()
        if prefork:
            killed = stack.kill_child("worker", 0)
            result.figures["killed_child_pid"] = killed
        else:
            stack.kill("worker", 0)
            stack.restart("worker", 0)
        stack.wait_for(lambda: _all_finished(stack, turns), timeout=bound + 60, what="every turn to finish")
        recovered_in = time.monotonic() - killed_at
        stack.wait_for(lambda: _webhooks_settled(stack), timeout=60, what="webhook deliveries to settle")
        time.sleep(2 * float(stack.env["RUNS_RECOVER_INTERVAL_SECONDS"]))  # a finished run must stay finished
        report = stack.invariants(sink=sink)
        states = _run_states(stack)
        taken_over = stack.sql("SELECT count(*) FROM conversations_run WHERE attempts > 1")[0][0]
        replies = report["one reply per accepted turn"].figures
    result.figures.update(
        turns=turns, in_flight_at_kill=in_flight, succeeded=states.get("succeeded", 0),
        failed=states.get("failed", 0), taken_over=taken_over, duplicate_replies=replies["duplicate_replies"],
        model_calls=llm.counts["received"], recovered_s=round(recovered_in, 1), bound_s=bound,
    )  # fmt: skip
    result.check(f"all {turns} turns answered", states.get("succeeded", 0) == turns)
    result.check("no turn answered twice", replies["duplicate_replies"] == 0)
    result.check(f"finished within {bound:.0f} s of the kill (visibility + 2 x latency + margin)", recovered_in < bound)
    result.check("invariants clean", report.passed)
    result.report = report
    return result


# --- 3: a run that outlives the visibility timeout ---------------------------------------------------------------
def _log_message(line: str) -> str:
    """A log line's message: the ``message`` of a JSON line (``LOG_FORMAT=json``, production's default), else the
    line itself (Celery's text format)."""
    if line.startswith("{"):
        try:
            return str(json.loads(line).get("message", ""))
        except ValueError:
            return line
    return line


def _received_per_task(stack: ChaosStack) -> dict[str, int]:
    counts: dict[str, int] = {}
    for process in stack.processes["worker"]:
        for raw in process.log().splitlines():
            line = _log_message(raw)
            if "run_execute_task[" in line and line.rstrip().endswith("received"):
                task_id = line.split("run_execute_task[", 1)[1].split("]", 1)[0]
                counts[task_id] = counts.get(task_id, 0) + 1
    return counts


def visibility_overrun(*, full: bool = False) -> ScenarioResult:
    """The model answers after the broker's visibility timeout: Redis hands the unacknowledged message to the
    other worker while the first still runs the turn; the run's lease turns the second copy away."""
    turns = 4 if full else 1
    visibility = 6.0 if full else 2.0
    # Long enough for the unacked sweep (every second) to restore it even on a loaded machine.
    latency = 3 * visibility if full else 10.0
    result = ScenarioResult(f"{turns} run(s) outliving the broker's {visibility:.0f} s visibility timeout")
    env = {"CELERY_VISIBILITY_TIMEOUT_SECONDS": str(visibility), "RUN_LEASE_SECONDS": str(int(latency * 3))}
    with (
        LLMStub(latency=latency) as llm,
        ChaosStack(llm=llm, workers=2, worker_concurrency=turns, env=env) as stack,
    ):
        in_effect = stack.broker_settings()
        tenant = stack.provision(sessions=turns)
        _send_turns(stack, tenant, turns)
        stack.wait_for(lambda: _all_finished(stack, turns), timeout=latency * 3 + 30, what="the slow turns")
        time.sleep(2)
        received = _received_per_task(stack)
        report = stack.invariants()
    redelivered = sum(1 for count in received.values() if count > 1)
    result.figures.update(
        visibility_timeout_in_effect=in_effect["visibility_timeout"], model_latency_s=latency, turns=turns,
        messages_redelivered=redelivered, model_calls=llm.counts["received"],
        duplicate_replies=report["one reply per accepted turn"].figures["duplicate_replies"],
    )  # fmt: skip
    result.check(
        f"the workers run with visibility_timeout={visibility:g}", in_effect["visibility_timeout"] == visibility
    )
    result.check("every overrunning message was delivered a second time", redelivered == turns)
    result.check("the second delivery made no model call (the lease turned it away)", llm.counts["received"] == turns)
    result.check("exactly one reply per turn", report["one reply per accepted turn"].passed)
    result.report = report
    return result


# --- 4: 20 concurrent writers on one session, read by polling and SSE ------------------------------------------
class SSEReader(threading.Thread):
    """Follows ``GET /v1/sessions/{id}/events/stream`` and keeps the cursor of every frame, in arrival order."""

    def __init__(self, base_url: str, key: str, session_id: str) -> None:
        super().__init__(daemon=True)
        self.url = urllib.parse.urlsplit(base_url)
        self.key, self.session_id = key, session_id
        self.cursors: list[int] = []
        self.connected = threading.Event()
        self.stop_at: int | None = None
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            conn = http.client.HTTPConnection(self.url.hostname, self.url.port, timeout=60)
            path = f"/v1/sessions/{self.session_id}/events/stream?deltas=false"
            conn.request("GET", path, headers={"Authorization": f"Bearer {self.key}", "Accept": "text/event-stream"})
            response = conn.getresponse()
            if response.status != 200:
                raise RuntimeError(f"stream answered {response.status}")
            self.connected.set()
            while self.stop_at is None or not self.cursors or self.cursors[-1] < self.stop_at:
                line = response.readline()
                if not line:
                    break
                if line.startswith(b"id: "):
                    self.cursors.append(int(line[4:]))
            conn.close()
        except BaseException as error:  # reported by the scenario
            self.error = error
            self.connected.set()


def _poll_all(stack: ChaosStack, key: str, session_id: str, until: Callable[[int], bool]) -> list[int]:
    """Follow ``?since=<cursor>`` from 0 until ``until(last cursor)``; every cursor seen, in order."""
    api, since, seen = stack.client(key), 0, []
    while True:
        page = api.get(f"/v1/sessions/{session_id}/events?since={since}&limit=50")
        events = page.data["events"]
        seen += [event["cursor"] for event in events]
        since = page.data["next_cursor"]
        if until(since):
            return seen
        if not events:
            time.sleep(0.05)


def concurrent_writers(*, full: bool = False) -> ScenarioResult:
    writers, each = 20, (10 if full else 2)
    result = ScenarioResult(f"{writers} concurrent writers x {each} messages on one session, read by a poller and SSE")
    with LLMStub(latency=0.0) as llm, ChaosStack(llm=llm, workers=2, beats=1) as stack:
        tenant = stack.provision(sessions=1)
        session = tenant.session_ids[0]
        reader = SSEReader(stack.base_url, tenant.key, session)
        reader.start()
        reader.connected.wait(30)
        final: dict[str, int] = {}
        polled: list[int] = []
        poller = threading.Thread(
            target=lambda: polled.extend(_poll_all(stack, tenant.key, session, lambda c: c >= final.get("c", 1 << 60)))
        )
        poller.start()
        api = stack.client(tenant.key)

        def write(index: int) -> list[int]:
            return [
                api.post(f"/v1/sessions/{session}/messages", {"text": f"w{index} m{n}"}).status for n in range(each)
            ]

        with ThreadPoolExecutor(writers) as pool:
            statuses = [status for batch in pool.map(write, range(writers)) for status in batch]
        stack.wait_for(lambda: _all_finished(stack, writers * each), timeout=120, what="every reply")
        final["c"] = stack.sql("SELECT last_cursor FROM conversations_session WHERE id = %s", [session])[0][0]
        reader.stop_at = final["c"]
        poller.join(60)
        reader.join(60)
        report = stack.invariants()
    expected = list(range(1, final["c"] + 1))
    result.figures.update(
        messages=len(statuses), accepted=statuses.count(202), events=final["c"], polled=len(polled),
        streamed=len(reader.cursors), stream_error=repr(reader.error) if reader.error else "none",
    )  # fmt: skip
    result.check("every message accepted (202)", statuses.count(202) == writers * each)
    result.check("the poller saw every event once, in order, no gaps", polled == expected)
    result.check("the SSE client saw every event once, in order, no gaps", reader.cursors == expected)
    result.report = report
    return result


# --- 5: two beats and four workers over a simulated day of proactive slots -------------------------------------
def proactive_day(*, full: bool = False) -> ScenarioResult:
    """A day of proactive messages on a clock running ``rate`` times the wall clock (``CLOCK_RATE``): two beats
    scan every half second (12 simulated minutes), four workers answer."""
    sessions, hours, rate = (40, 24, 1440.0) if full else (8, 8, 1440.0)
    cap, gap_minutes, scan_seconds = 3, 120, 0.5
    result = ScenarioResult(f"2 beats + 4 workers, {sessions} proactive sessions over {hours} simulated hours")
    epoch = time.time()
    env = {
        "CLOCK_RATE": str(rate),
        "CLOCK_EPOCH": repr(epoch),
        "PROACTIVE_SCAN_INTERVAL_SECONDS": str(scan_seconds),
        "RUN_LEASE_SECONDS": str(int(5 * rate)),  # five real seconds
        "RUNS_RECOVER_INTERVAL_SECONDS": "5",
    }

    def simulated_now() -> datetime:
        real = time.time()
        return datetime.fromtimestamp(epoch + (real - epoch) * rate, UTC)

    controls = {
        "proactive_enabled": True,
        "proactivity_tolerance": 1,
        "cold_initiate_min_idle_minutes": 60,
        "session_resume_min_idle_minutes": 20,
        "session_resume_max_unanswered_character_turns": 20,
        "min_gap_between_initiate_minutes": gap_minutes,
        "daily_initiate_cap": cap,
    }
    zones = ["UTC", "Asia/Seoul", "America/New_York", "Europe/Berlin"]
    with LLMStub(latency=0.0) as llm, ChaosStack(llm=llm, workers=4, beats=2, env=env) as stack:
        tenant = stack.provision(sessions=sessions)
        api = stack.client(tenant.key)
        enabled_at = simulated_now()
        for index, session in enumerate(tenant.session_ids):
            quiet = {"quiet_hours": {"start": "23:00", "end": "07:00"}} if index % 3 == 0 else {}
            changed = api.request(
                "PATCH", f"/v1/sessions/{session}/proactive-controls",
                {**controls, "timezone": zones[index % len(zones)], **quiet},
            )  # fmt: skip
            if changed.status != 200:
                raise RuntimeError(f"proactive controls: {changed.status} {changed.body}")
        started = simulated_now()
        end = started + timedelta(hours=hours)
        stack.wait_for(lambda: simulated_now() >= end, timeout=hours * 3600 / rate + 30, what="the simulated day")
        stack.wait_for(lambda: not _unfinished(stack), timeout=60, what="the last initiate turns")
        now = simulated_now()
        tolerance = timedelta(seconds=6 * scan_seconds * rate)
        # A slot due before the switch was on (the session was idle long enough already) goes out at once, late.
        late_sql = "SELECT count(*) FROM conversations_proactivesend WHERE sent_at - slot_at > %s AND slot_at > %s"
        late = stack.sql(late_sql, [tolerance, enabled_at + tolerance])[0][0]
        overdue = stack.sql(
            "SELECT count(*) FROM conversations_session WHERE proactive_next_due_at < %s", [now - tolerance]
        )[0][0]
        report = stack.invariants(
            now=now, margin_seconds=10 * rate, proactive=ProactiveRules(cap=cap, gap=timedelta(minutes=gap_minutes))
        )
    sends = report["proactive slots once, caps and gaps"].figures
    result.figures.update(
        simulated_hours=hours, clock_rate=rate, sends=sends["sends"], sessions_with_sends=sends["sessions"],
        max_sends_per_session=sends["max_per_session"], late_claims=late, overdue_sessions=overdue,
        model_calls=llm.counts["received"],
    )  # fmt: skip
    result.check("some slot was sent in every session", sends["sessions"] == sessions)
    result.check(f"at most {cap} sends per local day, at least {gap_minutes} min apart, no (session, slot) twice",
                 report["proactive slots once, caps and gaps"].passed)  # fmt: skip
    result.check("sends == eligible slots: each claimed on time, none left overdue", late == 0 and overdue == 0)
    result.report = report
    return result


SCENARIOS: dict[str, Callable[..., ScenarioResult]] = {
    "worker-kill": worker_kill,
    "worker-child-kill": lambda full=False: worker_kill(full=full, target="child"),
    "visibility-overrun": visibility_overrun,
    "concurrent-writers": concurrent_writers,
    "proactive-day": proactive_day,
}
