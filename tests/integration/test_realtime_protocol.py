"""Parley's realtime endpoint on the wire: Engine.IO v4 and Socket.IO v5, byte by byte.

These tests speak the protocols by hand (tests/support/wire.py), so they hold for any engine
behind `/socket.io/`: the handshake and its timers, HTTP errors with `{code, message}`,
polling bodies, the heartbeat, the upgrade from polling to WebSocket, `/chat` connects, events,
acks and binary attachments, and what malformed input does: it closes that one connection,
never the server, and never answers 500.

The reference is the Engine.IO v4 protocol and its test suite (socket.io's
docs/engine.io-protocol), the Socket.IO v5 protocol (docs/socket.io-protocol) and RFC 6455.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect as websocket_connect
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.typing import Origin

from tests.integration.helpers import error_of, new_client_id, ok, start_direct
from tests.support import wire
from tests.support.clients import Account, api_client, register
from tests.support.server import ParleyServer
from tests.support.wire import (
    MESSAGE,
    NAMESPACE,
    NOOP,
    OP_CLOSE,
    OP_PING,
    OP_PONG,
    OP_TEXT,
    OPEN,
    PING,
    PONG,
    ChatWire,
    EngineSocket,
    RawWebSocket,
)

DEFAULT_PING_INTERVAL_MS = 25_000
DEFAULT_PING_TIMEOUT_MS = 20_000
MAX_PAYLOAD_BYTES = 1_048_576  # PARLEY_SOCKET_PACKET_MAX_BYTES's default
# A heartbeat short enough to watch several rounds of it within a second or two.
QUICK_HEARTBEAT_SECONDS = 0.3
QUICK_HEARTBEAT = {
    "PARLEY_HEARTBEAT_INTERVAL_SECONDS": str(QUICK_HEARTBEAT_SECONDS),
    "PARLEY_HEARTBEAT_TIMEOUT_SECONDS": str(QUICK_HEARTBEAT_SECONDS),
}
# Engine.IO's HTTP error codes (the reference server's `Server.errors`).
UNKNOWN_TRANSPORT, UNKNOWN_SID, BAD_REQUEST, UNSUPPORTED_PROTOCOL_VERSION = 0, 1, 3, 5
UNAUTHORIZED = {"message": "unauthorized", "data": {"code": "unauthorized"}}
HEARTBEAT_OK = {"ok": True, "data": {}}


@pytest.fixture(scope="module")
def quick_heartbeat_server(
    tmp_path_factory: pytest.TempPathFactory, backing_settings: Callable[[], dict[str, str]]
) -> Iterator[ParleyServer]:
    """One server with a 0.3 s ping interval and timeout, shared by the heartbeat tests."""
    instance = ParleyServer(
        tmp_path_factory.mktemp("parley-heartbeat"), {**backing_settings(), **QUICK_HEARTBEAT}
    )
    instance.start()
    yield instance
    instance.stop()


@dataclass
class Wires:
    """Connections a test opens by hand; all closed after it."""

    opened: list[EngineSocket | RawWebSocket] = field(default_factory=list)

    async def engine(self, base_url: str) -> tuple[EngineSocket, dict[str, Any]]:
        engine, handshake = await wire.open_engine(base_url)
        self.opened.append(engine)
        return engine, handshake

    async def websocket(
        self, base_url: str, sid: str | None = None, eio: str | None = "4"
    ) -> EngineSocket:
        engine = await wire.open_websocket(base_url, sid, eio)
        self.opened.append(engine)
        return engine

    async def chat(self, base_url: str, account: Account) -> ChatWire:
        chat = await wire.open_chat(base_url, account.access_token)
        self.opened.append(chat.engine)
        return chat

    async def raw(self, base_url: str) -> RawWebSocket:
        raw = await wire.open_raw_engine(base_url)
        self.opened.append(raw)
        return raw


@pytest.fixture
async def wires() -> AsyncIterator[Wires]:
    opened = Wires()
    yield opened
    for connection in opened.opened:
        # Teardown only: a connection the server already closed may fail to close again.
        with contextlib.suppress(Exception):
            await asyncio.wait_for(connection.close(), 3)


@pytest.fixture
async def background() -> AsyncIterator[Callable[[Any], asyncio.Task[Any]]]:
    """`background(coroutine)` runs it as a task; a task still running at the end is
    cancelled, so a failed test leaves no request behind."""
    tasks: list[asyncio.Task[Any]] = []

    def start(coroutine: Any) -> asyncio.Task[Any]:
        task = asyncio.create_task(coroutine)
        tasks.append(task)
        return task

    yield start
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with wire.http_client() as client:
        yield client


def assert_engine_error(response: httpx.Response, status: int, code: int) -> None:
    assert response.status_code == status, f"{response.status_code}: {response.text}"
    assert wire.error_body(response)["code"] == code, response.text


async def assert_server_still_serves(base_url: str, wires: Wires) -> None:
    """A fresh client connects to `/chat` and gets its acks; REST answers."""
    chat = await wires.chat(base_url, await register(base_url, "fresh"))
    assert await chat.call("heartbeat", {}) == HEARTBEAT_OK
    async with api_client(base_url) as api:
        assert (await api.get("/api/health")).status_code == 200


async def polling_chat(http: httpx.AsyncClient, base_url: str, account: Account) -> str:
    """A polling session with `/chat` connected as `account`; returns the Engine.IO sid."""
    sid = str((await wire.handshake_polling(http, base_url))["sid"])
    response = await wire.push(http, base_url, sid, wire.connect_packet(account.access_token))
    assert response.status_code == 200, response.text
    connected = await wire.poll_packets(http, base_url, sid, lambda got: bool(got))
    assert decoded(connected[0]).type == 0, connected
    return sid


def decoded(packet: str) -> wire.SocketPacket:
    result = wire.decode(packet)
    assert result is not None, packet
    return result


# Handshake


async def test_polling_handshake_opens_a_session_with_the_configured_limits(
    server: ParleyServer, http: httpx.AsyncClient
) -> None:
    response = await wire.request(http, "GET", wire.engine_url(server.url))

    assert response.status_code == 200, response.text
    handshake = wire.open_packet(response.text)
    assert set(handshake) == wire.HANDSHAKE_KEYS, handshake
    assert isinstance(handshake["sid"], str) and handshake["sid"], handshake
    assert handshake["upgrades"] == ["websocket"]
    assert handshake["pingInterval"] == DEFAULT_PING_INTERVAL_MS
    assert handshake["pingTimeout"] == DEFAULT_PING_TIMEOUT_MS
    assert handshake["maxPayload"] == MAX_PAYLOAD_BYTES


async def test_websocket_handshake_sends_the_open_packet_as_first_text_frame(
    server: ParleyServer, wires: Wires
) -> None:
    engine = await wires.websocket(server.url)

    first = await engine.receive()

    assert isinstance(first, str), first
    handshake = wire.open_packet(first)
    assert set(handshake) == wire.HANDSHAKE_KEYS, handshake
    assert isinstance(handshake["sid"], str) and handshake["sid"], handshake
    # Already on the best transport: nothing to upgrade to (the v4 test suite's expectation).
    assert handshake["upgrades"] == []
    assert handshake["pingInterval"] == DEFAULT_PING_INTERVAL_MS
    assert handshake["pingTimeout"] == DEFAULT_PING_TIMEOUT_MS
    assert handshake["maxPayload"] == MAX_PAYLOAD_BYTES


async def test_handshake_reports_the_heartbeat_settings_in_milliseconds(
    quick_heartbeat_server: ParleyServer, http: httpx.AsyncClient
) -> None:
    handshake = await wire.handshake_polling(http, quick_heartbeat_server.url)

    assert handshake["pingInterval"] == 300
    assert handshake["pingTimeout"] == 300


async def test_each_session_gets_its_own_sid(server: ParleyServer, http: httpx.AsyncClient) -> None:
    sids = {(await wire.handshake_polling(http, server.url))["sid"] for _ in range(5)}

    assert len(sids) == 5


@pytest.mark.parametrize(
    "transport", ["flashsocket", "", None], ids=["unknown", "empty", "missing"]
)
async def test_unknown_transport_is_bad_request_with_code_0(
    server: ParleyServer, http: httpx.AsyncClient, transport: str | None
) -> None:
    url = wire.engine_url(server.url, transport=None)
    if transport is not None:
        url += f"&transport={transport}"

    response = await wire.request(http, "GET", url)

    assert_engine_error(response, 400, UNKNOWN_TRANSPORT)


@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_unknown_sid_is_bad_request_with_code_1(
    server: ParleyServer, http: httpx.AsyncClient, method: str
) -> None:
    url = wire.engine_url(server.url, sid="no-such-session")

    response = await wire.request(http, method, url, b"40" if method == "POST" else None)

    assert_engine_error(response, 400, UNKNOWN_SID)


@pytest.mark.parametrize("eio", [None, "3", "5", "abc"], ids=["missing", "3", "5", "abc"])
async def test_missing_or_unsupported_eio_is_bad_request_with_code_5(
    server: ParleyServer, http: httpx.AsyncClient, eio: str | None
) -> None:
    response = await wire.request(http, "GET", wire.engine_url(server.url, eio=eio))

    assert_engine_error(response, 400, UNSUPPORTED_PROTOCOL_VERSION)


async def test_handshake_by_post_is_bad_request(
    server: ParleyServer, http: httpx.AsyncClient
) -> None:
    response = await wire.request(http, "POST", wire.engine_url(server.url), b"40")

    assert response.status_code == 400, response.text
    wire.error_body(response)


async def test_second_concurrent_get_is_bad_request_with_code_3_and_closes_the_session(
    server: ParleyServer, http: httpx.AsyncClient, background: Callable[[Any], asyncio.Task[Any]]
) -> None:
    sid = (await wire.handshake_polling(http, server.url))["sid"]
    first = background(wire.poll(http, server.url, sid))
    await asyncio.sleep(0.2)  # the first GET is waiting on the server
    assert not first.done()

    second = await wire.poll(http, server.url, sid)

    assert_engine_error(second, 400, BAD_REQUEST)
    async with asyncio.timeout(wire.WAIT_SECONDS):
        answered = await first
    # The held GET is released with a `close` packet (the v4 test suite's expectation).
    assert (answered.status_code, answered.text) == (200, wire.CLOSE)
    assert_engine_error(await wire.poll(http, server.url, sid), 400, UNKNOWN_SID)


async def test_websocket_without_eio_is_refused(server: ParleyServer, wires: Wires) -> None:
    try:
        engine = await wires.websocket(server.url, eio=None)
    except InvalidStatus as refused:
        assert refused.response.status_code == 400
        return

    closed = await engine.closed()
    assert not [p for p in engine.packets if isinstance(p, str) and p.startswith(wire.OPEN)], (
        engine.packets,
        closed,
    )


# HTTP long-polling


async def test_polling_post_of_several_packets_answers_ok_and_handles_each_in_order(
    server: ParleyServer, http: httpx.AsyncClient
) -> None:
    alice = await register(server.url, "alice")
    sid = await polling_chat(http, server.url, alice)

    response = await wire.push(
        http, server.url, sid, *(wire.event_packet("heartbeat", {}, n) for n in (1, 2, 3))
    )

    assert (response.status_code, response.text) == (200, "ok")
    packets = await wire.poll_packets(
        http, server.url, sid, lambda got: any(wire.is_ack(3)(p) for p in got)
    )
    replies = [decoded(p) for p in packets]
    assert [(r.type, r.namespace, r.ack_id) for r in replies] == [
        (3, NAMESPACE, 1),
        (3, NAMESPACE, 2),
        (3, NAMESPACE, 3),
    ]
    assert all(r.data == [HEARTBEAT_OK] for r in replies), packets


async def test_polling_get_returns_every_queued_packet_in_one_body(
    server: ParleyServer, http: httpx.AsyncClient
) -> None:
    alice = await register(server.url, "alice")
    sid = await polling_chat(http, server.url, alice)
    await wire.push(
        http, server.url, sid, *(wire.event_packet("heartbeat", {}, n) for n in (1, 2, 3))
    )
    await asyncio.sleep(0.5)  # time for the three acks to be queued

    response = await wire.poll(http, server.url, sid)

    assert response.status_code == 200, response.text
    packets = [p for p in wire.split_payload(response.text) if p != PING]
    assert [decoded(p).ack_id for p in packets] == [1, 2, 3], response.text
    assert all(decoded(p).data == [HEARTBEAT_OK] for p in packets), response.text


async def test_polling_binary_attachment_is_base64_with_b_prefix(
    server: ParleyServer, http: httpx.AsyncClient
) -> None:
    alice = await register(server.url, "alice")
    sid = await polling_chat(http, server.url, alice)

    response = await wire.push(
        http,
        server.url,
        sid,
        f'{MESSAGE}51-{NAMESPACE},9["sendMessage",{{"_placeholder":true,"num":0}}]',
        "b" + base64.b64encode(b"\x01\x02\x03\x04").decode(),
    )

    assert (response.status_code, response.text) == (200, "ok")
    packets = await wire.poll_packets(
        http, server.url, sid, lambda got: any(wire.is_ack(9)(p) for p in got)
    )
    ack = wire.ack_argument(next(p for p in packets if wire.is_ack(9)(p)))
    assert error_of(ack)["code"] == "validation_error"


async def test_polling_post_over_max_payload_is_413_and_closes_the_session(
    server: ParleyServer, http: httpx.AsyncClient
) -> None:
    sid = (await wire.handshake_polling(http, server.url))["sid"]
    body = MESSAGE + "x" * MAX_PAYLOAD_BYTES  # one byte over

    response = await wire.push(http, server.url, sid, body)

    assert response.status_code == 413, response.text
    assert_engine_error(await wire.poll(http, server.url, sid), 400, UNKNOWN_SID)


async def test_invalid_engine_packet_over_polling_is_400_and_closes_the_session(
    server: ParleyServer, http: httpx.AsyncClient, wires: Wires
) -> None:
    sid = (await wire.handshake_polling(http, server.url))["sid"]

    response = await wire.push(http, server.url, sid, "abc")

    assert response.status_code == 400, response.text
    assert_engine_error(await wire.poll(http, server.url, sid), 400, UNKNOWN_SID)
    await assert_server_still_serves(server.url, wires)


MALFORMED_OVER_POLLING: dict[str, str] = {
    "broken-json": f"{MESSAGE}2{NAMESPACE}," + '1["heartbeat",{',
    "unknown-socket-packet-type": f'{MESSAGE}9{NAMESPACE},1["heartbeat",{{}}]',
    "ack-id-not-a-number": f'{MESSAGE}2{NAMESPACE},abc["heartbeat",{{}}]',
    "nested-past-the-parser": f'{MESSAGE}2{NAMESPACE},1["heartbeat",'
    + "[" * 5000
    + "]" * 5000
    + "]",
    "nested-past-any-event": f'{MESSAGE}2{NAMESPACE},1["heartbeat",' + "[" * 40 + "]" * 40 + "]",
}


@pytest.mark.parametrize(
    "packet", MALFORMED_OVER_POLLING.values(), ids=MALFORMED_OVER_POLLING.keys()
)
async def test_malformed_socket_packet_over_polling_closes_the_session_without_a_500(
    server: ParleyServer, http: httpx.AsyncClient, wires: Wires, packet: str
) -> None:
    alice = await register(server.url, "alice")
    sid = await polling_chat(http, server.url, alice)

    response = await wire.push(http, server.url, sid, packet)

    assert response.status_code in (200, 400), response.text
    # The session ends: a GET gets at most a last `close` packet, then an unknown sid.
    for _ in range(3):
        after = await wire.poll(http, server.url, sid)
        if after.status_code == 400:
            assert wire.error_body(after)["code"] == UNKNOWN_SID, after.text
            break
        assert after.status_code == 200, after.text
        assert set(wire.split_payload(after.text)) <= {wire.CLOSE, NOOP}, after.text
    else:
        raise AssertionError("the session outlived a malformed packet")
    await assert_server_still_serves(server.url, wires)


# Heartbeat


async def test_websocket_client_answering_pings_keeps_its_connection(
    quick_heartbeat_server: ParleyServer, wires: Wires
) -> None:
    alice = await register(quick_heartbeat_server.url, "alice")
    engine, _ = await wires.engine(quick_heartbeat_server.url)
    await engine.send(wire.connect_packet(alice.access_token))
    await engine.expect(lambda p: p.startswith(f"{MESSAGE}0"))
    started = time.monotonic()

    for _ in range(5):  # 5 intervals: well past interval + timeout
        assert await engine.receive(timeout=3) == PING
        await engine.send(PONG)

    assert time.monotonic() - started >= 4 * QUICK_HEARTBEAT_SECONDS
    assert await engine.receive(timeout=3) == PING  # still open, still pinged


async def test_connection_that_joins_no_namespace_is_closed_after_a_heartbeat(
    quick_heartbeat_server: ParleyServer, wires: Wires
) -> None:
    """Answering pings is not enough: a connection with no socket after pingInterval +
    pingTimeout (Socket.IO's 45 s by default) proves no user, and goes."""
    engine, _ = await wires.engine(quick_heartbeat_server.url)

    # `expect` answers every ping while it waits for a packet that never comes.
    with pytest.raises(ConnectionClosed):
        await engine.expect(lambda _: False, timeout=3)


async def test_websocket_client_not_answering_pings_is_closed(
    quick_heartbeat_server: ParleyServer, wires: Wires
) -> None:
    engine, _ = await wires.engine(quick_heartbeat_server.url)

    await engine.closed(timeout=3)

    assert PING in engine.packets, engine.packets  # it was asked before being dropped


async def test_polling_client_answering_pings_keeps_its_session(
    quick_heartbeat_server: ParleyServer, http: httpx.AsyncClient
) -> None:
    url = quick_heartbeat_server.url
    alice = await register(url, "alice")
    sid = (await wire.handshake_polling(http, url))["sid"]
    await wire.push(http, url, sid, wire.connect_packet(alice.access_token))
    assert (await wire.poll(http, url, sid)).text.startswith(f"{MESSAGE}0{NAMESPACE},")

    for _ in range(5):
        async with asyncio.timeout(3):
            response = await wire.poll(http, url, sid)
        assert (response.status_code, response.text) == (200, PING)
        answer = await wire.push(http, url, sid, PONG)
        assert (answer.status_code, answer.text) == (200, "ok")

    response = await wire.poll(http, url, sid)
    assert (response.status_code, response.text) == (200, PING)


async def test_polling_client_not_answering_pings_loses_its_session(
    quick_heartbeat_server: ParleyServer, http: httpx.AsyncClient
) -> None:
    url = quick_heartbeat_server.url
    sid = (await wire.handshake_polling(http, url))["sid"]
    ping = await wire.poll(http, url, sid)
    assert (ping.status_code, ping.text) == (200, PING)

    await asyncio.sleep(4 * QUICK_HEARTBEAT_SECONDS)  # past interval + timeout, unanswered

    assert_engine_error(await wire.poll(http, url, sid), 400, UNKNOWN_SID)


# Upgrade from polling to WebSocket


async def test_upgrade_moves_the_session_from_polling_to_websocket(
    server: ParleyServer,
    http: httpx.AsyncClient,
    wires: Wires,
    background: Callable[[Any], asyncio.Task[Any]],
) -> None:
    alice = await register(server.url, "alice")
    sid = (await wire.handshake_polling(http, server.url))["sid"]
    pending = background(wire.poll(http, server.url, sid))
    await asyncio.sleep(0.2)  # the GET is waiting on the server
    engine = await wires.websocket(server.url, sid)

    await engine.send(f"{PING}probe")
    assert await engine.receive() == f"{PONG}probe"
    async with asyncio.timeout(wire.WAIT_SECONDS):
        released = await pending
    assert (released.status_code, released.text) == (200, NOOP)
    await engine.send(wire.UPGRADE)

    socket_sid = await wire.connect_chat(engine, alice.access_token)
    assert socket_sid
    assert await wire.call(engine, "heartbeat", {}, 7) == HEARTBEAT_OK
    after = await wire.poll(http, server.url, sid)
    assert after.status_code == 400, after.text


async def test_second_upgrade_of_the_same_session_is_refused(
    server: ParleyServer, http: httpx.AsyncClient, wires: Wires
) -> None:
    alice = await register(server.url, "alice")
    sid = (await wire.handshake_polling(http, server.url))["sid"]
    engine = await wires.websocket(server.url, sid)
    await engine.send(f"{PING}probe")
    assert await engine.receive() == f"{PONG}probe"
    await engine.send(wire.UPGRADE)
    await wire.connect_chat(engine, alice.access_token)

    try:
        second = await wires.websocket(server.url, sid)
    except InvalidStatus as refused:
        assert 400 <= refused.response.status_code < 500, refused
    else:
        await second.send(f"{PING}probe")
        await second.closed()
        assert f"{PONG}probe" not in second.packets, second.packets

    assert await wire.call(engine, "heartbeat", {}, 8) == HEARTBEAT_OK


# Socket.IO: connecting to /chat


async def test_connect_with_a_valid_token_answers_connect_with_a_sid(
    server: ParleyServer, wires: Wires
) -> None:
    alice = await register(server.url, "alice")
    engine, _ = await wires.engine(server.url)

    await engine.send(wire.connect_packet(alice.access_token))

    reply = decoded(await engine.expect(lambda p: p.startswith(f"{MESSAGE}0")))
    assert (reply.type, reply.namespace) == (0, NAMESPACE)
    assert isinstance(reply.data, dict) and set(reply.data) == {"sid"}, reply
    assert isinstance(reply.data["sid"], str) and reply.data["sid"], reply


@pytest.mark.parametrize(
    "auth",
    ["", "{}", '{"token":null}', '{"token":"not-a-token"}', '{"token":12345}'],
    ids=["none", "empty", "null", "garbage", "number"],
)
async def test_connect_without_a_valid_token_is_refused_and_the_connection_stays_usable(
    server: ParleyServer, wires: Wires, auth: str
) -> None:
    alice = await register(server.url, "alice")
    engine, _ = await wires.engine(server.url)

    await engine.send(f"{MESSAGE}0{NAMESPACE},{auth}")

    refusal = decoded(await engine.expect(lambda p: p.startswith(f"{MESSAGE}4")))
    assert (refusal.type, refusal.namespace, refusal.data) == (4, NAMESPACE, UNAUTHORIZED)
    await wire.connect_chat(engine, alice.access_token)
    assert await wire.call(engine, "heartbeat", {}, 1) == HEARTBEAT_OK


async def test_connect_to_an_unknown_namespace_is_invalid_namespace(
    server: ParleyServer, wires: Wires
) -> None:
    engine, _ = await wires.engine(server.url)

    await engine.send(f"{MESSAGE}0/nope,")

    refusal = decoded(await engine.expect(lambda p: p.startswith(f"{MESSAGE}4")))
    assert (refusal.type, refusal.namespace) == (4, "/nope")
    assert refusal.data == {"message": "Invalid namespace"}


async def test_disconnect_packet_ends_the_socket_but_not_the_engine_connection(
    server: ParleyServer, wires: Wires
) -> None:
    alice = await register(server.url, "alice")
    chat = await wires.chat(server.url, alice)

    await chat.engine.send(f"{MESSAGE}1{NAMESPACE},")

    await chat.engine.send(wire.event_packet("heartbeat", {}, 5))
    await chat.engine.expect_none(wire.is_ack(5))
    again = await wire.connect_chat(chat.engine, alice.access_token)
    assert again != chat.socket_sid
    assert await wire.call(chat.engine, "heartbeat", {}, 6) == HEARTBEAT_OK


# Events and acks


async def test_event_with_an_ack_id_gets_its_ack(server: ParleyServer, wires: Wires) -> None:
    chat = await wires.chat(server.url, await register(server.url, "alice"))

    await chat.engine.send(f'{MESSAGE}2{NAMESPACE},7["heartbeat",{{}}]')

    ack = decoded(await chat.engine.expect(wire.is_ack(7)))
    assert (ack.type, ack.namespace, ack.ack_id, ack.data) == (3, NAMESPACE, 7, [HEARTBEAT_OK])


async def test_unknown_event_gets_a_validation_error_ack(
    server: ParleyServer, wires: Wires
) -> None:
    chat = await wires.chat(server.url, await register(server.url, "alice"))

    await chat.engine.send(f'{MESSAGE}2{NAMESPACE},8["nope",{{}}]')

    ack = wire.ack_argument(await chat.engine.expect(wire.is_ack(8)))
    assert error_of(ack)["code"] == "validation_error"
    assert await chat.call("heartbeat", {}) == HEARTBEAT_OK


async def test_event_without_an_ack_id_gets_no_ack_and_the_socket_still_works(
    server: ParleyServer, wires: Wires
) -> None:
    chat = await wires.chat(server.url, await register(server.url, "alice"))

    await chat.engine.send(f'{MESSAGE}2{NAMESPACE},["heartbeat",{{}}]')

    await chat.engine.expect_none(lambda p: p.startswith(f"{MESSAGE}3"))
    assert await chat.call("heartbeat", {}) == HEARTBEAT_OK


async def test_send_message_over_websocket_reaches_another_raw_socket(
    server: ParleyServer, wires: Wires
) -> None:
    alice = await register(server.url, "alice")
    bob = await register(server.url, "bob")
    conversation = await start_direct(server.url, alice, bob)
    alice_chat = await wires.chat(server.url, alice)
    bob_chat = await wires.chat(server.url, bob)

    sent = ok(
        await alice_chat.call(
            "sendMessage",
            {
                "conversationId": conversation["id"],
                "clientId": new_client_id(),
                "content": "over the wire",
            },
        )
    )

    def is_that_message(packet: str) -> bool:
        if not wire.is_event("newMessage")(packet):
            return False
        payload = decoded(packet).data[1:2]
        return bool(payload) and isinstance(payload[0], dict) and payload[0].get("id") == sent["id"]

    packet = await bob_chat.engine.expect(is_that_message)
    assert packet.startswith(f'{MESSAGE}2{NAMESPACE},["newMessage",'), packet
    event = decoded(packet)
    assert event.ack_id is None
    assert event.data == ["newMessage", sent]


@pytest.mark.parametrize("ack_id", [0, 1, 2**31, 2**53 - 1])
async def test_ack_id_is_echoed_exactly(server: ParleyServer, wires: Wires, ack_id: int) -> None:
    chat = await wires.chat(server.url, await register(server.url, "alice"))

    await chat.engine.send(wire.event_packet("heartbeat", {}, ack_id))

    packet = await chat.engine.expect(lambda p: p.startswith(f"{MESSAGE}3"))
    assert packet.startswith(f"{MESSAGE}3{NAMESPACE},{ack_id}["), packet
    assert decoded(packet).data == [HEARTBEAT_OK]


# Binary attachments


@pytest.mark.parametrize(
    "payload",
    [
        '{"_placeholder":true,"num":0}',
        '{"conversationId":"7a1f0c2e-5b8d-4e3a-9c6f-0d2b4a6e8f10","clientId":"c1",'
        '"content":{"_placeholder":true,"num":0}}',
        '{"conversationId":"7a1f0c2e-5b8d-4e3a-9c6f-0d2b4a6e8f10","clientId":"c1",'
        '"content":"hi","metadata":{"blob":{"_placeholder":true,"num":0}}}',
    ],
    ids=["attachment-as-payload", "attachment-nested-in-the-payload", "attachment-in-metadata"],
)
async def test_binary_event_gets_a_validation_error_ack_and_the_socket_keeps_working(
    server: ParleyServer, wires: Wires, payload: str
) -> None:
    chat = await wires.chat(server.url, await register(server.url, "alice"))

    await chat.engine.send(f'{MESSAGE}51-{NAMESPACE},9["sendMessage",{payload}]')
    await chat.engine.send(b"\x01\x02\x03\x04")

    packet = await chat.engine.expect(wire.is_ack(9))
    ack = decoded(packet)
    assert (ack.type, ack.namespace, ack.ack_id) == (3, NAMESPACE, 9), packet
    assert error_of(wire.ack_argument(packet))["code"] == "validation_error"
    assert await chat.call("heartbeat", {}) == HEARTBEAT_OK


# Malformed input: that connection closes, the server keeps serving


MALFORMED_PACKETS: dict[str, list[str | bytes]] = {
    "unknown-engine-packet-type": ["9hello"],
    "empty-frame": [""],
    "broken-json": [f"{MESSAGE}2{NAMESPACE}," + '1["heartbeat",{'],
    "unknown-socket-packet-type": [f'{MESSAGE}9{NAMESPACE},1["heartbeat",{{}}]'],
    "ack-id-not-a-number": [f'{MESSAGE}2{NAMESPACE},abc["heartbeat",{{}}]'],
    "fewer-attachments-than-placeholders": [
        f'{MESSAGE}51-{NAMESPACE},1["heartbeat",'
        '{"a":{"_placeholder":true,"num":0},"b":{"_placeholder":true,"num":1}}]',
        b"\x01",
    ],
    "text-packet-while-attachments-are-due": [
        f'{MESSAGE}52-{NAMESPACE},1["heartbeat",'
        '{"a":{"_placeholder":true,"num":0},"b":{"_placeholder":true,"num":1}}]',
        b"\x01",
        wire.event_packet("heartbeat", {}, 2),
    ],
    "attachment-without-a-binary-packet": [b"\x01\x02"],
    "nested-past-the-parser": [
        f'{MESSAGE}2{NAMESPACE},1["sendMessage",' + "[" * 100_000 + "]" * 100_000 + "]"
    ],
}


@pytest.mark.parametrize("packets", MALFORMED_PACKETS.values(), ids=MALFORMED_PACKETS.keys())
async def test_malformed_packet_closes_that_connection_only(
    server: ParleyServer, wires: Wires, packets: list[str | bytes]
) -> None:
    bystander = await wires.chat(server.url, await register(server.url, "bystander"))
    victim = await wires.chat(server.url, await register(server.url, "victim"))

    for packet in packets:
        await victim.engine.send(packet)

    await victim.engine.closed()
    assert not any(wire.is_ack(1)(p) for p in victim.engine.packets if isinstance(p, str))
    assert await bystander.call("heartbeat", {}) == HEARTBEAT_OK
    await assert_server_still_serves(server.url, wires)


MALFORMED_FRAMES: dict[str, tuple[bytes, int]] = {
    # RFC 6455 5.1: a server MUST close on an unmasked client frame.
    "unmasked-client-frame": (
        wire.frame(OP_TEXT, wire.event_packet("heartbeat", {}, 1).encode(), masked=False),
        1002,
    ),
    "reserved-opcode": (wire.frame(0x3, b"4x"), 1002),
    "invalid-utf8-in-text-frame": (wire.frame(OP_TEXT, b'42/chat,["\xff\xfe"]'), 1007),
    # Only the header: a frame announcing more than maxPayload is refused before its body.
    "header-over-max-payload": (
        wire.frame(OP_TEXT, b"", declared_length=MAX_PAYLOAD_BYTES + 1),
        1009,
    ),
}


@pytest.mark.parametrize("frame", MALFORMED_FRAMES.values(), ids=MALFORMED_FRAMES.keys())
async def test_malformed_websocket_frame_is_closed_with_its_status_code(
    server: ParleyServer, wires: Wires, frame: tuple[bytes, int]
) -> None:
    data, expected_code = frame
    bystander = await wires.chat(server.url, await register(server.url, "bystander"))
    raw = await wires.raw(server.url)

    await raw.send(data)

    assert await raw.close_code() == expected_code
    assert await bystander.call("heartbeat", {}) == HEARTBEAT_OK
    await assert_server_still_serves(server.url, wires)


async def test_socketio_packet_over_max_payload_closes_that_connection_only(
    server: ParleyServer, wires: Wires
) -> None:
    alice = await register(server.url, "alice")
    bob = await register(server.url, "bob")
    conversation = await start_direct(server.url, alice, bob)
    bystander = await wires.chat(server.url, alice)
    victim = await wires.chat(server.url, alice)
    oversized = {
        "conversationId": conversation["id"],
        "clientId": new_client_id(),
        "content": "x" * MAX_PAYLOAD_BYTES,
    }

    await victim.engine.send(wire.event_packet("sendMessage", oversized, 1))

    closed = await victim.engine.closed()
    assert closed.rcvd is not None and closed.rcvd.code == 1009, closed
    assert not any(wire.is_ack(1)(p) for p in victim.engine.packets if isinstance(p, str))
    assert await bystander.call("heartbeat", {}) == HEARTBEAT_OK
    page = ok(await bystander.call("sync", {"conversationId": conversation["id"], "afterSeq": 0}))
    assert page["items"] == []


# WebSocket control frames


async def test_websocket_ping_frame_is_answered_with_pong(
    server: ParleyServer, wires: Wires
) -> None:
    raw = await wires.raw(server.url)

    await raw.send(wire.frame(OP_PING, b"parley"))

    pong = await raw.expect_frame(OP_PONG)
    assert pong.payload == b"parley"


async def test_websocket_close_frame_is_answered_with_close_frame(
    server: ParleyServer, wires: Wires
) -> None:
    raw = await wires.raw(server.url)

    await raw.send(wire.frame(OP_CLOSE, (1000).to_bytes(2, "big") + b"bye"))

    answer = await raw.expect_frame(OP_CLOSE)
    assert answer.close_code == 1000
    assert await raw.read_frame() is None  # then the server ends the stream


# Plain HTTP on the same port


@pytest.mark.parametrize("path", ["/api/health", "/", "/chat", "/socket.io-not/"])
async def test_websocket_upgrade_outside_socket_io_path_is_refused(
    server: ParleyServer, path: str
) -> None:
    status_line, raw = await wire.upgrade_request(server.url, path)
    await raw.close()

    assert status_line.startswith("HTTP/1.1 "), status_line
    assert status_line.split()[1] != "101", status_line
    assert not status_line.split()[1].startswith("5"), status_line


async def test_rest_api_answers_on_the_same_port_while_sockets_are_open(
    server: ParleyServer, wires: Wires, http: httpx.AsyncClient
) -> None:
    chat = await wires.chat(server.url, await register(server.url, "alice"))

    response = await http.get(f"{server.url}/api/health")

    assert response.status_code == 200, response.text
    assert await chat.call("heartbeat", {}) == HEARTBEAT_OK


async def test_polling_client_gone_with_packets_waiting_does_not_hold_a_shutdown(
    server_factory: Callable[..., ParleyServer], http: httpx.AsyncClient
) -> None:
    """A drain waits for polling clients to fetch their acknowledgements, but only for as
    long as a client that is still there takes to ask (a second), not its whole timeout."""
    server = server_factory(
        {"PARLEY_HEARTBEAT_INTERVAL_SECONDS": "0.2", "PARLEY_HEARTBEAT_TIMEOUT_SECONDS": "30"}
    )
    await polling_chat(http, server.url, await register(server.url, "alice"))
    await asyncio.sleep(0.5)  # a ping waits for a GET that never comes

    started = time.monotonic()
    server.stop()

    assert time.monotonic() - started < 6  # the drain's own timeout is 12 s


# Origins


ALLOWED_ORIGIN = "http://chat.example.com"


async def test_with_origins_configured_only_those_and_the_servers_own_may_connect(
    server_factory: Callable[..., ParleyServer], http: httpx.AsyncClient
) -> None:
    server = server_factory({"PARLEY_CORS_ORIGINS": ALLOWED_ORIGIN})
    own = server.url  # http://127.0.0.1:PORT, as a page the server itself serves sends it

    allowed = await http.get(wire.engine_url(server.url), headers={"Origin": ALLOWED_ORIGIN})
    same = await http.get(wire.engine_url(server.url), headers={"Origin": own})
    foreign = await http.get(wire.engine_url(server.url), headers={"Origin": "http://evil.example"})

    assert allowed.status_code == 200, allowed.text
    assert allowed.headers["access-control-allow-origin"] == ALLOWED_ORIGIN
    assert same.status_code == 200, same.text
    assert foreign.status_code == 403, foreign.text
    with pytest.raises(InvalidStatus) as refused:
        await websocket_connect(
            wire.websocket_url(server.url), origin=Origin("http://evil.example"), proxy=None
        )
    assert refused.value.response.status_code == 403
    accepted = await websocket_connect(
        wire.websocket_url(server.url), origin=Origin(ALLOWED_ORIGIN), proxy=None
    )
    assert str(await accepted.recv()).startswith(OPEN)
    await accepted.close()
