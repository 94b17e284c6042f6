"""Real processes for ``@pytest.mark.live`` tests: the system on 127.0.0.1, against the test database.

The mode follows the test process's environment, like the rest of the suite:

- embedded (no ``REDIS_URL``): one ``manage.py serve --no-migrate`` process (daphne, in-process worker
  and scheduler, in-memory channel layer, the ``scripted`` model), pointed at the test SQLite file
  with ``SQLITE_PATH``;
- production (``REDIS_URL`` set, as in CI): ``daphne config.asgi:application`` plus Celery worker
  processes on the ``dramatis`` queue, with ``DATABASE_URL`` naming the test database.

Tests that use a stack must also use ``transactional_db``, so that what they write is committed and
visible to the processes. Every process runs in its own process group and is killed by PID at
teardown, even when the test fails; when a process does not come up, its log is in the error.

Fixtures: ``live_stack`` (one per module; the module may set ``LIVE_ENV = {...}`` for the processes'
environment), ``live_stack_factory`` (extra stacks with their own environment, stopped after the test) and
``model`` (a fake OpenAI-compatible server in the test process on the module's ``MODEL_PORT``; the module
sets ``LIVE_ENV = fake_model_env(MODEL_PORT)`` so that the stack's model is that server).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.db import connection

BASE_DIR = Path(settings.BASE_DIR)
PRODUCTION = bool(settings.REDIS_URL)
MODE = "production" if PRODUCTION else "embedded"
BIN = Path(sys.executable).parent
START_TIMEOUT = 40.0
LOG_KEEP_SECONDS = 6 * 3600


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(predicate: Callable[[], Any], *, timeout: float, what: str, logs: Callable[[], str] = str) -> Any:
    """Poll ``predicate`` until it returns something truthy; fail with ``what`` and the logs after ``timeout``.

    A deadline, not a timed assertion: it only bounds how long a broken system can hang the suite.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"Timed out after {timeout:.0f}s waiting for {what}.\n{logs()}", pytrace=False)
        time.sleep(0.05)


