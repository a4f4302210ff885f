"""Interop with the official JavaScript Socket.IO client (`tests/interop/chat.mjs`).

The script registers two users, opens a direct conversation, connects both to `/chat`
with the client's default transports (polling, then the upgrade to WebSocket), exchanges a
message each way and checks that a bad token is refused. Its dependencies are installed by
`make interop-deps` (part of `make test`).
"""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from tests.support.server import ROOT, ParleyServer

INTEROP = ROOT / "tests" / "interop"
SCRIPT = INTEROP / "chat.mjs"


def test_javascript_client_chats(server: ParleyServer) -> None:
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not installed: the JavaScript interop test needs Node 20")
    if not (INTEROP / "node_modules" / "socket.io-client").is_dir():
        pytest.fail("tests/interop/node_modules is missing: run `make interop-deps`")

    try:
        result = subprocess.run(
            [node, str(SCRIPT), server.url],
            cwd=INTEROP,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(
            f"chat.mjs did not finish within 60 s\nstdout:\n{exc.stdout!r}\n"
            f"stderr:\n{exc.stderr!r}\nserver log tail:\n{server.log_text()[-4000:]}"
        )

    report = (
        f"exit code {result.returncode}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}\n"
        f"server log tail:\n{server.log_text()[-4000:]}"
    )
    assert result.returncode == 0, report
    lines = result.stdout.strip().splitlines()
    assert lines, report
    summary = json.loads(lines[-1])
    assert summary["ok"] is True, report
    assert summary["transports"] == ["websocket", "websocket"], report
