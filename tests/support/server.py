"""A real `parley serve` process on a free loopback port, for integration tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
PARLEY = ROOT / ".venv" / "bin" / "parley"

# Fast settings: tests must not wait on production-sized hashes, timers or limits.
FAST_SETTINGS = {
    "PARLEY_PASSWORD_HASH_TIME_COST": "1",
    "PARLEY_PASSWORD_HASH_MEMORY_KIB": "1024",
    "PARLEY_RATE_LIMITS": "off",
    "PARLEY_PRESENCE_OFFLINE_DELAY_SECONDS": "0.2",
    "PARLEY_TYPING_TIMEOUT_SECONDS": "6",
    "PARLEY_LOG_FORMAT": "json",
    "PARLEY_LOG_LEVEL": "DEBUG",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_healthy(
    url: str, process: subprocess.Popen[bytes], log_path: Path, timeout: float
) -> None:
    """Wait until the `parley serve` at `url` answers `/api/health`.

    Raises:
        RuntimeError: it exited, or did not answer within `timeout`; the message holds its log.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"parley serve exited early:\n{_read(log_path)}")
        try:
            if httpx.get(f"{url}/api/health", timeout=1.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"parley serve did not become healthy:\n{_read(log_path)}")


def _read(log_path: Path) -> str:
    return log_path.read_text(errors="replace") if log_path.exists() else ""


class ParleyServer:
    """One `parley serve` subprocess. `start()` waits until `/api/health` answers."""

    def __init__(self, data_dir: Path, settings: dict[str, str] | None = None) -> None:
        self.data_dir = data_dir
        self.settings = {**FAST_SETTINGS, **(settings or {})}
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = data_dir / "server.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60.0) -> None:  # a loaded CI machine is slow
        self.data_dir.mkdir(parents=True, exist_ok=True)
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("PARLEY_")},
            "PARLEY_DATA_DIR": str(self.data_dir),
            **self.settings,
        }
        log = open(self.log_path, "ab")  # noqa: SIM115 - the child process owns it from here
        self.process = subprocess.Popen(
            [str(PARLEY), "serve", "--host", "127.0.0.1", "--port", str(self.port)],
            env=env,
            cwd=self.data_dir,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        try:
            wait_healthy(self.url, self.process, self.log_path, timeout)
        except RuntimeError:
            self.stop()
            raise

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15.0) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(sig)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout)

    def restart(self) -> None:
        self.stop()
        self.start()

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


if __name__ == "__main__":  # a manual check: python -m tests.support.server
    server = ParleyServer(Path(sys.argv[1]))
    server.start()
    print(server.url)
    server.stop()
