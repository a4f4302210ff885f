"""Real PostgreSQL 15 and Redis servers on free loopback ports, for the test suite.

Each server is a child process of the tests, in its own process group, stopped by its pid.
Nothing here uses a PostgreSQL or Redis that the machine may already run as a service.
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Self

from tests.support.server import free_port

POSTGRES_BIN = Path("/usr/lib/postgresql/15/bin")
# PostgreSQL refuses to run as root; as root the tests run it as this Debian system user.
POSTGRES_SYSTEM_USER = "postgres"
POSTGRES_ROLE = "parley"  # the superuser, its password and the default database
# Several Parley processes, each with a connection pool, share one server in the tests.
POSTGRES_MAX_CONNECTIONS = 300
# Durability costs time and buys nothing for a server that is thrown away after the tests.
POSTGRES_FAST_SETTINGS = {
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": str(POSTGRES_MAX_CONNECTIONS),
}
DATABASE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")

START_TIMEOUT_SECONDS = 30.0
STOP_TIMEOUT_SECONDS = 15.0
POLL_SECONDS = 0.05


class PostgresServer:
    """A throwaway PostgreSQL 15 cluster listening on 127.0.0.1 only.

    `start()` creates a fresh cluster with a `parley` superuser (password `parley`) and a
    `parley` database; `stop()` shuts it down and deletes it, data included (a later
    `start()` makes a new, empty one on the same port); `halt()` and `resume()` stop and
    start it again with its data, as a restarted database server. As root, the cluster
    belongs to the `postgres` system user, and lives in `base_dir` only if that user can
    reach it: else in the system temp folder (pytest's temp folders are mode 0700).
    """

    def __init__(self, base_dir: Path, settings: dict[str, str] | None = None) -> None:
        self.base_dir = base_dir
        self.port = free_port()
        # Server settings over the fast ones (the benchmark turns durability back on).
        self.settings = {**POSTGRES_FAST_SETTINGS, **(settings or {})}
        self.folder: Path | None = None
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The `parley` database, as a plain `postgresql://` URL."""
        return self.database_url(POSTGRES_ROLE)

    def database_url(self, name: str) -> str:
        return f"postgresql://{POSTGRES_ROLE}:{POSTGRES_ROLE}@127.0.0.1:{self.port}/{name}"

    def start(self, timeout: float = START_TIMEOUT_SECONDS) -> None:
        """Create the cluster, start it and wait until it accepts connections.

        Raises:
            RuntimeError: a tool failed, or the server exited or was not ready within
                `timeout`; the message holds the output or the server's log. Whatever
                was started is stopped and deleted first.
        """
        as_postgres = os.geteuid() == 0
        self.folder = folder = self._make_folder(as_postgres)
        try:
            self._create_cluster(folder, as_postgres)
            self._launch(folder, as_postgres, timeout)
            self.create_database(POSTGRES_ROLE)
        except BaseException:
            self.stop()
            raise

    def _create_cluster(self, folder: Path, as_postgres: bool) -> None:
        """initdb: a `parley` superuser, trusted on the unix socket, password over TCP."""
        password_file = folder / "password"
        password_file.write_text(POSTGRES_ROLE)
        if as_postgres:
            account = _postgres_account()
            os.chown(password_file, account.pw_uid, account.pw_gid)
        command = [
            str(POSTGRES_BIN / "initdb"),
            f"--pgdata={folder / 'data'}",
            f"--username={POSTGRES_ROLE}",
            f"--pwfile={password_file}",
            "--auth-local=trust",
            "--auth-host=scram-sha-256",
            "--encoding=UTF8",
            "--no-locale",
            "--no-sync",
        ]
        self._run(command, as_postgres)

    def _launch(self, folder: Path, as_postgres: bool, timeout: float) -> None:
        """Start the postmaster itself (exec'd, so that `process.pid` is its pid)."""
        settings = {
            **self.settings,
            "listen_addresses": "127.0.0.1",
            "port": str(self.port),
            "unix_socket_directories": str(folder / "data"),
        }
        command = [str(POSTGRES_BIN / "postgres"), "-D", str(folder / "data")]
        for name, value in settings.items():
            command += ["-c", f"{name}={value}"]
        log_path = folder / "postgres.log"
        with open(log_path, "ab") as log:
            self.process = subprocess.Popen(
                _as_postgres(command) if as_postgres else command,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=_client_env(),
                start_new_session=True,
            )
        try:
            _wait_until(self._is_ready, self.process, timeout, "PostgreSQL")
        except RuntimeError as error:
            raise _failed_start("PostgreSQL", error, log_path) from None

    def create_database(self, name: str) -> str:
        """Create an empty database owned by `parley` and return its URL.

        Raises:
            ValueError: `name` is not a plain lower-case SQL identifier.
        """
        if not DATABASE_NAME.match(name):
            raise ValueError(f"not a plain database name: {name!r}")
        self._run([str(POSTGRES_BIN / "createdb"), *self._client_options(), name], False)
        return self.database_url(name)

    def halt(self, timeout: float = STOP_TIMEOUT_SECONDS) -> None:
        """Shut down (fast: open sessions are cut) and keep the data for `resume()`."""
        if self.process is not None:
            _stop(self.process, signal.SIGINT, timeout)  # SIGINT: PostgreSQL's fast shutdown
            self.process = None

    def resume(self, timeout: float = START_TIMEOUT_SECONDS) -> None:
        """Start the halted cluster again, data and port unchanged."""
        assert self.folder is not None and self.process is None, "not halted"
        self._launch(self.folder, os.geteuid() == 0, timeout)

    def stop(self, timeout: float = STOP_TIMEOUT_SECONDS) -> None:
        """Shut down (fast: open sessions are cut) and delete the cluster."""
        self.halt(timeout)
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)
            self.folder = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def _make_folder(self, as_postgres: bool) -> Path:
        """A new folder for the cluster, which the user running PostgreSQL owns."""
        self.base_dir.mkdir(parents=True, exist_ok=True)
        if not as_postgres:
            return Path(tempfile.mkdtemp(prefix="postgres-", dir=self.base_dir))
        parent = self.base_dir if _reachable_by_anyone(self.base_dir) else None
        folder = Path(tempfile.mkdtemp(prefix="parley-postgres-", dir=parent))
        account = _postgres_account()
        os.chown(folder, account.pw_uid, account.pw_gid)
        folder.chmod(0o755)
        return folder

    def _client_options(self) -> list[str]:
        return ["--host=127.0.0.1", f"--port={self.port}", f"--username={POSTGRES_ROLE}"]

    def _is_ready(self) -> bool:
        command = [str(POSTGRES_BIN / "pg_isready"), "--quiet", *self._client_options()]
        return subprocess.run(command, env=_client_env(), check=False, timeout=5).returncode == 0

    def _run(self, command: list[str], as_postgres: bool) -> None:
        """Run a PostgreSQL tool to completion, raising with its output when it fails."""
        result = subprocess.run(
            _as_postgres(command) if as_postgres else command,
            env=_client_env(),
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
        )
        if result.returncode != 0:
            raise RuntimeError(f"{command[0]} failed:\n{result.stdout}{result.stderr}")


