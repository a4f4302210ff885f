from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import event

from parley.errors import Conflict, Forbidden, NotFound, ValidationFailed
from parley.messages.schemas import MessageCreate
from tests.unit.conftest import Harness


async def test_two_people_share_one_direct_conversation(harness: Harness) -> None:
    alice, bob = await harness.user("alice"), await harness.user("bob")
    conversations = harness.services.conversations
    first, created = await conversations.create_direct(alice, [str(bob)], None)
    second, created_again = await conversations.create_direct(bob, [str(alice)], None)
    assert created and not created_again and first.id == second.id
    assert {p.role for p in first.participants} == {"member"}
    assert harness.broadcaster.rooms[alice] == harness.broadcaster.rooms[bob] == {first.id}


async def test_direct_with_yourself_or_nobody_is_invalid(harness: Harness) -> None:
    alice = await harness.user("alice")
    conversations = harness.services.conversations
    with pytest.raises(ValidationFailed):
        await conversations.create_direct(alice, [str(alice)], None)
    with pytest.raises(ValidationFailed):
        await conversations.create_direct(alice, [str(uuid.uuid4())], None)


async def test_group_creator_is_owner_and_duplicates_are_ignored(harness: Harness) -> None:
    owner, bob = await harness.user("owner"), await harness.user("bob")
    group = await harness.services.conversations.create_group(
        owner, "team", [str(bob), str(bob), str(owner)]
    )
    assert [(p.id, p.role) for p in group.participants] == [(owner, "owner"), (bob, "member")]
    assert group.participant_count == 2


async def test_someone_added_later_has_no_unread_history(harness: Harness) -> None:
    owner, late = await harness.user("owner"), await harness.user("late")
    conversations = harness.services.conversations
    group = await conversations.create_group(owner, "team", [])
    await harness.services.messages.send(owner, group.id, MessageCreate(client_id="1", content="a"))
    await conversations.add_participants(owner, group.id, [str(late)])
    view = await conversations.get(late, group.id)
    assert view.unread_count == 0 and view.last_seq == 1
    assert group.id in harness.broadcaster.rooms[late]


async def test_roles_decide_who_may_change_the_group(harness: Harness) -> None:
    owner, admin, member, other = [await harness.user(n) for n in ("o", "a", "m", "x")]
    conversations = harness.services.conversations
    group = await conversations.create_group(owner, "team", [str(admin), str(member), str(other)])
    await conversations.set_role(owner, group.id, admin, "admin")

    with pytest.raises(Forbidden):
        await conversations.rename(member, group.id, "mine")
    await conversations.rename(admin, group.id, "renamed")
    with pytest.raises(Forbidden):
        await conversations.set_role(admin, group.id, member, "admin")
    with pytest.raises(Conflict):
        await conversations.set_role(owner, group.id, owner, "member")
    with pytest.raises(Forbidden):
        await conversations.remove_participant(member, group.id, other)
    await conversations.remove_participant(admin, group.id, other)
    await conversations.set_role(owner, group.id, member, "admin")
    with pytest.raises(Forbidden):
        await conversations.remove_participant(admin, group.id, member)  # an admin now
    await conversations.remove_participant(owner, group.id, member)


async def test_owner_leaving_hands_over_to_the_longest_standing_admin(harness: Harness) -> None:
    owner, first, second = [await harness.user(n) for n in ("o", "first", "second")]
    conversations = harness.services.conversations
    group = await conversations.create_group(owner, "team", [str(first), str(second)])
    await conversations.set_role(owner, group.id, second, "admin")

    await conversations.remove_participant(owner, group.id, owner)

    view = await conversations.get(first, group.id)
    assert {p.id: p.role for p in view.participants} == {first: "member", second: "owner"}
    with pytest.raises(NotFound):
        await conversations.get(owner, group.id)
    assert group.id not in harness.broadcaster.rooms[owner]


