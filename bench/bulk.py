"""Bulk data for the benchmarks, written straight into a migrated Parley database.

Sending a million messages through the API takes hours; these writes take seconds, and
leave exactly the rows the services would have written: the same tables, the same column
encodings (through Parley's own models), gap-free seqs, the conversation's `last_seq` and
`last_activity_at`, and each sender's read marker on their own newest message.

Two kinds of data, each a subcommand (run from the repository root):

    .venv/bin/python -m bench.bulk history --database-url URL \\
        --conversation-id ID --count 1000000 [--chunk 50000] [--span-days 30]

        `count` messages into an existing conversation, sent in turn by its participants
        (join order), with seqs continuing from its `last_seq`, spread evenly in time from
        its last activity (or `span-days` ago, whichever is later) to now.

    .venv/bin/python -m bench.bulk conversations --database-url URL \\
        --user-id ID [--partner-ids ID [ID ...]] --count 2000 [--messages 3] [--unread 2]

        `count` groups, each created by one of the partners in turn (its owner), with the
        user and the other partners as members, and `messages` messages each. Without
        `--partner-ids`, the partners are the two users registered first besides the user
        (at least one is needed). In each group the user sent the message before the last
        `unread`, which the partners sent, so each group shows `unread` unread messages to
        the user. Groups are spaced a minute apart, the newest one minute ago.

URL is what `PARLEY_DATABASE_URL` takes (a `sqlite+aiosqlite:///` file or a
`postgresql://` URL); the users and the conversation must exist (create them through the
API), and the schema must be at the newest revision (`parley migrate`). Each chunk is one
transaction, so the database is consistent after every commit. On PostgreSQL the touched
tables are analyzed at the end, as autovacuum would do shortly after. A running server may
keep serving meanwhile; nobody should send to the same conversation during a `history` run.

A million messages take about 40 s on SQLite and on PostgreSQL; 2,000 groups, a second or
two. From Python: `await bulk_history(url, conversation_id, count)` and
`await bulk_conversations(url, user_id, partner_ids, count)` (`partner_ids` may be None).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Table, func, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection

from parley.clock import truncate_to_ms
from parley.config import Settings
from parley.conversations.models import Conversation, Participant
from parley.db.engine import Database
from parley.messages.models import Message
from parley.users.models import User

MESSAGES: Table = Message.__table__  # type: ignore[assignment]
CONVERSATIONS: Table = Conversation.__table__  # type: ignore[assignment]
PARTICIPANTS: Table = Participant.__table__  # type: ignore[assignment]

DEFAULT_CHUNK = 50_000
DEFAULT_PARTNERS = 2
DEFAULT_SPAN_DAYS = 30.0
GROUP_SPACING = timedelta(minutes=1)
MESSAGE_SPACING = timedelta(seconds=1)
MAX_MESSAGES_PER_GROUP = 50  # so a group's messages fit in its minute

# Chat-length texts of varied length, cycled through.
SENTENCE = (
    "sure, see you at the stand-up tomorrow; bring the numbers from last week and the "
    "draft of the plan if you have it ready, otherwise we can go through it together"
)
WORDS = SENTENCE.split()


def content_for(seq: int) -> str:
    return f"Message {seq}: " + " ".join(WORDS[: 3 + seq % (len(WORDS) - 3)])


@dataclass(frozen=True)
class HistoryResult:
    first_seq: int
    last_seq: int
    seconds: float


@dataclass(frozen=True)
class ConversationsResult:
    conversation_ids: list[uuid.UUID]
    seconds: float


def _database(database_url: str) -> Database:
    return Database(Settings(database_url=database_url).resolved_database_url)


async def bulk_history(
    database_url: str,
    conversation_id: uuid.UUID,
    count: int,
    chunk: int = DEFAULT_CHUNK,
    span: timedelta = timedelta(days=DEFAULT_SPAN_DAYS),
) -> HistoryResult:
    """Append `count` messages to a conversation, sent in turn by its participants."""
    if count < 1 or chunk < 1:
        raise ValueError("count and chunk must be positive")
    started = time.perf_counter()
    database = _database(database_url)
    try:
        async with database.engine.connect() as connection:
            row = (
                await connection.execute(
                    select(Conversation.last_seq, Conversation.last_activity_at).where(
                        Conversation.id == conversation_id
                    )
                )
            ).first()
            if row is None:
                raise LookupError(f"no conversation {conversation_id}")
            senders = list(
                await connection.scalars(
                    select(Participant.user_id)
                    .where(Participant.conversation_id == conversation_id)
                    .order_by(Participant.id)
                )
            )
            await connection.rollback()
        if not senders:
            raise LookupError(f"conversation {conversation_id} has no participants")
        first_seq = row.last_seq + 1

        # Evenly spread from the later of the last activity and `span` ago, to now.
        now = truncate_to_ms(datetime.now(UTC))
        begin = max(row.last_activity_at, now - span)
        step = (now - begin) / count

        done = 0
        while done < count:
            size = min(chunk, count - done)
            times = [truncate_to_ms(begin + step * (done + i + 1)) for i in range(size)]
            async with database.engine.begin() as connection:
                await _append_messages(connection, conversation_id, senders, done, times)
            done += size
        if not database.is_sqlite:
            async with database.engine.begin() as connection:
                await connection.execute(text("ANALYZE messages, conversations, participants"))
    finally:
        await database.dispose()
    return HistoryResult(first_seq, first_seq + count - 1, time.perf_counter() - started)


async def _append_messages(
    connection: AsyncConnection,
    conversation_id: uuid.UUID,
    senders: Sequence[uuid.UUID],
    offset: int,
    times: Sequence[datetime],
) -> None:
    """One chunk, as the send path writes it: the conversation's counter first (which takes
    the write lock, or the row lock on PostgreSQL), the messages, then the senders' markers."""
    last_seq = await connection.scalar(
        update(Conversation)
        .where(Conversation.id == conversation_id)
        .values(last_seq=Conversation.last_seq + len(times), last_activity_at=times[-1])
        .returning(Conversation.last_seq)
    )
    assert last_seq is not None
    base = last_seq - len(times)
    rows: list[dict[str, Any]] = []
    newest: dict[uuid.UUID, tuple[int, datetime]] = {}
    for i, at in enumerate(times):
        seq = base + i + 1
        sender = senders[(offset + i) % len(senders)]
        newest[sender] = (seq, at)
        rows.append(_message_row(conversation_id, seq, sender, at))
    await connection.execute(MESSAGES.insert(), rows)
    for sender, (seq, at) in newest.items():
        await _mark_sender_read(connection, conversation_id, sender, seq, at)


