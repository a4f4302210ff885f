"""`parley chat`: a terminal client, for trying Parley from two terminals.

It is an ordinary client of the public contract (REST to sign in and find the other person,
Socket.IO to send and receive), so it doubles as a readable example of one.
"""

from __future__ import annotations

import asyncio
import getpass
import sys
import time
import uuid
from datetime import datetime
from typing import Any

import httpx
import socketio

HISTORY_LINES = 20
WAIT_FOR_PEER_SECONDS = 2.0
# Refresh the access token when less than this is left of its life.
REFRESH_MARGIN_SECONDS = 30.0
# A line typed while the server is away or stopping is sent again this often, for ~30 s
# (the client's reconnection backs off to 5 s between tries).
SEND_ATTEMPTS = 30
RESEND_AFTER_SECONDS = 1.0


class ChatError(Exception):
    """Something the person at the terminal should read; no traceback needed."""


class Tokens:
    """The session's tokens, refreshed shortly before the access token expires."""

    def __init__(self, api: httpx.AsyncClient, session: dict[str, Any]) -> None:
        self._api = api
        self._store(session)

    def _store(self, session: dict[str, Any]) -> None:
        self.access = str(session["accessToken"])
        self._refresh = str(session["refreshToken"])
        self._expires_at = time.monotonic() + float(session["expiresIn"])

    async def fresh_access(self) -> str:
        if time.monotonic() > self._expires_at - REFRESH_MARGIN_SECONDS:
            response = await self._api.post(
                "/api/auth/refresh", json={"refreshToken": self._refresh}
            )
            self._store(await _expect(response))
        self._api.headers["Authorization"] = f"Bearer {self.access}"
        return self.access


async def run_chat(
    url: str, username: str, password: str | None, other: str, register: bool, email: str | None
) -> None:
    if other.lower() == username.lower():
        raise ChatError("--with names yourself; chat with someone else")
    password = password or getpass.getpass(f"password for {username}: ")
    try:
        async with httpx.AsyncClient(base_url=url, timeout=10.0) as api:
            tokens = Tokens(api, await _sign_in(api, username, password, register, email))
            await _chat(api, tokens, url, other)
    except httpx.TransportError as error:
        raise ChatError(f"cannot reach Parley at {url} ({type(error).__name__})") from None


async def _chat(api: httpx.AsyncClient, tokens: Tokens, url: str, other: str) -> None:
    await tokens.fresh_access()
    me = await _expect(await api.get("/api/users/me"))
    peer = await _find_user(api, other)
    conversation = await _expect(
        await api.post(
            "/api/conversations", json={"type": "direct", "participantIds": [peer["id"]]}
        )
    )
    history = await _expect(
        await api.get(
            f"/api/conversations/{conversation['id']}/messages", params={"limit": HISTORY_LINES}
        )
    )
    names = {me["id"]: me["displayName"], peer["id"]: peer["displayName"]}
    screen = Screen(names)
    for message in reversed(history["items"]):
        screen.show(message)
    print(f"-- chatting with {peer['displayName']} (@{peer['username']}); Ctrl-D to leave --")
    await _converse(url, tokens, conversation["id"], screen)


class Screen:
    """The messages printed so far: each once, and what came after the newest one shown."""

    def __init__(self, names: dict[str, str]) -> None:
        self.names = names
        self.shown: set[int] = set()
        self.last_seq = 0

    def show(self, message: dict[str, Any]) -> None:
        if message["seq"] in self.shown:
            return
        self.shown.add(message["seq"])
        self.last_seq = max(self.last_seq, message["seq"])
        _print_message(message, self.names)


