"""Messages: send, edit, delete, history.

Invariants:
- `seq` counts from 1 in each conversation without gaps: sending increments
  `conversations.last_seq` and inserts the message in one transaction.
- Acknowledged means stored: events go out and the caller gets its answer only after commit.
- Sending is idempotent on (sender, clientId): the same clientId in the same conversation
  returns the original message and emits nothing; in another conversation it is a conflict.
- Sending moves the sender's read marker to the new message (no receipt is emitted).
- Sends are written in batches (a group commit): one writer per process takes every send
  waiting, stores them in one transaction, emits their `newMessage` events in `seq` order,
  and only then writes the next batch. Under load a batch holds whatever arrived while the
  previous one was being written, so one commit serves many sends; alone, a send is a batch
  of one and waits for nothing. Each send is answered after the commit of its batch.
- This process emits a conversation's `newMessage` events in `seq` order: one writer
  assigns seqs and emits, a batch at a time.
- The first history page comes from the recent-message cache when it holds every message
  of that page for the conversation's current `last_seq`; sends, edits and deletes update
  it after commit, and a failed update drops the conversation from it once it answers.
- Only the sender edits; the sender or a group owner or admin deletes. A deleted message
  keeps its id, seq, sender and clientId, with empty content and metadata; deleting it
  again changes and emits nothing.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, RowMapping, bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from parley.backends.interfaces import RecentMessages
from parley.clock import Clock
from parley.config import Settings
from parley.conversations.membership import require_conversation, require_participant
from parley.db.base import Base
from parley.db.engine import Database
from parley.errors import Conflict, Forbidden, NotFound, Unavailable, ValidationFailed
from parley.messages.models import Message
from parley.messages.schemas import MessageCreate, MessageDeleted, MessagesPage, MessageView
from parley.metrics import Metrics
from parley.ratelimit import RateLimits
from parley.realtime.interface import Broadcaster, wire
from parley.validation import check_length, check_metadata, check_not_blank, page_size

logger = logging.getLogger(__name__)

# How often a process retries dropping stale conversations from the recent-message cache.
STALE_RETRY_SECONDS = 0.5

# Until uploads exist, only text messages are accepted.
ACCEPTED_TYPES = ("text",)

# The most sends one transaction stores: bounds a batch's statements and its time holding
# the write lock (SQLite) or the conversations' rows (PostgreSQL).
MAX_BATCH = 256


# The writer's statements, built once: a statement object keeps its cache key, so running
# it again costs no compiling. They are Core, on tables rather than mapped classes, and run
# on the session's connection: no ORM work per statement or per row.
_conversations = Base.metadata.tables["conversations"]
_participants = Base.metadata.tables["participants"]
_messages = Base.metadata.tables["messages"]
# Lookups by pairs ask IN of each column and keep the pairs asked: SQLite walks its unique
# index for that, but scans the whole table for a row-value IN of the pairs themselves.
_MEMBERSHIPS = select(
    _participants.c.conversation_id, _participants.c.user_id, _participants.c.id
).where(
    _participants.c.conversation_id.in_(bindparam("conversations", expanding=True)),
    _participants.c.user_id.in_(bindparam("users", expanding=True)),
)
_ORIGINALS = select(_messages).where(
    _messages.c.sender_id.in_(bindparam("senders", expanding=True)),
    _messages.c.client_id.in_(bindparam("client_ids", expanding=True)),
)
# The rows stay locked until commit (PostgreSQL), taken in id order so that the writers of
# several processes wait for each other and never deadlock.
_LAST_SEQS = (
    select(_conversations.c.id, _conversations.c.last_seq)
    .where(_conversations.c.id.in_(bindparam("ids", expanding=True)))
    .order_by(_conversations.c.id)
    .with_for_update()
)
_SET_LAST_SEQ = (
    update(_conversations)
    .where(_conversations.c.id == bindparam("conversation"))
    .values(
        last_seq=bindparam("new_last_seq", type_=_conversations.c.last_seq.type),
        last_activity_at=bindparam("now", type_=_conversations.c.last_activity_at.type),
    )
)
_INSERT_MESSAGES = insert(_messages)
_MOVE_READ_MARKERS = (
    update(_participants)
    .where(_participants.c.id == bindparam("participant"))
    .values(
        last_read_seq=bindparam("read_seq", type_=_participants.c.last_read_seq.type),
        last_read_at=bindparam("now", type_=_participants.c.last_read_at.type),
    )
)


@dataclass
class _Send:
    """A validated send waiting for the writer, and where its outcome goes."""

    sender_id: uuid.UUID
    conversation_id: uuid.UUID
    request: MessageCreate
    message_type: str
    metadata: dict[str, Any]
    outcome: asyncio.Future[tuple[MessageView, bool]] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )
    # Why it was refused; told once the batch's transaction is over.
    refusal: Exception | None = None

    def answer(self, view: MessageView, is_new: bool) -> None:
        if not self.outcome.done():
            self.outcome.set_result((view, is_new))

    def fail(self, error: Exception) -> None:
        if not self.outcome.done():
            self.outcome.set_exception(error)


def message_view(message: Message) -> MessageView:
    return MessageView(
        id=message.id,
        conversation_id=message.conversation_id,
        seq=message.seq,
        sender_id=message.sender_id,
        client_id=message.client_id,
        type=message.type,
        content=message.content,
        metadata=message.meta,
        created_at=message.created_at,
        edited_at=message.edited_at,
        deleted_at=message.deleted_at,
    )


class MessagesService:
    def __init__(
        self,
        database: Database,
        broadcaster: Broadcaster,
        recent: RecentMessages,
        rate_limits: RateLimits,
        metrics: Metrics,
        settings: Settings,
        clock: Clock,
    ) -> None:
        self._database = database
        self._broadcaster = broadcaster
        self._recent = recent
        # Conversations whose cached copies may be stale (an update failed); dropped from the
        # cache as soon as it answers again.
        self._stale: set[uuid.UUID] = set()
        self._dropping: asyncio.Task[None] | None = None
        self._rate_limits = rate_limits
        self._metrics = metrics
        self._settings = settings
        self._clock = clock
        self._waiting: list[_Send] = []  # sends for the writer, in arrival order
        self._writer: asyncio.Task[None] | None = None

    async def send(
        self, sender_id: uuid.UUID, conversation_id: uuid.UUID, request: MessageCreate
    ) -> tuple[MessageView, bool]:
        """Store and fan out a message; returns it and whether it is new (not a resend)."""
        message_type = request.type if request.type is not None else "text"
        metadata = request.metadata if request.metadata is not None else {}
        s = self._settings
        check_length("clientId", request.client_id, 1, s.client_id_max_length)
        if message_type not in ACCEPTED_TYPES:
            raise ValidationFailed(f"message type must be one of {', '.join(ACCEPTED_TYPES)}")
        self._check_content(request.content)
        check_metadata(metadata, s.message_metadata_max_bytes, s.message_metadata_max_depth)
        await self._rate_limits.send(sender_id)

        started = time.perf_counter()
        send = _Send(sender_id, conversation_id, request, message_type, metadata)
        self._waiting.append(send)
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_waiting())
        view, is_new = await send.outcome
        if is_new:
            self._metrics.send_seconds.observe(time.perf_counter() - started)
        return view, is_new

    async def _write_waiting(self) -> None:
        """The writer: stores, emits and answers the waiting sends, a batch at a time, until
        none is left."""
        while self._waiting:
            batch, self._waiting = self._waiting[:MAX_BATCH], self._waiting[MAX_BATCH:]
            try:
                try:
                    answers = await self._store_batch(batch)
                except IntegrityError:
                    # A clientId committed by another process meanwhile. Alone, each send
                    # sees that commit, and the one it raced is answered as a resend.
                    answers = [a for send in batch for a in await self._store_batch([send])]
                await self._emit_and_remember([(send, view) for send, view, new in answers if new])
            except Exception as error:
                for send in batch:
                    send.fail(error)
                continue
            except BaseException:  # cancelled: the process is stopping
                for send in batch + self._waiting:
                    send.outcome.cancel()
                raise
            for send, view, is_new in answers:
                send.answer(view, is_new)
            for send in batch:
                if send.refusal is not None:
                    send.fail(send.refusal)

    async def _store_batch(self, batch: list[_Send]) -> list[tuple[_Send, MessageView, bool]]:
        now = self._clock.now()
        return await self._database.write_at_once(lambda session: _store(session, batch, now))

    async def _emit_and_remember(self, stored: list[tuple[_Send, MessageView]]) -> None:
        """Emit each new message, in seq order per conversation, and keep copies."""
        by_conversation: dict[uuid.UUID, list[MessageView]] = {}
        for send, view in stored:
            await self._broadcaster.to_conversation(send.conversation_id, "newMessage", wire(view))
            by_conversation.setdefault(send.conversation_id, []).append(view)
        for conversation_id, views in by_conversation.items():
            await self._remember(conversation_id, views)

    async def edit(self, editor_id: uuid.UUID, message_id: uuid.UUID, content: str) -> MessageView:
        self._check_content(content)
        async with self._database.transaction() as session:
            message = await _require_visible_message(session, message_id, editor_id)
            if message.sender_id != editor_id:
                raise Forbidden("only the sender edits a message")
            if message.deleted_at is not None:
                raise Conflict("message is deleted")
            message.content = content
            message.edited_at = self._clock.now()

        view = message_view(message)
        await self._broadcaster.to_conversation(
            message.conversation_id, "messageEdited", wire(view)
        )
        await self._remember(message.conversation_id, [view])
        return view

    async def delete(self, deleter_id: uuid.UUID, message_id: uuid.UUID) -> None:
        async with self._database.transaction() as session:
            message = await _require_visible_message(session, message_id, deleter_id)
            if message.sender_id != deleter_id:
                conversation, deleter = await require_conversation(
                    session, message.conversation_id, deleter_id
                )
                if conversation.type != "group" or deleter.role not in ("owner", "admin"):
                    raise Forbidden("only the sender or a group owner or admin deletes")
            if message.deleted_at is not None:
                return
            message.deleted_at = self._clock.now()
            message.content = ""
            message.meta = {}

        assert message.deleted_at is not None
        deleted = MessageDeleted(
            id=message.id,
            conversation_id=message.conversation_id,
            seq=message.seq,
            deleted_at=message.deleted_at,
        )
        await self._broadcaster.to_conversation(
            message.conversation_id, "messageDeleted", wire(deleted)
        )
        await self._remember(message.conversation_id, [message_view(message)])

    async def history(
        self,
        reader_id: uuid.UUID,
        conversation_id: uuid.UUID,
        before: int | None = None,
        after: int | None = None,
        limit: int | None = None,
    ) -> MessagesPage:
        """Newest first below `before` (or from the end), or oldest first above `after`."""
        if before is not None and after is not None:
            raise ValidationFailed("give before or after, not both")
        if (before is not None and before < 0) or (after is not None and after < 0):
            raise ValidationFailed("seq must not be negative")
        page_size = self._page_size(limit)

        newest_page = before is None and after is None
        query = select(Message).where(Message.conversation_id == conversation_id)
        if after is not None:
            query = query.where(Message.seq > after).order_by(Message.seq)
        else:
            if before is not None:
                query = query.where(Message.seq < before)
            query = query.order_by(Message.seq.desc())

        async with self._database.reading() as session:
            conversation, _ = await require_conversation(session, conversation_id, reader_id)
            if newest_page:
                cached = await self._recall(conversation_id, conversation.last_seq, page_size)
                if cached is not None:
                    return cached
            messages = (await session.scalars(query.limit(page_size + 1))).all()
        page = MessagesPage(
            items=[message_view(m) for m in messages[:page_size]],
            has_more=len(messages) > page_size,
        )
        if newest_page:
            await self._remember(conversation_id, page.items)
        return page

    async def _recall(
        self, conversation_id: uuid.UUID, last_seq: int, page_size: int
    ) -> MessagesPage | None:
        """The newest page from the recent-message cache, if it holds all of it."""
        try:
            await self._drop_stale()
            held = await self._recent.newest(conversation_id, last_seq, page_size)
        except Unavailable:
            return None
        if held is None:
            return None
        items = [MessageView.model_validate(message) for message in held]
        # Seqs have no gaps: anything below the oldest held means there is more.
        return MessagesPage(items=items, has_more=bool(items) and items[-1].seq > 1)

    async def _remember(self, conversation_id: uuid.UUID, views: list[MessageView]) -> None:
        """Keep copies in the recent-message cache; a cache that is away is skipped."""
        if not views:
            return
        try:
            await self._drop_stale()
            await self._recent.store(conversation_id, [wire(view) for view in views])
        except Unavailable:
            logger.warning("recent-message cache not updated: shared state unavailable")
            self._stale.add(conversation_id)
            if self._dropping is None or self._dropping.done():
                self._dropping = asyncio.create_task(self._drop_stale_when_back())

    async def _drop_stale_when_back(self) -> None:
        """Retry until the cache answers, so other processes stop serving stale copies soon."""
        while self._stale:
            await asyncio.sleep(STALE_RETRY_SECONDS)
            try:
                await self._drop_stale()
            except Unavailable:
                continue

    async def _drop_stale(self) -> None:
        if self._stale:
            await self._recent.forget(self._stale)
            self._stale = set()

    def _check_content(self, content: str) -> None:
        check_length("content", content, 1, self._settings.message_content_max_chars)
        check_not_blank("content", content)

    def _page_size(self, limit: int | None) -> int:
        return page_size(limit, self._settings.page_size_default, self._settings.page_size_max)


def _store(
    session: Session, batch: list[_Send], now: datetime
) -> list[tuple[_Send, MessageView, bool]]:
    """Stores the batch in one transaction: sends by non-participants and clientIds used
    in another conversation get their refusal; the others are returned with their message
    and whether it is new (not a resend), new ones in seq order per conversation."""
    connection = session.connection()
    members = _participant_ids(connection, batch)
    originals = _find_originals(connection, batch)
    answers: list[tuple[_Send, MessageView, bool]] = []
    fresh: dict[tuple[uuid.UUID, str], _Send] = {}  # the first of each clientId
    repeats: list[_Send] = []  # the same clientId again within the batch
    for send in batch:
        key = (send.sender_id, send.request.client_id)
        if (send.conversation_id, send.sender_id) not in members:
            send.refusal = NotFound("conversation not found")
        elif key in originals:
            answers += _resend(send, _view_of_row(originals[key]))
        elif key in fresh:
            repeats.append(send)
        else:
            fresh[key] = send
    if not fresh:
        return answers
    seqs = _next_seqs(connection, list(fresh.values()), now)
    rows = [_message_row(send, seqs[key], now) for key, send in fresh.items()]
    connection.execute(_INSERT_MESSAGES, rows)
    read_to = {
        members[(send.conversation_id, send.sender_id)]: seqs[key] for key, send in fresh.items()
    }
    connection.execute(
        _MOVE_READ_MARKERS,
        [{"participant": pid, "read_seq": seq, "now": now} for pid, seq in read_to.items()],
    )
    views = {key: _view_of_row(row) for key, row in zip(fresh, rows, strict=True)}
    answers += [(send, views[key], True) for key, send in fresh.items()]
    for send in repeats:
        answers += _resend(send, views[(send.sender_id, send.request.client_id)])
    return answers


def _resend(send: _Send, original: MessageView) -> list[tuple[_Send, MessageView, bool]]:
    """The same clientId again: answered with the original message, or fails as a conflict
    when that is in another conversation."""
    if original.conversation_id != send.conversation_id:
        send.refusal = Conflict("clientId already used in another conversation")
        return []
    return [(send, original, False)]


def _participant_ids(
    connection: Connection, batch: Sequence[_Send]
) -> dict[tuple[uuid.UUID, uuid.UUID], int]:
    """(conversation, user) -> participant id, for the senders of the batch who are members."""
    pairs = {(send.conversation_id, send.sender_id) for send in batch}
    asked = {"conversations": list({c for c, _ in pairs}), "users": list({u for _, u in pairs})}
    found = {(c, u): pid for c, u, pid in connection.execute(_MEMBERSHIPS, asked)}
    return {pair: pid for pair, pid in found.items() if pair in pairs}


def _find_originals(
    connection: Connection, batch: Sequence[_Send]
) -> dict[tuple[uuid.UUID, str], RowMapping]:
    """Messages already stored under the batch's (sender, clientId) pairs."""
    pairs = {(send.sender_id, send.request.client_id) for send in batch}
    asked = {"senders": list({s for s, _ in pairs}), "client_ids": list({c for _, c in pairs})}
    rows = connection.execute(_ORIGINALS, asked).mappings()
    found = {(row["sender_id"], row["client_id"]): row for row in rows}
    return {pair: message for pair, message in found.items() if pair in pairs}