def _message_row(
    conversation_id: uuid.UUID, seq: int, sender: uuid.UUID, at: datetime
) -> dict[str, Any]:
    return {
        "id": uuid.uuid4(),
        "conversation_id": conversation_id,
        "seq": seq,
        "sender_id": sender,
        "client_id": str(uuid.uuid4()),
        "type": "text",
        "content": content_for(seq),
        "metadata": {},
        "created_at": at,
        "edited_at": None,
        "deleted_at": None,
    }


async def _mark_sender_read(
    connection: AsyncConnection, conversation_id: uuid.UUID, user: uuid.UUID, seq: int, at: datetime
) -> None:
    await connection.execute(
        update(Participant)
        .where(Participant.conversation_id == conversation_id, Participant.user_id == user)
        .values(last_read_seq=seq, last_read_at=at)
    )


async def bulk_conversations(
    database_url: str,
    user_id: uuid.UUID,
    partner_ids: Sequence[uuid.UUID] | None,
    count: int,
    messages: int = 3,
    unread: int = 2,
    chunk: int = 1_000,
) -> ConversationsResult:
    """Create `count` groups of the user and the partners, each showing `unread` unread
    messages to the user; returns their ids, newest first. No `partner_ids`: the first
    `DEFAULT_PARTNERS` users registered besides the user."""
    if count < 1 or chunk < 1:
        raise ValueError("count and chunk must be positive")
    if not 0 <= unread <= messages <= MAX_MESSAGES_PER_GROUP:
        raise ValueError(f"need 0 <= unread <= messages <= {MAX_MESSAGES_PER_GROUP}")
    started = time.perf_counter()
    database = _database(database_url)
    ids = [uuid.uuid4() for _ in range(count)]
    try:
        async with database.engine.connect() as connection:
            if partner_ids is None:
                partner_ids = list(
                    await connection.scalars(
                        select(User.id)
                        .where(User.id != user_id)
                        .order_by(User.created_at, User.id)
                        .limit(DEFAULT_PARTNERS)
                    )
                )
            partners = list(dict.fromkeys(p for p in partner_ids if p != user_id))
            found = await connection.scalar(
                select(func.count()).where(User.id.in_([user_id, *partners]))
            )
            await connection.rollback()
        if not partners:
            raise ValueError("a partner other than the user is needed")
        if found != len(partners) + 1:
            raise LookupError("the user or a partner does not exist")
        now = truncate_to_ms(datetime.now(UTC))
        oldest = now - GROUP_SPACING * (count + 1)
        for start in range(0, count, chunk):
            async with database.engine.begin() as connection:
                await _create_groups(
                    connection,
                    [(start + i, ids[start + i]) for i in range(min(chunk, count - start))],
                    user_id,
                    partners,
                    oldest,
                    messages,
                    unread,
                )
        if not database.is_sqlite:
            async with database.engine.begin() as connection:
                await connection.execute(text("ANALYZE messages, conversations, participants"))
    finally:
        await database.dispose()
    return ConversationsResult(list(reversed(ids)), time.perf_counter() - started)