async def _converse(url: str, tokens: Tokens, conversation_id: str, screen: Screen) -> None:
    client = socketio.AsyncClient(reconnection=True)
    names = screen.names
    catching_up: set[asyncio.Task[None]] = set()

    async def on_message(message: dict[str, Any]) -> None:
        if message["conversationId"] == conversation_id:
            screen.show(message)

    async def catch_up() -> None:
        """What was said while this client was away, as the contract asks after reconnecting."""
        while True:
            payload = {"conversationId": conversation_id, "afterSeq": screen.last_seq}
            ack = await client.call("sync", payload, namespace="/chat", timeout=10)
            if not ack.get("ok"):
                return
            for message in ack["data"]["items"]:
                screen.show(message)
            if not ack["data"]["hasMore"]:
                return

    async def on_connect() -> None:
        task = asyncio.create_task(catch_up())  # not here: this handler must return first
        catching_up.add(task)
        task.add_done_callback(catching_up.discard)

    async def on_typing(event: dict[str, Any]) -> None:
        if event["conversationId"] == conversation_id and event["isTyping"]:
            print(f"   {names.get(event['userId'], 'someone')} is typing...")

    leaving = False

    async def on_disconnect(*_: Any) -> None:
        if not leaving:
            print("-- disconnected; reconnecting --")

    async def auth() -> dict[str, str]:
        # Asked again on every reconnection, so a long chat outlives its first token.
        return {"token": await tokens.fresh_access()}

    client.on("newMessage", on_message, namespace="/chat")
    client.on("userTyping", on_typing, namespace="/chat")
    client.on("disconnect", on_disconnect, namespace="/chat")
    client.on("connect", on_connect, namespace="/chat")
    # retry: a server that went away since the REST calls above is waited for, as on a
    # reconnection, rather than ending the chat.
    await client.connect(url, namespaces=["/chat"], auth=auth, retry=True)
    try:
        while True:
            line = await asyncio.to_thread(sys.stdin.readline)
            if not line:
                break
            text = line.rstrip("\n")
            if text.strip():
                await _send(client, conversation_id, text)
    finally:
        leaving = True
        await client.disconnect()


async def _send(client: socketio.AsyncClient, conversation_id: str, text: str) -> None:
    """Send, and while the server is away or stopping, send again with the same clientId:
    the server stores a message once however often it arrives."""
    payload = {"conversationId": conversation_id, "clientId": str(uuid.uuid4()), "content": text}
    for _ in range(SEND_ATTEMPTS):
        try:
            ack = await client.call("sendMessage", payload, namespace="/chat", timeout=10)
        except socketio.exceptions.SocketIOError:
            await asyncio.sleep(RESEND_AFTER_SECONDS)
            continue
        if ack.get("ok"):
            return
        if ack["error"]["code"] != "unavailable":
            print(f"!! not sent: {ack['error']['message']}")
            return
        await asyncio.sleep(RESEND_AFTER_SECONDS)
    print("!! not sent: the server is away; type it again in a moment")


async def _sign_in(
    api: httpx.AsyncClient, username: str, password: str, register: bool, email: str | None
) -> dict[str, Any]:
    if register:
        body = {"username": username, "email": email or f"{username}@example.com"}
        return await _expect(
            await api.post("/api/auth/register", json={**body, "password": password})
        )
    return await _expect(
        await api.post("/api/auth/login", json={"username": username, "password": password})
    )


async def _find_user(api: httpx.AsyncClient, username: str) -> dict[str, Any]:
    """The user named `username`, waiting for them to sign up if they have not yet."""
    waiting = False
    while True:
        found = await _expect(await api.get("/api/users", params={"query": username, "limit": 100}))
        for user in found["items"]:
            if user["username"].lower() == username.lower():
                return dict(user)
        if not waiting:
            print(f"-- waiting for {username} to sign up (Ctrl-C to give up) --")
            waiting = True
        await asyncio.sleep(WAIT_FOR_PEER_SECONDS)


async def _expect(response: httpx.Response) -> dict[str, Any]:
    if response.status_code >= 400:
        detail = response.json().get("detail", response.text) if response.content else ""
        raise ChatError(f"{response.request.method} {response.request.url.path}: {detail}")
    body: dict[str, Any] = response.json()
    return body


def _print_message(message: dict[str, Any], names: dict[str, str]) -> None:
    sent_at = datetime.fromisoformat(message["createdAt"].replace("Z", "+00:00")).astimezone()
    sender = names.get(message["senderId"], "someone")
    content = "(deleted)" if message["deletedAt"] else message["content"]
    print(f"[{sent_at:%H:%M}] {sender}: {content}")
