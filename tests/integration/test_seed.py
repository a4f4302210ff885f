"""`parley seed --demo`: the README's way to a living app on first look."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tests.integration.test_cli import run_parley
from tests.support.clients import api_client
from tests.support.server import ParleyServer

DEMO_SIGN_IN = {"username": "alice", "password": "parley-demo"}


async def test_seed_demo_fills_a_fresh_data_folder_once(
    tmp_path: Path,
    backing_settings: Callable[[], dict[str, str]],
    server_factory: Callable[..., ParleyServer],
) -> None:
    settings = backing_settings()
    data_dir = tmp_path / "data"

    first = run_parley(["seed", "--demo"], settings, data_dir)
    again = run_parley(["seed", "--demo"], settings, data_dir)

    assert first.returncode == 0, first.stderr
    assert "Sign in as any of them with the password 'parley-demo'" in first.stdout
    assert again.returncode == 0, again.stderr
    assert "nothing changed" in again.stdout

    server = server_factory(settings, data_dir=data_dir)
    async with api_client(server.url) as api:
        login = await api.post("/api/auth/login", json=DEMO_SIGN_IN)
        assert login.status_code == 200, login.text
        headers = {"Authorization": f"Bearer {login.json()['accessToken']}"}
        conversations = (await api.get("/api/conversations", headers=headers)).json()["items"]
        group, direct = conversations  # newest activity first: the group spoke last
        assert (group["type"], direct["type"]) == ("group", "direct")
        assert group["participantCount"] == 4
        assert group["unreadCount"] > 0  # alice is behind in the group
        assert direct["unreadCount"] == 1  # and bob's last word is new to her
        path = f"/api/conversations/{group['id']}/messages"
        messages = (await api.get(path, headers=headers)).json()["items"]
        days = {message["createdAt"][:10] for message in messages}
        assert len(days) >= 3  # a history over several days, for the day separators
        # Everyone has read up to their own last message, so receipts show from the start.
        bob = next(p for p in direct["participants"] if p["username"] == "bob")
        assert bob["lastReadSeq"] == direct["lastMessage"]["seq"]
