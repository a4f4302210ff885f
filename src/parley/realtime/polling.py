"""The HTTP long-polling transport, as an ASGI app at `/socket.io/`.

The official clients open a session with a GET, then hold a GET open for the server's
packets and POST their own; once a WebSocket has upgraded the session, polling on it is
refused. Errors answer 400 with Engine.IO's codes, as its other servers do.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any
from urllib.parse import parse_qs

from starlette.types import Receive, Scope, Send

from parley.realtime import packets
from parley.realtime.engine import Engine, Session
from parley.realtime.packets import MalformedPacket

logger = logging.getLogger(__name__)

# Engine.IO's error codes, sent in a 400's JSON body.
UNKNOWN_TRANSPORT = 0
UNKNOWN_SID = 1
BAD_HANDSHAKE_METHOD = 2
BAD_REQUEST = 3
FORBIDDEN = 4
UNSUPPORTED_PROTOCOL_VERSION = 5

_MESSAGES = {
    UNKNOWN_TRANSPORT: "Transport unknown",
    UNKNOWN_SID: "Session ID unknown",
    BAD_HANDSHAKE_METHOD: "Bad handshake method",
    BAD_REQUEST: "Bad request",
    FORBIDDEN: "Forbidden",
    UNSUPPORTED_PROTOCOL_VERSION: "Unsupported protocol version",
}


class PollingEndpoint:
    """Engine.IO over HTTP: the handshake, the server's packets by GET, the client's by POST."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            # Parley's WebSockets never reach ASGI (see websocket.py): another server's would.
            await send({"type": "websocket.close", "code": 1011})
            return
        headers = {
            name.decode("latin-1"): value.decode("latin-1") for name, value in scope["headers"]
        }
        response_headers = self._cors_headers(headers)
        if response_headers is None:
            await _error(send, FORBIDDEN, [], status=403)
            return
        method = scope["method"]
        if method == "OPTIONS":
            await _respond(send, 204, b"", response_headers)
            return

        query = {
            name: values[-1]
            for name, values in parse_qs(scope["query_string"].decode("latin-1")).items()
        }
        if query.get("EIO") != "4":
            await _error(send, UNSUPPORTED_PROTOCOL_VERSION, response_headers)
            return
        transport = query.get("transport")
        if transport not in ("polling", "websocket"):
            await _error(send, UNKNOWN_TRANSPORT, response_headers)
            return
        if transport == "websocket":  # a WebSocket handshake that was not an upgrade
            await _error(send, BAD_REQUEST, response_headers)
            return

        sid = query.get("sid")
        if sid is None:
            if method != "GET":
                await _error(send, BAD_HANDSHAKE_METHOD, response_headers)
                return
            session = Session(self._engine)
            body = self._engine.open_packet(session.sid, ["websocket"]).encode()
            await _respond(send, 200, body, response_headers)
            return
        session_or_none = self._engine.sessions.get(sid)
        if session_or_none is None:
            await _error(send, UNKNOWN_SID, response_headers)
            return
        session = session_or_none
        if session.ws is not None:
            await _error(send, BAD_REQUEST, response_headers)
            return
        if method == "GET":
            await self._get(session, receive, send, response_headers)
        elif method == "POST":
            await self._post(session, receive, send, response_headers)
        else:
            await _error(send, BAD_REQUEST, response_headers)

    async def _get(
        self, session: Session, receive: Receive, send: Send, headers: list[tuple[bytes, bytes]]
    ) -> None:
        try:
            waiting = session.poll()
        except MalformedPacket:
            session.close("overlapping polls")
            await _error(send, BAD_REQUEST, headers)
            return
        if not waiting.done():
            # A client that goes away must not take the next packets with it.
            gone = asyncio.ensure_future(_disconnected(receive))
            try:
                await asyncio.wait((waiting, gone), return_when=asyncio.FIRST_COMPLETED)
            finally:
                gone.cancel()
            if not waiting.done():
                session.abandon_poll(waiting)
                return
        await _respond(send, 200, packets.encode_polling(waiting.result()), headers)

    async def _post(
        self, session: Session, receive: Receive, send: Send, headers: list[tuple[bytes, bytes]]
    ) -> None:
        body = await _read_body(receive, self._engine.max_payload)
        if body is None:
            session.close("payload too large")
            await _respond(send, 413, b"payload too large", headers)
            return
        try:
            for packet in packets.decode_polling(body):
                session.receive(packet)
        except MalformedPacket as error:
            logger.warning("polling session closed on bad input", extra={"reason": str(error)})
            session.close("parse error")
            await _error(send, BAD_REQUEST, headers)
            return
        await _respond(send, 200, b"ok", headers)

    def _cors_headers(self, headers: dict[str, str]) -> list[tuple[bytes, bytes]] | None:
        """The CORS headers of an allowed request, none without an origin, or None: refused."""
        origin = headers.get("origin")
        if origin is None or not self._engine.cors_origins:
            return []
        if not self._engine.allows_origin(origin, headers.get("host")):
            return None
        return [
            (b"access-control-allow-origin", origin.encode("latin-1")),
            (b"access-control-allow-credentials", b"true"),
            (b"access-control-allow-methods", b"GET, POST, OPTIONS"),
            (b"access-control-allow-headers", b"content-type"),
            (b"vary", b"origin"),
        ]


async def _disconnected(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


async def _read_body(receive: Receive, limit: int) -> bytes | None:
    """The request body, or None past `limit` bytes."""
    parts: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return b""
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        parts.append(chunk)
        if not message.get("more_body", False):
            return b"".join(parts)


async def _error(
    send: Send, code: int, headers: list[tuple[bytes, bytes]], status: int = 400
) -> None:
    body = json.dumps({"code": code, "message": _MESSAGES[code]}).encode()
    await _respond(send, status, body, [*headers, (b"content-type", b"application/json")])


async def _respond(
    send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]]
) -> None:
    if not any(name == b"content-type" for name, _ in headers):
        headers = [*headers, (b"content-type", b"text/plain; charset=UTF-8")]
    with contextlib.suppress(OSError):
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def polling_app(engine: Engine, other: Any) -> Any:
    """An ASGI app serving Engine.IO at `/socket.io/` and `other` everywhere else."""
    endpoint = PollingEndpoint(engine)

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket") and scope["path"].startswith("/socket.io/"):
            await endpoint(scope, receive, send)
        else:
            await other(scope, receive, send)

    return app
