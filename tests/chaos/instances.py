"""Private PostgreSQL and Redis servers for the outage scenarios: each in its own temporary directory on a
spare loopback port, so a scenario can stop, restart or flush it while the machine's shared servers (which
other test runs use at the same time) are never touched.

PostgreSQL's binaries come from ``/usr/lib/postgresql/<version>/bin`` (or PATH); run as root, its commands run as
the ``postgres`` system user (``runuser``), since PostgreSQL refuses to run as root. Both are context managers.
Every server process is remembered by PID and killed at ``stop()``, at the context's exit (even when the
scenario failed) and, as a last resort, when the test process exits.
"""

from __future__ import annotations

import atexit
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from contextlib import suppress
from pathlib import Path

START_TIMEOUT = 30.0

_live_pids: set[int] = set()


def _kill_leftovers() -> None:
    for pid in list(_live_pids):
        with suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)


atexit.register(_kill_leftovers)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child still answers signal 0; reap it if it is ours.
    with suppress(ChildProcessError):
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return False
    return True


def _wait_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while _pid_alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def _accepts(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def postgres_bin_dir() -> Path:
    """The newest PostgreSQL server binaries installed (Debian keeps them out of PATH)."""
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda path: int(path.parent.name.split(".")[0]))
    for directory in reversed(candidates):
        if (directory / "pg_ctl").exists():
            return directory
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).parent
    raise RuntimeError("No PostgreSQL server binaries (pg_ctl, initdb) found.")


def _server_user() -> list[str]:
    """PostgreSQL refuses to run as root: as root, its commands run as the ``postgres`` system user."""
    if os.geteuid() != 0:
        return []
    runuser = shutil.which("runuser")
    if runuser is None:
        raise RuntimeError("Running as root without runuser: cannot start PostgreSQL as an unprivileged user.")
    return [runuser, "-u", "postgres", "--"]


class PrivatePostgres:
    """A throw-away PostgreSQL cluster: ``initdb`` into a temp dir, served on ``port`` with fsync off."""

    def __init__(self, *, database: str = "dramatis", port: int | None = None) -> None:
        self.database = database
        self.port = port or free_port()
        self.bin = postgres_bin_dir()
        self.dir = Path(tempfile.mkdtemp(prefix="dramatis-pg-"))
        self.data = self.dir / "data"
        self.log_path = self.dir / "postgres.log"
        self.pid: int | None = None
        self.as_owner = _server_user()
        if self.as_owner:
            owner = pwd.getpwnam("postgres")
            os.chown(self.dir, owner.pw_uid, owner.pw_gid)

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{self.database}"

    def _run(self, *argv: str) -> None:
        completed = subprocess.run(
            [*self.as_owner, *argv], capture_output=True, text=True, timeout=START_TIMEOUT, check=False
        )
        if completed.returncode:
            raise RuntimeError(f"{' '.join(argv)} failed:\n{completed.stdout}{completed.stderr}\n{self.log()}")

    def log(self) -> str:
        with suppress(FileNotFoundError):
            return self.log_path.read_text(errors="replace")[-4000:]
        return ""

    def setup(self) -> PrivatePostgres:
        self._run(
            str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
            "--no-sync", "--no-instructions",
        )  # fmt: skip
        self.start()
        self._run(str(self.bin / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", self.database)
        return self

    def start(self) -> None:
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=60"
        self._run(
            str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.log_path), "-w",
            "-t", str(int(START_TIMEOUT)), "-o", options, "start",
        )  # fmt: skip
        self.pid = int((self.data / "postmaster.pid").read_text().split()[0])
        _live_pids.add(self.pid)

    def stop(self, *, crash: bool = False) -> None:
        """Stop the server: a fast shutdown (clients are disconnected, like a service restart), or with
        ``crash`` a SIGKILL of the postmaster (its backends notice and exit)."""
        if self.pid is None:
            return
        pid, self.pid = self.pid, None
        with suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL if crash else signal.SIGINT)  # SIGINT is PostgreSQL's "fast" shutdown
        if not _wait_gone(pid, 20.0):
            with suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            _wait_gone(pid, 5.0)
        _live_pids.discard(pid)
        if crash:  # orphaned backends finish on their own once the postmaster is gone; wait for the port
            deadline = time.monotonic() + 10.0
            while _accepts(self.port) and time.monotonic() < deadline:
                time.sleep(0.05)
            (self.data / "postmaster.pid").unlink(missing_ok=True)

    def restart(self, *, down_seconds: float = 0.0) -> None:
        self.stop()
        time.sleep(down_seconds)
        self.start()

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> PrivatePostgres:
        try:
            return self.setup()
        except BaseException:
            self.close()
            raise

    def __exit__(self, *exc_info) -> None:
        self.close()


class PrivateRedis:
    """A throw-away ``redis-server`` with no persistence: a restart or a ``FLUSHALL`` loses everything."""

    def __init__(self, *, port: int | None = None) -> None:
        self.port = port or free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="dramatis-redis-"))
        self.log_path = self.dir / "redis.log"
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    def log(self) -> str:
        with suppress(FileNotFoundError):
            return self.log_path.read_text(errors="replace")[-4000:]
        return ""

    def start(self) -> None:
        argv = [
            shutil.which("redis-server") or "redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
            "--save", "", "--appendonly", "no", "--dir", str(self.dir), "--logfile", str(self.log_path),
            "--daemonize", "no", "--maxmemory-policy", "noeviction",
        ]  # fmt: skip
        self.process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, start_new_session=True)
        _live_pids.add(self.process.pid)
        deadline = time.monotonic() + START_TIMEOUT
        while not self._pings():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"redis-server did not come up on port {self.port}:\n{self.log()}")
            time.sleep(0.05)

    def _pings(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self, *, crash: bool = False) -> None:
        """SIGTERM (or SIGKILL with ``crash``) by PID, then wait for the process to be gone."""
        if self.process is None:
            return
        process, self.process = self.process, None
        with suppress(ProcessLookupError):
            process.send_signal(signal.SIGKILL if crash else signal.SIGTERM)
        try:
            process.wait(timeout=10.0)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5.0)
        _live_pids.discard(process.pid)

    def restart(self, *, down_seconds: float = 0.0, crash: bool = False) -> None:
        self.stop(crash=crash)
        time.sleep(down_seconds)
        self.start()

    def flushall(self) -> None:
        import redis

        client = redis.Redis.from_url(self.url, socket_timeout=5)
        try:
            client.flushall()
        finally:
            client.close()

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> PrivateRedis:
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()
