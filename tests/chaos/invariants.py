"""The invariant checker: what must hold in the database after any chaos, checked with SQL of its own.

``invariants_check(database_url, lease_seconds=..., sink=..., proactive=...)`` returns a ``Report``; its
``print()`` lists every invariant with pass/fail, its counts and the first few offenders. The invariants:

1. **one reply per accepted turn**: every user message has exactly one run, every run has finished
   (``succeeded`` with exactly one character ``message.created``, or ``failed`` with exactly one ``run.failed``
   and no reply), and no run has two outcomes;
2. **no stuck runs**: nothing queued or running whose lease (or due time) is older than the lease plus a margin;
3. **gap-free cursors**: each session's events are numbered 1..``last_cursor``, one each (the unique
   constraint forbids doubles; this catches holes and a ``last_cursor`` out of step);
4. **webhooks at least once**: every event appended after an active endpoint was registered (of the types it
   takes) has a delivered row for it, and, when a ``sink`` is given, the sink counted a verified POST of it;
5. **proactive slots**: no (session, slot) twice, each send's run answered exactly once, and, when
   ``proactive`` gives the cap and gap, at most ``cap`` sends per local day and at least ``gap`` between sends.

``now`` (default: the database's ``now()``) is the instant the staleness checks measure from: a stack on a
faster clock (``CLOCK_RATE``) passes its own.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import psycopg

SHOW = 5  # offenders listed per invariant


@dataclass
class Invariant:
    name: str
    passed: bool
    figures: dict[str, int | float] = field(default_factory=dict)
    offenders: list[str] = field(default_factory=list)

    def line(self) -> str:
        figures = ", ".join(f"{key}={value}" for key, value in self.figures.items())
        shown = "; ".join(self.offenders[:SHOW]) + (" ..." if len(self.offenders) > SHOW else "")
        return f"  [{'PASS' if self.passed else 'FAIL'}] {self.name}: {figures}" + (f"\n      {shown}" if shown else "")


@dataclass
class Report:
    invariants: list[Invariant]

    @property
    def passed(self) -> bool:
        return all(item.passed for item in self.invariants)

    def __getitem__(self, name: str) -> Invariant:
        return next(item for item in self.invariants if item.name == name)

    def text(self) -> str:
        return "invariants:\n" + "\n".join(item.line() for item in self.invariants)

    def print(self) -> None:
        print(self.text(), flush=True)


@dataclass(frozen=True)
class ProactiveRules:
    cap: int
    gap: timedelta


def _turns(conn) -> Invariant:
    orphans = conn.execute(
        "SELECT e.session_id, e.cursor, count(r.id) FROM conversations_event e "
        "LEFT JOIN conversations_run r ON r.session_id = e.session_id AND r.trigger_cursor = e.cursor "
        "AND r.kind = 'reply' WHERE e.event_type = 'message.created' AND e.role = 'user' "
        "GROUP BY e.session_id, e.cursor HAVING count(r.id) <> 1"
    ).fetchall()
    runs = conn.execute(
        "SELECT r.id, r.kind, r.status, "
        "count(e.id) FILTER (WHERE e.event_type = 'message.created' AND e.role = 'character'), "
        "count(e.id) FILTER (WHERE e.event_type = 'run.failed') "
        "FROM conversations_run r LEFT JOIN conversations_event e ON e.run_id = r.id GROUP BY r.id"
    ).fetchall()
    users = conn.execute(
        "SELECT count(*) FROM conversations_event WHERE event_type = 'message.created' AND role = 'user'"
    ).fetchone()[0]
    offenders = [f"user message {session}#{cursor} has {count} runs" for session, cursor, count in orphans]
    figures = defaultdict(int, turns=users, runs=len(runs))
    for run_id, kind, status, replies, failures in runs:
        figures[status] += 1
        if replies > 1:
            figures["duplicate_replies"] += 1
        good = (status == "succeeded" and (replies, failures) == (1, 0)) or (
            status == "failed" and (replies, failures) == (0, 1)
        )
        if not good:
            offenders.append(f"{kind} run {run_id} is {status} with {replies} replies and {failures} failures")
    figures.setdefault("duplicate_replies", 0)
    return Invariant("one reply per accepted turn", not offenders, dict(figures), offenders)


def _stuck(conn, now: datetime, lease: timedelta, margin: timedelta) -> Invariant:
    rows = conn.execute(
        "SELECT id, status, attempts, lease_expires_at, available_at FROM conversations_run "
        "WHERE (status = 'running' AND lease_expires_at < %(limit)s) "
        "OR (status = 'queued' AND available_at < %(queued_limit)s)",
        {"limit": now - margin, "queued_limit": now - lease - margin},
    ).fetchall()
    unfinished = conn.execute(
        "SELECT count(*) FROM conversations_run WHERE status IN ('queued', 'running')"
    ).fetchone()[0]
    offenders = [f"run {run_id} {status} (attempt {attempts}) lease {lease_at} due {due}" for run_id, status,
                 attempts, lease_at, due in rows]  # fmt: skip
    return Invariant("no stuck runs", not rows, {"unfinished": unfinished, "stuck": len(rows)}, offenders)


def _cursors(conn) -> Invariant:
    rows = conn.execute(
        "SELECT s.id, s.last_cursor, count(e.id), coalesce(min(e.cursor), 0), coalesce(max(e.cursor), 0) "
        "FROM conversations_session s LEFT JOIN conversations_event e ON e.session_id = s.id GROUP BY s.id"
    ).fetchall()
    offenders = [
        f"session {session}: last_cursor {last}, {count} events in [{low}, {high}]"
        for session, last, count, low, high in rows
        if not (count == last == high and low == min(1, count))
    ]
    events = sum(row[2] for row in rows)
    return Invariant("gap-free cursors", not offenders, {"sessions": len(rows), "events": events}, offenders)


def _webhooks(conn, sink) -> Invariant:
    rows = conn.execute(
        "SELECT w.id, w.url, w.event_types, "
        "'evt_' || substr(e.session_id, 6) || '_' || e.cursor, e.event_type, d.status "
        "FROM delivery_webhookendpoint w "
        "JOIN conversations_session s ON s.app_id = w.app_id AND (w.session_id IS NULL OR w.session_id = s.id) "
        "JOIN conversations_event e ON e.session_id = s.id AND e.created_at >= w.created_at "
        "LEFT JOIN delivery_webhookdelivery d ON d.endpoint_id = w.id "
        "AND d.event_id = 'evt_' || substr(e.session_id, 6) || '_' || e.cursor "
        "WHERE w.status = 'active' AND w.scope = ''"
    ).fetchall()
    received = sink.deliveries() if sink is not None else None
    offenders, expected, duplicates = [], 0, 0
    for endpoint_id, url, event_types, event_id, event_type, status in rows:
        if event_types and event_type not in event_types:
            continue
        expected += 1
        if status != "delivered":
            offenders.append(f"{event_id} to {endpoint_id}: {status or 'no delivery row'}")
        elif received is not None:
            seen = received.get((url.rsplit("/hook/", 1)[-1], event_id), 0)
            duplicates += max(0, seen - 1)
            if not seen:
                offenders.append(f"{event_id} to {endpoint_id}: delivered, but the sink never verified it")
    figures = {"endpoint_events": expected, "missing": len(offenders)}
    if sink is not None:
        figures["sink_duplicates"] = duplicates
        figures["unverified"] = len(sink.unverified())
        offenders += [f"signature failed on {path}" for path in sink.unverified()]
    return Invariant("webhooks at least once", not offenders, figures, offenders)


def _proactive(conn, rules: ProactiveRules | None) -> Invariant:
    sends = conn.execute(
        "SELECT p.session_id, p.slot_at, p.sent_at, p.run_id, s.timezone, r.status, "
        "(SELECT count(*) FROM conversations_event e WHERE e.run_id = p.run_id "
        " AND e.event_type = 'message.created' AND e.role = 'character') "
        "FROM conversations_proactivesend p JOIN conversations_session s ON s.id = p.session_id "
        "LEFT JOIN conversations_run r ON r.id = p.run_id ORDER BY p.session_id, p.sent_at"
    ).fetchall()
    offenders: list[str] = []
    slots: defaultdict[tuple[str, datetime], int] = defaultdict(int)
    by_session: defaultdict[str, list[datetime]] = defaultdict(list)
    zones: dict[str, str] = {}
    for session, slot, sent, run_id, tz, status, replies in sends:
        slots[(session, slot)] += 1
        by_session[session].append(sent)
        zones[session] = tz
        if status == "succeeded" and replies != 1 or status == "failed" and replies != 0:
            offenders.append(f"slot {session}@{slot:%H:%M} run {run_id} {status} with {replies} messages")
    offenders += [f"slot {session}@{slot} sent {count} times" for (session, slot), count in slots.items() if count > 1]
    if rules is not None:
        for session, times in by_session.items():
            for earlier, later in zip(times, times[1:], strict=False):
                if later - earlier < rules.gap:
                    offenders.append(f"{session}: sends {earlier:%d %H:%M} and {later:%d %H:%M} closer than the gap")
            per_day: defaultdict[object, int] = defaultdict(int)
            for sent in times:
                per_day[sent.astimezone(ZoneInfo(zones[session])).date()] += 1
            offenders += [f"{session}: {count} sends on {day}" for day, count in per_day.items() if count > rules.cap]
    figures = {"sends": len(sends), "sessions": len(by_session), "max_per_session": max(map(len, by_session.values()),
               default=0)}  # fmt: skip
    return Invariant("proactive slots once, caps and gaps", not offenders, figures, offenders)


def invariants_check(
    database_url: str,
    *,
    lease_seconds: float,
    margin_seconds: float = 10.0,
    sink=None,
    proactive: ProactiveRules | None = None,
    now: datetime | None = None,
) -> Report:
    with psycopg.connect(database_url, autocommit=True) as conn:
        now = now or conn.execute("SELECT now()").fetchone()[0]
        lease, margin = timedelta(seconds=lease_seconds), timedelta(seconds=margin_seconds)
        return Report(
            [
                _turns(conn),
                _stuck(conn, now, lease, margin),
                _cursors(conn),
                _webhooks(conn, sink),
                _proactive(conn, proactive),
            ]
        )
