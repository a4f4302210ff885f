"""Presence: online, away and offline, announced to the users who share a conversation.

docs/api.md: `presence {userId, status, lastSeenAt}` goes once to each user who shares a
conversation with that user (to their user room, never to the user themselves): `online` when
their first socket connects, `offline` within 2 s of their last socket leaving, `away` and back
on `heartbeat`. A user is `online` while any socket is connected, `away` when every connected
socket said away, else `offline` with `lastSeenAt`. The session server's offline delay is
0.2 s (tests/support/server.py).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from tests.integration.helpers import (
    OFFLINE_WITHIN_SECONDS,
    OpenSocket,
    ServerFactory,
    assert_none_on,
    by_user,
    fetch_user,
    ok,
    open_tabs,
    parse_time,
    start_direct,
    start_group,
    wait_all,
    wait_count,
)
from tests.support.clients import Account, ChatSocket, api_client, register
from tests.support.server import ParleyServer

# Longer than the session server's offline delay (0.2 s), with room for scheduling.
SETTLE_SECONDS = 0.6


@dataclass
class Watchers:
    """Alice, Bob who shares a conversation with her (two tabs), and a stranger (one tab)."""

    alice: Account
    bob: Account
    bob_tabs: list[ChatSocket]
    stranger_tabs: list[ChatSocket]


async def make_watchers(base_url: str, sockets: OpenSocket) -> Watchers:
    alice = await register(base_url, "alice")
    bob = await register(base_url, "bob")
    stranger = await register(base_url, "stranger")
    await start_direct(base_url, alice, bob)
    return Watchers(
        alice,
        bob,
        await open_tabs(sockets, base_url, bob, 2),
        await open_tabs(sockets, base_url, stranger, 1),
    )


async def heartbeat(chat: ChatSocket, status: str) -> None:
    assert ok(await chat.call("heartbeat", {"status": status})) == {}


async def test_first_socket_announces_online_to_users_sharing_a_conversation(
    server: ParleyServer, sockets: OpenSocket
) -> None:
    w = await make_watchers(server.url, sockets)

    alice_socket = await sockets(server.url, w.alice.access_token)

    announced = await wait_all(w.bob_tabs, "presence", by_user(w.alice.id))
    assert announced == [{"userId": w.alice.id, "status": "online", "lastSeenAt": None}] * 2
    await assert_none_on(w.stranger_tabs, "presence", by_user(w.alice.id))
    assert alice_socket.received("presence", by_user(w.alice.id)) == []


async def test_online_is_announced_once_to_a_user_sharing_several_conversations(
    server: ParleyServer, sockets: OpenSocket
) -> None:
    w = await make_watchers(server.url, sockets)
    await start_group(server.url, w.bob, [w.alice], name="Also")
    await start_group(server.url, w.alice, [w.bob], name="Again")

    await sockets(server.url, w.alice.access_token)

    await wait_all(w.bob_tabs, "presence", by_user(w.alice.id, status="online"))
    await asyncio.sleep(0.3)
    for tab in w.bob_tabs:
        assert len(tab.received("presence", by_user(w.alice.id))) == 1


async def test_a_second_tab_does_not_announce_online_again(
    server: ParleyServer, sockets: OpenSocket
) -> None:
    w = await make_watchers(server.url, sockets)
    await sockets(server.url, w.alice.access_token)
    await wait_all(w.bob_tabs, "presence", by_user(w.alice.id, status="online"))

    await sockets(server.url, w.alice.access_token)

    await asyncio.sleep(0.3)
    for tab in w.bob_tabs:
        assert len(tab.received("presence", by_user(w.alice.id))) == 1


async def test_closing_one_of_two_tabs_keeps_the_user_online(
    server: ParleyServer, sockets: OpenSocket
) -> None:
    w = await make_watchers(server.url, sockets)
    alice_tabs = await open_tabs(sockets, server.url, w.alice, 2)
    await wait_all(w.bob_tabs, "presence", by_user(w.alice.id, status="online"))

    await alice_tabs[0].disconnect()

    await assert_none_on(
        w.bob_tabs, "presence", by_user(w.alice.id, status="offline"), SETTLE_SECONDS
    )
    seen = await fetch_user(server.url, w.bob, w.alice.id)
    assert seen["presence"] == "online"
    assert seen["lastSeenAt"] is None


async def test_closing_the_last_tab_announces_offline_within_2_s_with_last_seen_at(
    server: ParleyServer, sockets: OpenSocket
) -> None:
    w = await make_watchers(server.url, sockets)
    alice_tabs = await open_tabs(sockets, server.url, w.alice, 2)
    await wait_all(w.bob_tabs, "presence", by_user(w.alice.id, status="online"))
    await alice_tabs[0].disconnect()

    left_at = datetime.now(UTC)
    started = time.monotonic()
    await alice_tabs[1].disconnect()
    offline = await wait_all(
        w.bob_tabs, "presence", by_user(w.alice.id, status="offline"), OFFLINE_WITHIN_SECONDS
    )

    assert time.monotonic() - started <= OFFLINE_WITHIN_SECONDS
    assert offline[0] == offline[1]
    last_seen = parse_time(offline[0]["lastSeenAt"])
    assert left_at - timedelta(seconds=1) <= last_seen <= datetime.now(UTC) + timedelta(seconds=1)
    await assert_none_on(w.stranger_tabs, "presence", by_user(w.alice.id))


async def test_rest_user_shows_presence_while_connected_and_after_leaving(
    server: ParleyServer, sockets: OpenSocket
) -> None:
    w = await make_watchers(server.url, sockets)
    alice_socket = await sockets(server.url, w.alice.access_token)
    await w.bob_tabs[0].wait_for("presence", by_user(w.alice.id, status="online"))

    online = await fetch_user(server.url, w.bob, w.alice.id)
    await alice_socket.disconnect()
    await w.bob_tabs[0].wait_for(
        "presence", by_user(w.alice.id, status="offline"), OFFLINE_WITHIN_SECONDS
    )
    offline = await fetch_user(server.url, w.bob, w.alice.id)

    assert (online["presence"], online["lastSeenAt"]) == ("online", None)
    assert offline["presence"] == "offline"
    parse_time(offline["lastSeenAt"])
    assert "email" not in offline


async def test_user_who_never_connected_is_offline(
    server: ParleyServer, sockets: OpenSocket
) -> None:
    w = await make_watchers(server.url, sockets)

    seen = await fetch_user(server.url, w.bob, w.alice.id)

    assert seen["presence"] == "offline"


async def test_away_from_every_tab_makes_away_and_one_tab_back_makes_online(
    server: ParleyServer, sockets: OpenSocket
) -> None:
    w = await make_watchers(server.url, sockets)
    alice_tabs = await open_tabs(sockets, server.url, w.alice, 2)
    await wait_all(w.bob_tabs, "presence", by_user(w.alice.id, status="online"))

    await heartbeat(alice_tabs[0], "away")
    await heartbeat(alice_tabs[1], "away")
    away = await wait_all(w.bob_tabs, "presence", by_user(w.alice.id, status="away"))
    seen_away = await fetch_user(server.url, w.bob, w.alice.id)
    await heartbeat(alice_tabs[1], "online")
    back = [
        (await wait_count(tab, "presence", by_user(w.alice.id, status="online"), 2))[-1]
        for tab in w.bob_tabs
    ]

    assert away == [{"userId": w.alice.id, "status": "away", "lastSeenAt": None}] * 2
    assert (seen_away["presence"], seen_away["lastSeenAt"]) == ("away", None)
    await asyncio.sleep(0.2)
    for tab in w.bob_tabs:
        statuses = [p["status"] for p in tab.received("presence", by_user(w.alice.id))]
        assert statuses == ["online", "away", "online"], statuses
    assert back[0]["lastSeenAt"] is None
    assert (await fetch_user(server.url, w.bob, w.alice.id))["presence"] == "online"
    for tab in alice_tabs:
        assert tab.received("presence", by_user(w.alice.id)) == []


async def test_away_from_one_of_two_tabs_stays_online(
    server: ParleyServer, sockets: OpenSocket
) -> None:
    w = await make_watchers(server.url, sockets)
    alice_tabs = await open_tabs(sockets, server.url, w.alice, 2)
    await wait_all(w.bob_tabs, "presence", by_user(w.alice.id, status="online"))

    await heartbeat(alice_tabs[0], "away")

    await assert_none_on(w.bob_tabs, "presence", by_user(w.alice.id, status="away"))
    assert (await fetch_user(server.url, w.bob, w.alice.id))["presence"] == "online"


async def test_repeated_away_does_not_announce_again(
    server: ParleyServer, sockets: OpenSocket
) -> None:
    w = await make_watchers(server.url, sockets)
    alice_socket = await sockets(server.url, w.alice.access_token)
    await heartbeat(alice_socket, "away")
    await w.bob_tabs[0].wait_for("presence", by_user(w.alice.id, status="away"))

    await heartbeat(alice_socket, "away")

    await asyncio.sleep(0.3)
    assert len(w.bob_tabs[0].received("presence", by_user(w.alice.id, status="away"))) == 1


async def test_heartbeat_without_status_acks_and_changes_nothing(
    server: ParleyServer, sockets: OpenSocket
) -> None:
    w = await make_watchers(server.url, sockets)
    alice_socket = await sockets(server.url, w.alice.access_token)
    await wait_all(w.bob_tabs, "presence", by_user(w.alice.id, status="online"))

    assert ok(await alice_socket.call("heartbeat", {})) == {}

    await asyncio.sleep(0.3)
    assert len(w.bob_tabs[0].received("presence", by_user(w.alice.id))) == 1


async def test_a_new_tab_while_away_brings_the_user_back_online(
    server: ParleyServer, sockets: OpenSocket
) -> None:
    w = await make_watchers(server.url, sockets)
    alice_socket = await sockets(server.url, w.alice.access_token)
    await heartbeat(alice_socket, "away")
    await w.bob_tabs[0].wait_for("presence", by_user(w.alice.id, status="away"))

    # Not every connected socket said away any more.
    await sockets(server.url, w.alice.access_token)

    await wait_count(w.bob_tabs[0], "presence", by_user(w.alice.id, status="online"), 2)
    assert (await fetch_user(server.url, w.bob, w.alice.id))["presence"] == "online"


async def test_closing_the_only_online_tab_leaves_the_user_away(
    server: ParleyServer, sockets: OpenSocket
) -> None:
    w = await make_watchers(server.url, sockets)
    alice_tabs = await open_tabs(sockets, server.url, w.alice, 2)
    await heartbeat(alice_tabs[0], "away")
    await wait_all(w.bob_tabs, "presence", by_user(w.alice.id, status="online"))

    # Every remaining connected socket said away.
    await alice_tabs[1].disconnect()

    await w.bob_tabs[0].wait_for(
        "presence", by_user(w.alice.id, status="away"), OFFLINE_WITHIN_SECONDS
    )
    assert (await fetch_user(server.url, w.bob, w.alice.id))["presence"] == "away"


async def test_coming_back_after_offline_announces_online_again(
    server: ParleyServer, sockets: OpenSocket
) -> None:
    w = await make_watchers(server.url, sockets)
    first = await sockets(server.url, w.alice.access_token)
    await w.bob_tabs[0].wait_for("presence", by_user(w.alice.id, status="online"))
    await first.disconnect()
    await w.bob_tabs[0].wait_for(
        "presence", by_user(w.alice.id, status="offline"), OFFLINE_WITHIN_SECONDS
    )

    await sockets(server.url, w.alice.access_token)

    await wait_count(w.bob_tabs[0], "presence", by_user(w.alice.id, status="online"), 2)
    statuses = [p["status"] for p in w.bob_tabs[0].received("presence", by_user(w.alice.id))]
    assert statuses == ["online", "offline", "online"]


async def test_presence_reaches_a_user_who_starts_sharing_a_conversation_later(
    server: ParleyServer, sockets: OpenSocket
) -> None:
    alice = await register(server.url, "alice")
    bob = await register(server.url, "bob")
    alice_socket = await sockets(server.url, alice.access_token)
    bob_socket = await sockets(server.url, bob.access_token)
    await start_group(server.url, bob, [alice], name="Now we share")

    await heartbeat(alice_socket, "away")

    await bob_socket.wait_for("presence", by_user(alice.id, status="away"))


async def test_presence_stops_reaching_a_user_removed_from_the_only_shared_conversation(
    server: ParleyServer, sockets: OpenSocket
) -> None:
    alice = await register(server.url, "alice")
    bob = await register(server.url, "bob")
    conversation = await start_group(server.url, alice, [bob])
    alice_socket = await sockets(server.url, alice.access_token)
    bob_socket = await sockets(server.url, bob.access_token)
    async with api_client(server.url, alice.access_token) as api:
        response = await api.delete(
            f"/api/conversations/{conversation['id']}/participants/{bob.id}"
        )
    assert response.status_code == 204, response.text

    await heartbeat(alice_socket, "away")

    await assert_none_on([bob_socket], "presence", by_user(alice.id))


async def test_heartbeat_online_while_online_announces_nothing(
    server: ParleyServer, sockets: OpenSocket
) -> None:
    w = await make_watchers(server.url, sockets)
    alice_socket = await sockets(server.url, w.alice.access_token)
    await wait_all(w.bob_tabs, "presence", by_user(w.alice.id, status="online"))

    await heartbeat(alice_socket, "online")

    await asyncio.sleep(0.3)
    for tab in w.bob_tabs:
        assert len(tab.received("presence", by_user(w.alice.id))) == 1


async def test_connected_socket_stays_online_past_the_presence_expiry_without_heartbeats(
    server_factory: ServerFactory, sockets: OpenSocket
) -> None:
    quick = server_factory({"PARLEY_PRESENCE_EXPIRY_SECONDS": "1"})
    w = await make_watchers(quick.url, sockets)
    await sockets(quick.url, w.alice.access_token)
    await wait_all(w.bob_tabs, "presence", by_user(w.alice.id, status="online"))

    # The server keeps its connected sockets' presence alive by itself; expiry is under test.
    await asyncio.sleep(2.5)

    assert w.bob_tabs[0].received("presence", by_user(w.alice.id)) == [
        {"userId": w.alice.id, "status": "online", "lastSeenAt": None}
    ]
    assert (await fetch_user(quick.url, w.bob, w.alice.id))["presence"] == "online"


async def test_offline_is_announced_within_2_s_with_the_default_offline_delay(
    server_factory: ServerFactory, sockets: OpenSocket
) -> None:
    default_delay = server_factory({"PARLEY_PRESENCE_OFFLINE_DELAY_SECONDS": "1.0"})
    w = await make_watchers(default_delay.url, sockets)
    alice_socket = await sockets(default_delay.url, w.alice.access_token)
    await wait_all(w.bob_tabs, "presence", by_user(w.alice.id, status="online"))

    started = time.monotonic()
    await alice_socket.disconnect()
    await wait_all(
        w.bob_tabs, "presence", by_user(w.alice.id, status="offline"), OFFLINE_WITHIN_SECONDS
    )

    assert time.monotonic() - started <= OFFLINE_WITHIN_SECONDS
