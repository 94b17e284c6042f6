"""``ChaosStack``: the production stack on 127.0.0.1 (web, Celery workers, beats), built to be broken.

Each process runs its ``Procfile`` line (through ``bash -c exec``, so its PID is the server's) in a process
group of its own, against a database of its own and the caller's Redis database::

    with LLMStub(latency=(2, 5)) as llm, ChaosStack(llm=llm, workers=2, beats=1) as stack:
        tenant = stack.provision(sessions=10, webhooks=[sink.url_for("a")])
        stack.kill("worker", 0)              # kill -9 the main process of the first worker
        stack.restart("worker", 0)           # a fresh worker in its place, once it is ready
        report = stack.invariants(sink=sink)  # tests/chaos/invariants.py

- **Database**: ``database_url`` or, by default, a fresh ``dramatis_chaos_<hex>`` on the caller's PostgreSQL
  server (``DATABASE_URL``), copied from a migrated template (``dramatis_chaos_tpl_<hash of the
  migrations>``, made once per set of migrations) and dropped at ``stop()`` unless ``keep_database``.
- **Redis**: ``redis_url`` or the caller's ``REDIS_URL``: the broker, cache and channel layer. ``start()`` empties
  this database's Celery queues and unacknowledged set (never FLUSHDB: other keys may be the caller's).
- **Chaos settings** (``CHAOS_ENV``, overridable by ``env=``): a short run lease and recovery interval, a short
  broker visibility timeout with a fast unacked sweep, fast webhook retries, the lexicon appraiser (one model
  call per turn), small database pools (the shared server allows 100 connections).
- **Roles** ``web`` (uvicorn, ``web_concurrency`` processes), ``worker`` (``workers`` of them, ``worker_pool``
  and ``worker_concurrency``) and ``beat`` (``beats``); ``stack.processes[role][index]`` are
  ``tests.live.Process`` objects. ``kill(role, i)`` sends SIGKILL to the main process only (a prefork
  worker's children are orphaned, as on a real crash); ``kill_child("worker", i)`` kills one pool child;
  ``restart(role, i)`` kills what is left of the group and starts a new process in its place.
- **Tenants**: ``start()`` makes an app and its key ``stack.key`` (``manage.py createapikey``, the operator's
  way) while the servers boot; ``provision`` adds a character, sessions and webhook endpoints through the
  public API.

Logs are kept under ``var/chaos-logs`` (``stack.logs()`` for the tail of each). Used by the pytest fixture
``chaos_stack`` (tests/chaos/conftest.py) and by ``python -m tests.chaos``.
"""

from __future__ import annotations

import hashlib
import os
import re
import signal
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import redis

from tests.live import BASE_DIR, LiveClient, Process, free_port, wait_for

LOG_DIR = BASE_DIR / "var" / "chaos-logs"
START_TIMEOUT = 60.0
SIGNING_SECRET = "whsec_" + "Y2hhb3Mtc2luay1zZWNyZXQtZm9yLXRlc3RzLW9ubHk="  # base64 of a fixed test secret
CHAOS_ENV = {
    "RUN_LEASE_SECONDS": "8",
    "RUNS_RECOVER_INTERVAL_SECONDS": "1",
    "CELERY_VISIBILITY_TIMEOUT_SECONDS": "10",
    "CELERY_UNACKED_RESTORE_SECONDS": "1",
    "WEBHOOK_ALLOWED_NETWORKS": "127.0.0.0/8",
    "WEBHOOK_SWEEP_INTERVAL_SECONDS": "1",
    "WEBHOOK_RETRY_SCHEDULE_SECONDS": "1,2,4,8,15,30",
    "WEBHOOK_RETRY_JITTER": "0",
    "WEBHOOK_LEASE_SECONDS": "10",
    "PROACTIVE_SCAN_INTERVAL_SECONDS": "2",
    "EMOTION_APPRAISER": "lexicon",
    "LLM_TIMEOUT_SECONDS": "60",
    "DB_POOL_MIN_SIZE": "1",
    "DB_POOL_MAX_SIZE": "6",
    "DEMO_SANDBOX_ENABLED": "false",
    "LOG_LEVEL": "WARNING",
    "SSE_HEARTBEAT_SECONDS": "2",
    "SSE_MAX_SECONDS": "600",
    # The concurrent-writers scenario keeps up to 40 turns unanswered on one session.
    "TURNS_MAX_PENDING_PER_SESSION": "100",
}
ROLES = ("web", "worker", "beat")