async def test_owner_leaving_without_admins_hands_over_to_the_oldest_member(
    harness: Harness,
) -> None:
    owner, first, second = [await harness.user(n) for n in ("o", "first", "second")]
    conversations = harness.services.conversations
    group = await conversations.create_group(owner, "team", [str(first), str(second)])
    await conversations.remove_participant(owner, group.id, owner)
    view = await conversations.get(first, group.id)
    assert {p.id: p.role for p in view.participants} == {first: "owner", second: "member"}


async def test_removed_participant_is_told(harness: Harness) -> None:
    owner, member = await harness.user("o"), await harness.user("m")
    group = await harness.services.conversations.create_group(owner, "team", [str(member)])
    await harness.services.conversations.remove_participant(owner, group.id, member)
    targets = [e.target for e in harness.broadcaster.events("conversationUpdated")]
    assert f"users:{member}" in targets


async def test_direct_conversations_have_fixed_participants(harness: Harness) -> None:
    alice, bob, carol = [await harness.user(n) for n in ("a", "b", "c")]
    conversations = harness.services.conversations
    direct, _ = await conversations.create_direct(alice, [str(bob)], None)
    with pytest.raises(ValidationFailed):
        await conversations.add_participants(alice, direct.id, [str(carol)])
    with pytest.raises(ValidationFailed):
        await conversations.remove_participant(alice, direct.id, alice)
    with pytest.raises(ValidationFailed):
        await conversations.rename(alice, direct.id, "name")


async def test_read_marker_only_moves_forward_and_stops_at_last_seq(harness: Harness) -> None:
    alice, bob = await harness.user("a"), await harness.user("b")
    conversations = harness.services.conversations
    direct, _ = await conversations.create_direct(alice, [str(bob)], None)
    for i in range(3):
        await harness.services.messages.send(
            alice, direct.id, MessageCreate(client_id=str(i), content="x")
        )

    assert await conversations.mark_read(bob, direct.id, 2) == 2
    assert await conversations.mark_read(bob, direct.id, 1) == 2
    assert await conversations.mark_read(bob, direct.id, 99) == 3
    assert [e.payload["seq"] for e in harness.broadcaster.events("readReceipt")] == [2, 3]
    with pytest.raises(ValidationFailed):
        await conversations.mark_read(bob, direct.id, -1)


async def test_list_pages_by_last_activity(harness: Harness) -> None:
    me = await harness.user("me")
    conversations = harness.services.conversations
    created = []
    for i in range(5):
        other = await harness.user(f"o{i}")
        view, _ = await conversations.create_direct(me, [str(other)], None)
        created.append(view.id)
        harness.clock.advance(1)
    await harness.services.messages.send(me, created[0], MessageCreate(client_id="x", content="x"))

    seen: list[uuid.UUID] = []
    cursor = None
    while True:
        page = await conversations.list_conversations(me, 2, cursor)
        seen.extend(item.id for item in page.items)
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == [created[0], *reversed(created[1:])]


async def test_listing_costs_the_same_statements_for_many_conversations(
    harness: Harness,
) -> None:
    me = await harness.user("me")
    conversations = harness.services.conversations

    async def statements_for_a_page() -> int:
        count = 0

        def count_statement(*_: Any) -> None:
            nonlocal count
            count += 1

        engine = harness.services.database.engine.sync_engine
        event.listen(engine, "before_cursor_execute", count_statement)
        try:
            await conversations.list_conversations(me, 100, None)
        finally:
            event.remove(engine, "before_cursor_execute", count_statement)
        return count

    async def add_conversations(n: int) -> None:
        for i in range(n):
            other = await harness.user(f"u{i}")
            group = await conversations.create_group(me, f"g{i}", [str(other)])
            await harness.services.messages.send(
                other, group.id, MessageCreate(client_id=f"{group.id}", content="x")
            )

    await add_conversations(3)
    few = await statements_for_a_page()
    await add_conversations(30)
    many = await statements_for_a_page()
    assert few == many
