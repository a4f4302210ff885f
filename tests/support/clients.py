"""Real clients for integration tests: httpx for REST, python-socketio for `/chat`.

Every REST response and every socket event or acknowledgement the server sends is
checked against the published contract (`tests/support/contract.py`).
"""

from __future__ import annotations

import asyncio
import itertools
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import socketio

from tests.support import contract

_counter = itertools.count()
PASSWORD = "correct horse battery"


def unique_name(prefix: str = "user") -> str:
    """A username no other test uses (3-32 characters of the allowed set)."""
    return f"{prefix[:12]}_{uuid.uuid4().hex[:12]}_{next(_counter)}"


def api_client(base_url: str, token: str | None = None) -> httpx.AsyncClient:
    """An httpx client whose every response is validated against the OpenAPI document."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}

    async def check(response: httpx.Response) -> None:
        await response.aread()
        contract.validate_response(response)

    return httpx.AsyncClient(
        base_url=base_url, headers=headers, timeout=10.0, event_hooks={"response": [check]}
    )


@dataclass
class Account:
    user: dict[str, Any]
    access_token: str
    refresh_token: str
    password: str = PASSWORD

    @property
    def id(self) -> str:
        return str(self.user["id"])

    @property
    def username(self) -> str:
        return str(self.user["username"])


async def register(base_url: str, prefix: str = "user", display_name: str | None = None) -> Account:
    username = unique_name(prefix)
    body: dict[str, Any] = {
        "username": username,
        "email": f"{username}@example.com",
        "password": PASSWORD,
    }
    if display_name is not None:
        body["displayName"] = display_name
    async with api_client(base_url) as api:
        response = await api.post("/api/auth/register", json=body)
    assert response.status_code == 201, response.text
    data = response.json()
    return Account(data["user"], data["accessToken"], data["refreshToken"])


@dataclass
class ChatSocket:
    """One connected `/chat` socket that records every event it receives."""

    client: socketio.AsyncClient
    events: list[tuple[str, Any]] = field(default_factory=list)
    _changed: asyncio.Event = field(default_factory=asyncio.Event)

    def record(self, name: str, payload: Any) -> None:
        contract.validate_event(name, payload)
        self.events.append((name, payload))
        self._changed.set()

    async def call(self, event: str, payload: Any, timeout: float = 5.0) -> Any:
        """Emit `event` and return its acknowledgement, validated against the contract."""
        ack = await self.client.call(event, payload, namespace="/chat", timeout=timeout)
        contract.validate_ack(event, ack)
        return ack

    async def wait_for(
        self,
        name: str,
        predicate: Callable[[Any], bool] = lambda _: True,
        timeout: float = 5.0,
    ) -> Any:
        """The first recorded `name` event matching `predicate`, waiting for it if needed."""
        async with asyncio.timeout(timeout):
            while True:
                for event, payload in self.events:
                    if event == name and predicate(payload):
                        return payload
                self._changed.clear()
                await self._changed.wait()

    def received(self, name: str, predicate: Callable[[Any], bool] = lambda _: True) -> list[Any]:
        return [p for event, p in self.events if event == name and predicate(p)]

    async def assert_none(
        self, name: str, predicate: Callable[[Any], bool] = lambda _: True, wait: float = 0.3
    ) -> None:
        """Assert that no matching event arrives within `wait` seconds."""
        await asyncio.sleep(wait)
        assert not self.received(name, predicate), self.received(name, predicate)

    async def disconnect(self) -> None:
        await self.client.disconnect()


async def connect(base_url: str, token: str | None) -> ChatSocket:
    """Connect to `/chat` over WebSocket with `auth: {token}`."""
    client = socketio.AsyncClient(reconnection=False)
    chat = ChatSocket(client)

    async def record_any(event: str, payload: Any = None) -> None:
        chat.record(event, payload)

    client.on("*", record_any, namespace="/chat")

    auth = {"token": token} if token is not None else {}
    await client.connect(
        base_url, namespaces=["/chat"], auth=auth, transports=["websocket"], wait_timeout=5
    )
    return chat