def procfile_line(role: str) -> str:
    """The ``role`` line of the Procfile, bound to loopback."""
    for line in (BASE_DIR / "Procfile").read_text().splitlines():
        if line.startswith(f"{role}:"):
            return line.split(":", 1)[1].strip().replace("0.0.0.0", "127.0.0.1")
    raise RuntimeError(f"The Procfile has no {role!r} line.")


def _admin_url(database_url: str) -> str:
    parts = urllib.parse.urlsplit(database_url)
    return urllib.parse.urlunsplit(parts._replace(path="/postgres"))


def _with_database(database_url: str, name: str) -> str:
    parts = urllib.parse.urlsplit(database_url)
    return urllib.parse.urlunsplit(parts._replace(path=f"/{name}"))


def _migrations_fingerprint() -> str:
    digest = hashlib.sha256()
    for path in sorted(BASE_DIR.glob("apps/**/migrations/*.py")):
        digest.update(str(path.relative_to(BASE_DIR)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def database_create(server_url: str, env: dict[str, str]) -> str:
    """A fresh migrated database on ``server_url``'s server: a copy of the template for the current migrations
    (migrated here the first time, under an advisory lock so that concurrent harnesses make it once)."""
    template = f"dramatis_chaos_tpl_{_migrations_fingerprint()}"
    name = f"dramatis_chaos_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(_admin_url(server_url), autocommit=True) as admin:
        admin.execute("SELECT pg_advisory_lock(hashtext('dramatis_chaos_template'))")
        try:
            exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [template]).fetchone()
            if not exists:
                building = f"{template}_build"
                admin.execute(f'DROP DATABASE IF EXISTS "{building}" WITH (FORCE)')
                admin.execute(f'CREATE DATABASE "{building}"')
                migrate = [sys.executable, "manage.py", "migrate", "--noinput", "-v0"]
                done = subprocess.run(
                    migrate, cwd=BASE_DIR, env={**env, "DATABASE_URL": _with_database(server_url, building)},
                    capture_output=True, text=True,
                )  # fmt: skip
                if done.returncode:
                    raise RuntimeError(f"migrate failed:\n{done.stdout}\n{done.stderr}")
                admin.execute(f'ALTER DATABASE "{building}" RENAME TO "{template}"')
            admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        finally:
            admin.execute("SELECT pg_advisory_unlock(hashtext('dramatis_chaos_template'))")
    return _with_database(server_url, name)


def database_drop(database_url: str) -> None:
    name = urllib.parse.urlsplit(database_url).path.lstrip("/")
    with psycopg.connect(_admin_url(database_url), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def broker_clear(redis_url: str, queues: tuple[str, ...] = ("dramatis", "images")) -> None:
    """Drop the Celery messages a previous stack left in this Redis database (queued and unacknowledged)."""
    client = redis.Redis.from_url(redis_url)
    try:
        client.delete(*queues, "unacked", "unacked_index", "unacked_mutex")
    finally:
        client.close()


@dataclass
class Tenant:
    """What ``provision`` made: the app's key, the character and the sessions (and webhook endpoints)."""

    key: str
    character: str
    session_ids: list[str]
    endpoint_ids: list[str] = field(default_factory=list)


@dataclass
class ChaosStack:
    llm: Any = None  # an LLMStub (or anything with ``base_url``); None = the offline ``scripted`` model
    workers: int = 2
    beats: int = 1
    web_concurrency: int = 1
    worker_concurrency: int = 4
    worker_pool: str = "threads"
    database_url: str | None = None
    redis_url: str | None = None
    env: dict[str, str] = field(default_factory=dict)
    keep_database: bool = False
    app_name: str = "chaos"
    log_dir: Path = LOG_DIR

    def __post_init__(self) -> None:
        self.processes: dict[str, list[Process]] = {role: [] for role in ROLES}
        self.base_url = ""
        self.key = ""  # an API key of the app ``app_name``, made by ``start()``
        self._created_database = False
        self._stopped = False

    # --- lifecycle -------------------------------------------------------------------------------------------
    def _base_env(self) -> dict[str, str]:
        inherited = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "DJANGO_", "LLM_", "CLOCK_"))}
        inherited.pop("SQLITE_PATH", None)
        env = {
            **inherited,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DJANGO_SECRET_KEY": "chaos-test-only-secret-key",
            "DRAMATIS_VAR_DIR": str(self.log_dir / "var"),
            "PYTHONPATH": str(BASE_DIR),
            "PYTHONUNBUFFERED": "1",
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
            "RUN_EXECUTOR": "celery",
            "WORKER_CONCURRENCY": str(self.worker_concurrency),
            "WEB_CONCURRENCY": str(self.web_concurrency),
            **CHAOS_ENV,
            # A worker thread keeps its connection through the model call, so each needs one of the pool's.
            "DB_POOL_MAX_SIZE": str(max(6, self.worker_concurrency + 2)),
        }
        if self.llm is not None:
            env.update({"LLM_BASE_URL": self.llm.base_url, "LLM_API_KEY": "sk-chaos", "LLM_CHAT_MODEL": "fake-chat"})
        env.update(self.env)
        return env

    def start(self) -> ChaosStack:
        """Create the database (unless given), then start every process and wait until all are ready."""
        self.redis_url = self.redis_url or os.environ.get("REDIS_URL", "")
        server_url = self.database_url or os.environ.get("DATABASE_URL", "")
        if not self.redis_url or not server_url.startswith("postgres"):
            raise RuntimeError("A chaos stack needs PostgreSQL (DATABASE_URL) and Redis (REDIS_URL).")
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.env = self._base_env()
        self.env["REDIS_URL"] = self.redis_url
        if self.database_url is None:
            self.database_url = database_create(server_url, self.env)
            self._created_database = True
        self.env["DATABASE_URL"] = self.database_url
        broker_clear(self.redis_url)
        try:
            keys = self._api_key_start(self.app_name)  # while the servers boot
            started = [self.spawn("worker") for _ in range(self.workers)]
            started += [self.spawn("beat") for _ in range(self.beats)]
            started.append(self.spawn("web"))
            for process in started:
                self.await_ready(process)
            self.key = self._api_key_read(keys)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """SIGKILL every process group (a chaos stack owes nothing to a graceful shutdown, and the next start
        clears what the broker kept), then drop the database we created."""
        if self._stopped:
            return
        self._stopped = True
        everything = [process for role in ROLES for process in self.processes[role]]
        for process in everything:
            process.kill(signal.SIGKILL)
        for process in everything:
            with suppress(subprocess.TimeoutExpired):
                process.popen.wait(timeout=10)
        if self._created_database and not self.keep_database:
            with suppress(psycopg.Error):
                database_drop(self.database_url)

    def __enter__(self) -> ChaosStack:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # --- processes -------------------------------------------------------------------------------------------
    def _command(self, role: str, index: int) -> tuple[str, dict[str, str]]:
        line, extra = procfile_line(role), {}
        tag = f"{role}{index + 1}-{uuid.uuid4().hex[:6]}"
        if role == "web":
            port = free_port()
            self.base_url = f"http://127.0.0.1:{port}"
            extra["PORT"] = str(port)
        elif role == "worker":
            line += f" -n chaos-{tag}@127.0.0.1 --without-heartbeat"
            if self.worker_pool != "threads":
                line += f" --pool {self.worker_pool}"
        elif role == "beat":
            line += f" -s {self.log_dir / ('schedule-' + tag)}"  # two beats must not share a schedule file
        return line, extra

    def spawn(self, role: str, index: int | None = None) -> Process:
        """Start one process of ``role`` (a new one, or in slot ``index``); ``await_ready`` waits for it."""
        slots = self.processes[role]
        index = len(slots) if index is None else index
        line, extra = self._command(role, index)
        log_path = self.log_dir / f"{role}{index + 1}-{uuid.uuid4().hex[:8]}.log"
        with log_path.open("wb") as log_file:
            popen = subprocess.Popen(
                ["bash", "-c", f"exec {line}"], cwd=BASE_DIR, env={**self.env, **extra},
                stdin=subprocess.DEVNULL, stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        process = Process(f"{role}{index + 1}", popen, log_path)
        if index < len(slots):
            slots[index] = process
        else:
            slots.append(process)
        return process

    def await_ready(self, process: Process, timeout: float = START_TIMEOUT) -> None:
        role = re.sub(r"\d+$", "", process.name)

        def ready() -> bool:
            if not process.alive():
                raise RuntimeError(f"{process.name} exited during start-up.\n{self.logs()}")
            if role == "web":
                try:
                    with urllib.request.urlopen(f"{self.base_url}/v1/llms.txt", timeout=2) as response:
                        return response.status == 200
                except (urllib.error.URLError, ConnectionError, TimeoutError):
                    return False
            marker = " ready." if role == "worker" else "beat: Starting"
            return marker in process.log()

        self.wait_for(ready, timeout=timeout, what=f"{process.name} to be ready")

    def kill(self, role: str, index: int = 0, sig: int = signal.SIGKILL) -> Process:
        """``kill -9`` the main process of ``role`` number ``index`` (its children, if any, live on)."""
        process = self.processes[role][index]
        with suppress(ProcessLookupError):
            os.kill(process.pid, sig)
        with suppress(subprocess.TimeoutExpired):
            process.popen.wait(timeout=10)
        return process

    def children(self, role: str, index: int = 0) -> list[int]:
        """The PIDs of a process's children (a prefork worker's pool)."""
        pid = self.processes[role][index].pid
        found = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                with suppress(OSError, IndexError):
                    stat = (entry / "stat").read_text()
                    if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                        found.append(int(entry.name))
        return sorted(found)

    def kill_child(self, role: str = "worker", index: int = 0, *, child: int = 0) -> int:
        """``kill -9`` one pool child of a prefork worker; returns its PID."""
        children = self.children(role, index)
        if not children:
            raise RuntimeError(f"{role}{index + 1} has no child processes (pool {self.worker_pool}).")
        pid = children[child % len(children)]
        os.kill(pid, signal.SIGKILL)
        return pid

    def restart(self, role: str, index: int = 0) -> Process:
        """Kill what is left of process ``index``'s group and start a new one in its place, once ready."""
        self.processes[role][index].kill(signal.SIGKILL)
        with suppress(subprocess.TimeoutExpired):
            self.processes[role][index].popen.wait(timeout=10)
        process = self.spawn(role, index)
        self.await_ready(process)
        return process

    def add(self, role: str) -> Process:
        """One more process of ``role``, once ready."""
        process = self.spawn(role)
        self.await_ready(process)
        return process

    def logs(self) -> str:
        parts = []
        for role in ROLES:
            for process in self.processes[role]:
                state = "running" if process.alive() else f"exited {process.popen.returncode}"
                parts.append(f"----- {process.name} (pid {process.pid}, {state}) {process.log_path} -----\n")
                parts.append(process.log()[-4000:])
        return "".join(parts)

    def wait_for(self, predicate: Callable[[], Any], *, timeout: float = 30.0, what: str) -> Any:
        """Poll until truthy; a deadline that bounds a hang (fails with the processes' logs), not a timing."""
        return wait_for(predicate, timeout=timeout, what=what, logs=self.logs)

    # --- reading the stack ----------------------------------------------------------------------------------
    def sql(self, query: str, params: Any = None) -> list[tuple]:
        """Rows of one query on the stack's database (a short-lived connection of the harness's own)."""
        with psycopg.connect(self.database_url, autocommit=True) as conn:
            return conn.execute(query, params).fetchall()

    def broker_settings(self) -> dict[str, float]:
        """The visibility timeout and unacked sweep interval a process of this stack actually gets from Kombu
        (read from an opened broker channel, in a process started with the stack's environment)."""
        probe = (
            "import django; django.setup()\n"
            "from config.celery_app import app\n"
            "with app.connection_for_read() as conn:\n"
            "    channel = conn.default_channel\n"
            "    print(channel.visibility_timeout, channel.unacked_restore_interval)\n"
        )
        done = subprocess.run(
            [sys.executable, "-c", probe], cwd=BASE_DIR, env=self.env, capture_output=True, text=True, timeout=60
        )
        if done.returncode:
            raise RuntimeError(done.stderr)
        visibility, restore = done.stdout.split()
        return {"visibility_timeout": float(visibility), "unacked_restore_interval": float(restore)}

    def client(self, key: str | None = None) -> LiveClient:
        return LiveClient(self.base_url, key)

    # --- tenants ---------------------------------------------------------------------------------------------
    def _api_key_start(self, app_name: str) -> subprocess.Popen:
        command = [sys.executable, "manage.py", "createapikey", "--app", app_name]
        return subprocess.Popen(command, cwd=BASE_DIR, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    def _api_key_read(self, started: subprocess.Popen) -> str:
        out, err = started.communicate(timeout=60)
        if started.returncode:
            raise RuntimeError(f"createapikey failed: {err.decode(errors='replace')}")
        return out.decode().strip()

    def api_key(self, app_name: str) -> str:
        """A new key for ``app_name`` (the app is created when missing), the way an operator makes one.
        ``start()`` makes one for ``app_name`` (the stack's field) while the servers boot: ``stack.key``."""
        return self._api_key_read(self._api_key_start(app_name))

    def provision(
        self,
        *,
        sessions: int = 1,
        app_name: str | None = None,
        character: str = "chaos-hero",
        webhooks: list[str] = (),
        session_fields: dict[str, Any] | None = None,
    ) -> Tenant:
        """A published character, ``sessions`` sessions and one app-wide webhook endpoint per URL in ``webhooks``
        (signed with ``SIGNING_SECRET``), through the public API, for the app of ``stack.key`` (or a new key of
        ``app_name``). A second call on one app needs another ``character`` slug."""
        key = self.api_key(app_name) if app_name else self.key
        api = self.client(key)
        body = {"slug": character, "display_name": "Chaos Hero", "profile": {"summary": "A patient listener."}}
        published = api.post("/v1/characters", body)
        if published.status not in (200, 201):
            raise RuntimeError(f"character publish: {published.status} {published.body}")
        endpoint_ids = []
        for url in webhooks:
            made = api.post("/v1/webhook-endpoints", {"url": url, "secret": SIGNING_SECRET})
            if made.status != 201:
                raise RuntimeError(f"webhook endpoint: {made.status} {made.body}")
            endpoint_ids.append(made.data["channel_id"])
        session_ids = []
        for index in range(sessions):
            fields = {"character": character, "external_user_ref": f"user-{index}", **(session_fields or {})}
            made = api.post("/v1/sessions", fields)
            if made.status != 201:
                raise RuntimeError(f"session create: {made.status} {made.body}")
            session_ids.append(made.data["session_id"])
        return Tenant(key=key, character=character, session_ids=session_ids, endpoint_ids=endpoint_ids)

    def invariants(self, **kwargs):
        """The invariant checker over this stack's database (tests/chaos/invariants.py)."""
        from tests.chaos.invariants import invariants_check

        lease = float(self.env["RUN_LEASE_SECONDS"])
        return invariants_check(self.database_url, lease_seconds=lease, **kwargs)
