from __future__ import annotations

import asyncio
import uuid

import pytest
from sqlalchemy import event

from parley.errors import Conflict, Forbidden, NotFound, ValidationFailed
from parley.messages.schemas import MessageCreate
from tests.unit.conftest import Harness


def _text(client_id: str, content: str = "hello") -> MessageCreate:
    return MessageCreate(client_id=client_id, content=content)


async def _direct(harness: Harness) -> tuple[uuid.UUID, uuid.UUID, uuid.UUID]:
    alice, bob = await harness.user("alice"), await harness.user("bob")
    view, _ = await harness.services.conversations.create_direct(alice, [str(bob)], None)
    return alice, bob, view.id


async def test_concurrent_sends_get_consecutive_seqs_emitted_in_order(harness: Harness) -> None:
    alice, bob, conversation = await _direct(harness)
    messages = harness.services.messages

    sent = await asyncio.gather(
        *(messages.send(alice if i % 2 else bob, conversation, _text(f"c{i}")) for i in range(40))
    )

    assert sorted(view.seq for view, _ in sent) == list(range(1, 41))
    emitted = [e.payload["seq"] for e in harness.broadcaster.events("newMessage")]
    assert emitted == list(range(1, 41))


async def test_resend_returns_the_original_and_emits_nothing(harness: Harness) -> None:
    alice, _, conversation = await _direct(harness)
    messages = harness.services.messages
    original, created = await messages.send(alice, conversation, _text("same", "first"))
    again, created_again = await messages.send(alice, conversation, _text("same", "second"))
    assert created and not created_again
    assert again == original
    assert len(harness.broadcaster.events("newMessage")) == 1


async def test_client_id_taken_in_another_conversation_is_a_conflict(harness: Harness) -> None:
    alice, _, conversation = await _direct(harness)
    carol = await harness.user("carol")
    other, _ = await harness.services.conversations.create_direct(alice, [str(carol)], None)
    await harness.services.messages.send(alice, conversation, _text("same"))
    with pytest.raises(Conflict):
        await harness.services.messages.send(alice, other.id, _text("same"))


async def test_sending_moves_the_senders_read_marker(harness: Harness) -> None:
    alice, bob, conversation = await _direct(harness)
    await harness.services.messages.send(alice, conversation, _text("a"))
    view = await harness.services.conversations.get(alice, conversation)
    assert view.unread_count == 0
    assert {p.id: p.last_read_seq for p in view.participants} == {alice: 1, bob: 0}
    assert (await harness.services.conversations.get(bob, conversation)).unread_count == 1
    assert not harness.broadcaster.events("readReceipt")


async def test_stranger_cannot_send_or_read(harness: Harness) -> None:
    _, _, conversation = await _direct(harness)
    stranger = await harness.user("mallory")
    with pytest.raises(NotFound):
        await harness.services.messages.send(stranger, conversation, _text("x"))
    with pytest.raises(NotFound):
        await harness.services.messages.history(stranger, conversation)


async def test_only_the_sender_edits(harness: Harness) -> None:
    alice, bob, conversation = await _direct(harness)
    message, _ = await harness.services.messages.send(alice, conversation, _text("a"))
    with pytest.raises(Forbidden):
        await harness.services.messages.edit(bob, message.id, "changed")
    edited = await harness.services.messages.edit(alice, message.id, "changed")
    assert edited.content == "changed" and edited.edited_at is not None


async def test_deleted_message_keeps_its_place_and_cannot_be_edited(harness: Harness) -> None:
    alice, bob, conversation = await _direct(harness)
    messages = harness.services.messages
    message, _ = await messages.send(
        alice, conversation, MessageCreate(client_id="m", content="secret", metadata={"k": 1})
    )
    with pytest.raises(Forbidden):
        await messages.delete(bob, message.id)  # not a group: only the sender
    await messages.delete(alice, message.id)
    await messages.delete(alice, message.id)
    assert len(harness.broadcaster.events("messageDeleted")) == 1
    page = await messages.history(bob, conversation)
    assert page.items[0].seq == 1
    assert (page.items[0].content, page.items[0].metadata) == ("", {})
    with pytest.raises(Conflict):
        await messages.edit(alice, message.id, "again")
    assert (await harness.services.conversations.get(bob, conversation)).unread_count == 0


async def test_group_admin_deletes_a_members_message(harness: Harness) -> None:
    owner, member = await harness.user("owner"), await harness.user("member")
    group = await harness.services.conversations.create_group(owner, "g", [str(member)])
    message, _ = await harness.services.messages.send(member, group.id, _text("m"))
    await harness.services.messages.delete(owner, message.id)


async def test_history_pages_both_ways(harness: Harness) -> None:
    alice, _, conversation = await _direct(harness)
    messages = harness.services.messages
    for i in range(7):
        await messages.send(alice, conversation, _text(f"c{i}"))

    newest = await messages.history(alice, conversation, limit=3)
    assert [m.seq for m in newest.items] == [7, 6, 5] and newest.has_more
    older = await messages.history(alice, conversation, before=5, limit=3)
    assert [m.seq for m in older.items] == [4, 3, 2] and older.has_more
    last = await messages.history(alice, conversation, before=2, limit=3)
    assert [m.seq for m in last.items] == [1] and not last.has_more
    catch_up = await messages.history(alice, conversation, after=4, limit=2)
    assert [m.seq for m in catch_up.items] == [5, 6] and catch_up.has_more
    with pytest.raises(ValidationFailed):
        await messages.history(alice, conversation, before=3, after=1)


@pytest.mark.parametrize("content", ["", "   \n\t", "x" * 4001])
async def test_invalid_content_is_refused(harness: Harness, content: str) -> None:
    alice, _, conversation = await _direct(harness)
    with pytest.raises(ValidationFailed):
        await harness.services.messages.send(alice, conversation, _text("c", content))


async def test_types_other_than_text_wait_for_uploads(harness: Harness) -> None:
    alice, _, conversation = await _direct(harness)
    with pytest.raises(ValidationFailed):
        await harness.services.messages.send(
            alice, conversation, MessageCreate(client_id="i", content="x", type="image")
        )


async def test_first_page_stays_right_through_sends_edits_and_deletes(harness: Harness) -> None:
    alice, bob, conversation = await _direct(harness)
    messages = harness.services.messages
    sent = [
        (await messages.send(alice, conversation, _text(f"c{i}", f"m{i}")))[0] for i in range(5)
    ]

    first = await messages.history(bob, conversation, limit=3)  # read from the database
    await messages.edit(alice, sent[4].id, "changed")
    await messages.delete(alice, sent[3].id)
    await asyncio.gather(*(messages.send(bob, conversation, _text(f"b{i}")) for i in range(3)))
    statements: list[str] = []
    engine = harness.services.database.engine.sync_engine
    record = lambda *args: statements.append(args[2])  # noqa: E731 - a one-line listener
    event.listen(engine, "before_cursor_execute", record)
    again = await messages.history(bob, conversation, limit=5)  # from the cache, kept up to date
    event.remove(engine, "before_cursor_execute", record)

    assert len(statements) == 1, statements  # the membership check; no message query

    assert [m.seq for m in first.items] == [5, 4, 3] and first.has_more
    assert [m.seq for m in again.items] == [8, 7, 6, 5, 4] and again.has_more
    assert again.items[3].content == "changed"
    assert again.items[4].deleted_at is not None and again.items[4].content == ""
    everything = await messages.history(bob, conversation, limit=100)
    assert [m.seq for m in everything.items] == list(range(8, 0, -1))
    assert not everything.has_more