def _next_seqs(
    connection: Connection, fresh: Sequence[_Send], now: datetime
) -> dict[tuple[uuid.UUID, str], int]:
    """The seq of each new message, by (sender, clientId): consecutive per conversation, in
    batch order."""
    ids = list({send.conversation_id for send in fresh})
    rows = connection.execute(_LAST_SEQS, {"ids": ids})
    last: dict[uuid.UUID, int] = {conversation_id: seq for conversation_id, seq in rows}
    seqs = {}
    for send in fresh:
        last[send.conversation_id] += 1
        seqs[(send.sender_id, send.request.client_id)] = last[send.conversation_id]
    connection.execute(
        _SET_LAST_SEQ,
        [{"conversation": cid, "new_last_seq": seq, "now": now} for cid, seq in last.items()],
    )
    return seqs


def _message_row(send: _Send, seq: int, now: datetime) -> dict[str, Any]:
    """A new message as a row of the messages table (its columns' names)."""
    return {
        "id": uuid.uuid4(),
        "conversation_id": send.conversation_id,
        "seq": seq,
        "sender_id": send.sender_id,
        "client_id": send.request.client_id,
        "type": send.message_type,
        "content": send.request.content,
        "metadata": send.metadata,
        "created_at": now,
        "edited_at": None,
        "deleted_at": None,
    }


def _view_of_row(row: Mapping[Any, Any]) -> MessageView:
    return MessageView(
        id=row["id"],
        conversation_id=row["conversation_id"],
        seq=row["seq"],
        sender_id=row["sender_id"],
        client_id=row["client_id"],
        type=row["type"],
        content=row["content"],
        metadata=row["metadata"],
        created_at=row["created_at"],
        edited_at=row["edited_at"],
        deleted_at=row["deleted_at"],
    )


async def _require_visible_message(
    session: AsyncSession, message_id: uuid.UUID, user_id: uuid.UUID
) -> Message:
    """A message in one of the user's conversations; any other does not exist for them."""
    message = await session.get(Message, message_id)
    if message is None:
        raise NotFound("message not found")
    try:
        await require_participant(session, message.conversation_id, user_id)
    except NotFound:
        raise NotFound("message not found") from None
    return message