@dataclass
class Process:
    """One child process in its own process group, logging to a file."""

    name: str
    popen: subprocess.Popen
    log_path: Path

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Signal the whole process group (a Celery worker's pool children too)."""
        with suppress(ProcessLookupError):
            os.killpg(self.popen.pid, sig)

    def stop(self, grace: float = 5.0) -> None:
        if self.alive():
            self.kill(signal.SIGTERM)
            with suppress(subprocess.TimeoutExpired):
                self.popen.wait(timeout=grace)
        self.kill(signal.SIGKILL)  # stragglers in the group, even when the leader is gone
        with suppress(subprocess.TimeoutExpired):
            self.popen.wait(timeout=grace)


def _database_env() -> dict[str, str]:
    """Point a child process at the database pytest-django created for this test run."""
    db = connection.settings_dict
    if db["ENGINE"] == "django.db.backends.sqlite3":
        return {"SQLITE_PATH": str(db["NAME"])}
    if db["ENGINE"] == "django.db.backends.postgresql":
        auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
        host = db.get("HOST") or "127.0.0.1"
        port = db.get("PORT") or 5432
        return {"DATABASE_URL": f"postgres://{auth}@{host}:{port}/{db['NAME']}"}
    raise RuntimeError(f"Live tests do not know how to share a {db['ENGINE']} database.")


@dataclass
class LiveStack:
    """The running system: ``base_url`` for HTTP, the processes, and ways to add or kill workers."""

    env: dict[str, str]
    base_url: str = ""
    processes: list[Process] = field(default_factory=list)
    log_dir: Path = field(default_factory=lambda: Path(settings.VAR_DIR) / "live-logs")

    mode = MODE

    def logs(self) -> str:
        parts = []
        for process in self.processes:
            state = "running" if process.alive() else f"exited {process.popen.returncode}"
            parts.append(f"----- {process.name} (pid {process.pid}, {state}) {process.log_path} -----\n")
            parts.append(process.log()[-6000:])
        return "".join(parts)

    def wait_for(self, predicate: Callable[[], Any], *, timeout: float = 20.0, what: str) -> Any:
        return wait_for(predicate, timeout=timeout, what=what, logs=self.logs)

    def _spawn(self, name: str, argv: list[str], extra_env: dict[str, str] | None = None) -> Process:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        for old in self.log_dir.iterdir():  # keep recent logs for post-mortems, not every run's
            if old.stat().st_mtime < time.time() - LOG_KEEP_SECONDS:
                old.unlink(missing_ok=True)
        log_path = self.log_dir / f"{name}-{uuid.uuid4().hex[:8]}.log"
        with log_path.open("wb") as log_file:
            popen = subprocess.Popen(
                argv,
                cwd=BASE_DIR,
                env={**self.env, **(extra_env or {})},
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group, so teardown can kill all of it
            )
        process = Process(name, popen, log_path)
        self.processes.append(process)
        return process

    def await_http(self, process: Process) -> None:
        """Wait until the web process answers HTTP."""

        def up() -> bool:
            if not process.alive():
                pytest.fail(f"{process.name} exited during start-up.\n{self.logs()}", pytrace=False)
            try:
                with urllib.request.urlopen(f"{self.base_url}/v1/llms.txt", timeout=2) as response:
                    return response.status == 200
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                return False

        self.wait_for(up, timeout=START_TIMEOUT, what=f"{process.name} to answer HTTP at {self.base_url}")

    def spawn_web(self) -> Process:
        port = free_port()
        self.base_url = f"http://127.0.0.1:{port}"
        if PRODUCTION:
            argv = [str(BIN / "daphne"), "-b", "127.0.0.1", "-p", str(port), "config.asgi:application"]
            process = self._spawn("daphne", argv)
        else:
            argv = [sys.executable, "manage.py", "serve", "--no-migrate", "--host", "127.0.0.1", "--port", str(port)]
            process = self._spawn("serve", argv)
        return process

    def spawn_worker(
        self, name: str = "worker", *, beat: bool = False, extra_env: dict[str, str] | None = None, queues: str = ""
    ):
        """Start a Celery worker (production mode) on the ``dramatis`` queue (or ``queues``, comma-separated, e.g.
        ``images`` for the drawing jobs), optionally with embedded beat."""
        assert PRODUCTION, "Celery workers run only in production mode"
        argv = [
            str(BIN / "celery"), "-A", "config", "worker", "-l", "info", "-P", "threads", "-c", "2",
            "-Q", queues or settings.CELERY_TASK_DEFAULT_QUEUE, "-n", f"{name}-{uuid.uuid4().hex[:8]}@127.0.0.1",
            "--without-gossip", "--without-mingle", "--without-heartbeat",
        ]  # fmt: skip
        if beat:
            argv += ["-B", "-s", str(self.log_dir / f"beat-{uuid.uuid4().hex[:8]}")]
        return self._spawn(name, argv, extra_env)

    def await_worker(self, process: Process) -> None:
        """Wait until the worker has connected to the broker and consumes."""

        def ready() -> bool:
            if not process.alive():
                pytest.fail(f"{process.name} exited during start-up.\n{self.logs()}", pytrace=False)
            return " ready." in process.log()

        self.wait_for(ready, timeout=START_TIMEOUT, what=f"{process.name} to be ready")

    def start_worker(self, name: str = "worker", **kwargs) -> Process:
        """A Celery worker, once it is ready."""
        process = self.spawn_worker(name, **kwargs)
        self.await_worker(process)
        return process

    def stop(self) -> None:
        """SIGTERM every process at once, then SIGKILL each group after a short grace."""
        for process in self.processes:
            if process.alive():
                process.kill(signal.SIGTERM)
        deadline = time.monotonic() + 5.0
        for process in self.processes:
            process.stop(grace=max(0.1, deadline - time.monotonic()))

    def client(self, key: str | None = None) -> LiveClient:
        return LiveClient(self.base_url, key)


@dataclass
class LiveResponse:
    status: int
    body: Any
    headers: dict[str, str]

    @property
    def data(self) -> Any:
        return self.body["data"]


@dataclass
class LiveClient:
    """A JSON client over real HTTP (urllib: a real socket per request, like any integrator's client)."""

    base_url: str
    key: str | None = None

    def request(self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(f"{self.base_url}{path}", data=data, method=method)
        request.add_header("Accept", "application/json")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        if self.key:
            request.add_header("Authorization", f"Bearer {self.key}")
        for name, value in (headers or {}).items():
            request.add_header(name, value)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                raw, status, response_headers = response.read(), response.status, dict(response.headers)
        except urllib.error.HTTPError as error:
            raw, status, response_headers = error.read(), error.code, dict(error.headers)
        return LiveResponse(status, json.loads(raw) if raw else None, response_headers)

    def get(self, path: str, **kwargs) -> LiveResponse:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, body: Any = None, **kwargs) -> LiveResponse:
        return self.request("POST", path, body, **kwargs)

    def events(self, session_id: str, since: int = 0) -> list[dict]:
        """The whole event log after ``since``, following ``next_cursor``."""
        events: list[dict] = []
        while True:
            page = self.get(f"/v1/sessions/{session_id}/events?since={since}&limit=500")
            assert page.status == 200, page.body
            events += page.data["events"]
            if not page.data["events"]:
                return events
            since = page.data["next_cursor"]


def _base_env(overrides: dict[str, str]) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if not name.startswith(("PYTEST_", "DJANGO_SETTINGS"))}
    for name in ("DATABASE_URL", "SQLITE_PATH", "RUN_EXECUTOR"):
        env.pop(name, None)
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DJANGO_SECRET_KEY": env.get("DJANGO_SECRET_KEY") or "live-test-secret-key",
            "DRAMATIS_VAR_DIR": str(settings.VAR_DIR),
            "PYTHONUNBUFFERED": "1",
            "DEMO_SANDBOX_ENABLED": "true",
            "DEMO_SANDBOX_ISSUE_PER_HOUR": "1000",
            **_database_env(),
        }
    )
    if PRODUCTION:
        env.update({"REDIS_URL": settings.REDIS_URL, "RUN_EXECUTOR": "celery"})
    env.update(overrides)
    return env


