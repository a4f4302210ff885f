from __future__ import annotations

import asyncio
import uuid

from tests.unit.conftest import Harness


async def _pair(harness: Harness) -> tuple[uuid.UUID, uuid.UUID, uuid.UUID]:
    alice, bob = await harness.user("alice"), await harness.user("bob")
    view, _ = await harness.services.conversations.create_direct(alice, [str(bob)], None)
    return alice, bob, view.id


async def test_presence_is_announced_to_contacts_on_changes_only(harness: Harness) -> None:
    alice, bob, _ = await _pair(harness)
    stranger = await harness.user("stranger")
    presence = harness.services.presence

    await presence.socket_connected(alice, "tab1")
    await presence.socket_connected(alice, "tab2")  # already online: no news
    await presence.socket_status(alice, "tab1", "away")  # tab2 still online
    await presence.socket_status(alice, "tab2", "away")
    await presence.socket_disconnected(alice, "tab1")
    await presence.socket_disconnected(alice, "tab2")
    await asyncio.sleep(0.05)  # the offline delay is 0 in unit settings

    announced = harness.broadcaster.events("presence")
    assert [e.payload["status"] for e in announced] == ["online", "away", "offline"]
    assert {e.target for e in announced} == {f"users:{bob}"}
    assert stranger not in {e.payload["userId"] for e in announced}
    assert announced[-1].payload["lastSeenAt"] is not None
    view = await harness.services.users.get_view(bob, alice)
    assert view.model_dump()["presence"] == "offline"


async def test_a_quick_reconnect_does_not_flap(harness: Harness) -> None:
    alice, _, _ = await _pair(harness)
    presence = harness.services.presence
    presence._offline_delay_seconds = 0.2
    await presence.socket_connected(alice, "old")
    await presence.socket_disconnected(alice, "old")
    await presence.socket_connected(alice, "new")
    await asyncio.sleep(0.3)
    assert [e.payload["status"] for e in harness.broadcaster.events("presence")] == ["online"]


async def test_typing_goes_to_others_and_ends_when_the_typist_leaves(harness: Harness) -> None:
    alice, _, conversation = await _pair(harness)
    typing = harness.services.typing
    await typing.set_typing(alice, conversation, True)
    await typing.user_left(alice)
    events = harness.broadcaster.events("userTyping")
    assert [e.payload["isTyping"] for e in events] == [True, False]
    assert all(e.exclude_user == alice for e in events)


async def test_stale_typing_is_not_ended_again(harness: Harness) -> None:
    alice, _, conversation = await _pair(harness)
    await harness.services.typing.set_typing(alice, conversation, True)
    harness.clock.advance(7)
    await harness.services.typing.user_left(alice)
    assert len(harness.broadcaster.events("userTyping")) == 1