def _group_senders(
    user_id: uuid.UUID, members: Sequence[uuid.UUID], messages: int, unread: int
) -> list[uuid.UUID]:
    """Who sends each message of a group: the partners the last `unread`, the user the one
    before them, and the user and the partners in turn before that."""
    partners = [m for m in members if m != user_id]
    senders: list[uuid.UUID] = []
    for seq in range(1, messages + 1):
        from_end = messages - unread - seq  # 0 for the user's last message
        if from_end < 0:
            senders.append(partners[seq % len(partners)])
        elif from_end % 2 == 0:
            senders.append(user_id)
        else:
            senders.append(partners[seq % len(partners)])
    return senders


async def _create_groups(
    connection: AsyncConnection,
    groups: Sequence[tuple[int, uuid.UUID]],
    user_id: uuid.UUID,
    partners: Sequence[uuid.UUID],
    oldest: datetime,
    messages: int,
    unread: int,
) -> None:
    """Groups as `create_group` writes them (the owner first in join order), then their
    messages and read markers as sending leaves them."""
    conversations: list[dict[str, Any]] = []
    participants: list[dict[str, Any]] = []
    message_rows: list[dict[str, Any]] = []
    for number, conversation_id in groups:
        created = oldest + GROUP_SPACING * number
        owner = partners[number % len(partners)]
        members = [owner, *(p for p in itertools.chain([user_id], partners) if p != owner)]
        senders = _group_senders(user_id, members, messages, unread)
        times = [created + MESSAGE_SPACING * seq for seq in range(1, messages + 1)]
        conversations.append(
            {
                "id": conversation_id,
                "type": "group",
                "name": f"Group {number + 1}",
                "direct_key": None,
                "last_seq": messages,
                "created_at": created,
                "updated_at": created,
                "last_activity_at": times[-1] if times else created,
            }
        )
        for member in members:
            sent = [seq for seq, sender in enumerate(senders, start=1) if sender == member]
            participants.append(
                {
                    "conversation_id": conversation_id,
                    "user_id": member,
                    "role": "owner" if member == owner else "member",
                    "joined_at": created,
                    "last_read_seq": sent[-1] if sent else 0,
                    "last_read_at": times[sent[-1] - 1] if sent else None,
                }
            )
        for seq, (sender, at) in enumerate(zip(senders, times, strict=True), start=1):
            message_rows.append(_message_row(conversation_id, seq, sender, at))
    await connection.execute(CONVERSATIONS.insert(), conversations)
    # One row at a time in a list keeps the order, so ids follow join order.
    await connection.execute(PARTICIPANTS.insert(), participants)
    if message_rows:
        await connection.execute(MESSAGES.insert(), message_rows)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench.bulk", description=__doc__.split("\n")[0]
    )
    commands = parser.add_subparsers(dest="command", required=True)

    history = commands.add_parser("history", help="append messages to a conversation")
    history.add_argument("--database-url", required=True)
    history.add_argument("--conversation-id", required=True, type=uuid.UUID)
    history.add_argument("--count", required=True, type=int)
    history.add_argument("--chunk", type=int, default=DEFAULT_CHUNK)
    history.add_argument("--span-days", type=float, default=DEFAULT_SPAN_DAYS)

    groups = commands.add_parser("conversations", help="put a user in many groups")
    groups.add_argument("--database-url", required=True)
    groups.add_argument("--user-id", required=True, type=uuid.UUID)
    groups.add_argument("--partner-ids", type=uuid.UUID, nargs="+")
    groups.add_argument("--count", required=True, type=int)
    groups.add_argument("--messages", type=int, default=3)
    groups.add_argument("--unread", type=int, default=2)
    return parser


async def _main(args: argparse.Namespace) -> None:
    if args.command == "history":
        result = await bulk_history(
            args.database_url,
            args.conversation_id,
            args.count,
            chunk=args.chunk,
            span=timedelta(days=args.span_days),
        )
        print(
            f"history: seqs {result.first_seq}..{result.last_seq} in {result.seconds:.1f} s",
            flush=True,
        )
    else:
        made = await bulk_conversations(
            args.database_url,
            args.user_id,
            args.partner_ids,
            args.count,
            messages=args.messages,
            unread=args.unread,
        )
        print(f"conversations: {len(made.conversation_ids)} in {made.seconds:.1f} s", flush=True)


if __name__ == "__main__":
    asyncio.run(_main(_parser().parse_args()))