def _broker_purge() -> None:
    """Drop tasks a previous run left on this broker, so a new worker starts on an empty queue."""
    from config.celery_app import app as celery_app

    with celery_app.connection_for_write() as conn:
        conn.default_channel.queue_purge(settings.CELERY_TASK_DEFAULT_QUEUE)


@contextmanager
def live_stack_started(*, env: dict[str, str] | None = None, web: bool = True, workers: int = 1) -> Iterator[LiveStack]:
    """Start a stack (web, plus ``workers`` Celery workers in production mode) and stop it afterwards."""
    stack = LiveStack(env=_base_env(env or {}))
    try:
        workers_started = []
        if PRODUCTION:
            _broker_purge()
            workers_started = [stack.spawn_worker(f"worker{index + 1}") for index in range(workers)]
        server = stack.spawn_web() if web else None
        for worker in workers_started:  # all processes start in parallel; wait for each in turn
            stack.await_worker(worker)
        if server is not None:
            stack.await_http(server)
        yield stack
    finally:
        stack.stop()


@pytest.fixture(scope="module")
def live_stack(request, django_db_setup, django_db_blocker) -> Iterator[LiveStack]:
    """The system running as real processes for the whole module (use with ``transactional_db``)."""
    with django_db_blocker.unblock(), live_stack_started(env=getattr(request.module, "LIVE_ENV", None)) as stack:
        yield stack


@pytest.fixture
def live_stack_factory(django_db_setup, django_db_blocker) -> Iterator[Callable[..., LiveStack]]:
    """Start extra stacks with their own environment inside a test; all are stopped after it."""
    stacks: list[Any] = []

    def start(**kwargs) -> LiveStack:
        manager = live_stack_started(**kwargs)
        stacks.append(manager)
        with django_db_blocker.unblock():
            return manager.__enter__()

    yield start
    for manager in reversed(stacks):
        manager.__exit__(None, None, None)


def fake_model_env(port: int) -> dict[str, str]:
    """The environment that makes a stack's model the fake OpenAI-compatible server on ``port`` (``model``)."""
    from tests.fakes.openai_server import DEFAULT_MODEL

    return {
        "LLM_BASE_URL": f"http://127.0.0.1:{port}/v1",
        "LLM_API_KEY": "sk-live-fake",
        "LLM_CHAT_MODEL": DEFAULT_MODEL,
    }


@pytest.fixture(scope="module")
def model(request) -> Iterator[Any]:
    """A fake OpenAI-compatible server in this process on the module's ``MODEL_PORT``, for the whole module: the
    stack reaches it when the module's ``LIVE_ENV`` is ``fake_model_env(MODEL_PORT)``. Hold a stream with
    ``model.set_mode("stream_hold")`` and let it go with ``model.release_streams()``."""
    from tests.fakes.openai_server import FakeOpenAIServer

    with FakeOpenAIServer(port=request.module.MODEL_PORT) as server:
        yield server