class RedisServer:
    """A Redis server on 127.0.0.1 only, keeping nothing on disk.

    It may be stopped and started again: it comes back on the same port, empty.
    """

    def __init__(self, base_dir: Path) -> None:
        self.folder = base_dir / "redis"
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = START_TIMEOUT_SECONDS) -> None:
        """Start the server and wait until it answers PING.

        Raises:
            RuntimeError: `redis-server` is missing, exited, or did not answer within
                `timeout`; the message holds its log.
        """
        executable = shutil.which("redis-server")
        if executable is None:
            raise RuntimeError("redis-server is not installed: run `make test-services`")
        self.folder.mkdir(parents=True, exist_ok=True)
        log_path = self.folder / "redis.log"
        command = [
            executable,
            "--bind", "127.0.0.1",
            "--port", str(self.port),
            "--protected-mode", "yes",
            "--save", "",
            "--appendonly", "no",
            "--dir", str(self.folder),
            "--daemonize", "no",
        ]  # fmt: skip
        with open(log_path, "ab") as log:
            self.process = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        try:
            _wait_until(self._is_ready, self.process, timeout, "Redis")
        except RuntimeError as error:
            self.stop()
            raise _failed_start("Redis", error, log_path) from None

    def stop(self, timeout: float = STOP_TIMEOUT_SECONDS) -> None:
        """Stop the server; its data is gone, its folder and log stay for a later start."""
        if self.process is not None:
            self.process.send_signal(signal.SIGCONT)  # a hung server could not stop
            _stop(self.process, signal.SIGTERM, timeout)
            self.process = None

    def hang(self) -> None:
        """Freeze the server (SIGSTOP): connections stay open and nothing answers."""
        assert self.process is not None, "not started"
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        assert self.process is not None, "not started"
        self.process.send_signal(signal.SIGCONT)

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def _is_ready(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1.0) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(64).startswith(b"+PONG")
        except OSError:
            return False


def _postgres_account() -> pwd.struct_passwd:
    try:
        return pwd.getpwnam(POSTGRES_SYSTEM_USER)
    except KeyError:
        raise RuntimeError(
            f"no `{POSTGRES_SYSTEM_USER}` user to run PostgreSQL as (it refuses root): "
            "install the Debian package postgresql-15"
        ) from None


def _as_postgres(command: list[str]) -> list[str]:
    """The command exec'd as the postgres user (setpriv execs: no extra parent process)."""
    user = POSTGRES_SYSTEM_USER
    return ["setpriv", f"--reuid={user}", f"--regid={user}", "--init-groups", "--", *command]


def _client_env() -> dict[str, str]:
    """This environment without the caller's PG* settings, plus the test password."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    return {**env, "PGPASSWORD": POSTGRES_ROLE}


def _reachable_by_anyone(path: Path) -> bool:
    """Whether every user may traverse `path` and each of its parents."""
    return all(p.stat().st_mode & stat.S_IXOTH for p in (path, *path.parents))


def _wait_until(
    ready: Callable[[], bool], process: subprocess.Popen[bytes], timeout: float, name: str
) -> None:
    """Poll `ready` until it holds, at most `timeout` seconds; raise if the server exits."""
    deadline = time.monotonic() + timeout
    for _ in range(int(timeout / POLL_SECONDS) + 1):
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited with status {process.returncode}")
        if ready():
            return
        if time.monotonic() > deadline:
            break
        time.sleep(POLL_SECONDS)
    raise RuntimeError(f"{name} was not ready within {timeout:g} s")


def _failed_start(name: str, error: Exception, log_path: Path) -> RuntimeError:
    """The error for a server that failed to start, with its log."""
    log = log_path.read_text(errors="replace") if log_path.exists() else "(no log)"
    return RuntimeError(f"{name} did not start: {error}\n{log}")


def _stop(process: subprocess.Popen[bytes], sig: int, timeout: float) -> None:
    """Send `sig` to this one process, then SIGKILL if it outlives `timeout`."""
    if process.poll() is not None:
        return
    process.send_signal(sig)
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout)
