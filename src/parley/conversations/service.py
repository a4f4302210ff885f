"""Conversations, participants, roles and read markers.

Invariants:
- Two users share at most one direct conversation (unique `direct_key`); both are members.
- A group has one owner; when the owner leaves, the longest-standing admin, else the
  longest-standing member, takes over. Only the owner changes roles or removes admins.
- Someone added to a group starts with their read marker at the conversation's `lastSeq`.
- Read markers only move forward, and never past `lastSeq`.
- Who is told: `conversationUpdated` (without unread counts) to every participant when a
  conversation is created, renamed, or its participants or roles change, and to a removed
  participant; `readReceipt` to every participant when a marker moves. Sockets join and
  leave the conversation's room before the event goes out.
- Views of a page of conversations cost a fixed number of statements, whatever the number
  of conversations or participants.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import and_, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.selectable import ScalarSelect

from parley.clock import Clock
from parley.config import Settings
from parley.conversations.membership import (
    get_participant,
    require_conversation,
    require_participant,
)
from parley.conversations.models import Conversation, Participant
from parley.conversations.schemas import (
    ConversationPage,
    ConversationShared,
    ConversationView,
    ParticipantPage,
    ParticipantView,
    ReadReceipt,
    Role,
)
from parley.db.engine import Database
from parley.errors import Conflict, Forbidden, NotFound, ValidationFailed
from parley.messages.models import Message
from parley.messages.service import message_view
from parley.realtime.interface import Broadcaster, wire
from parley.schemas import MAX_SEQ
from parley.users.models import User
from parley.users.service import UsersService
from parley.validation import check_length, check_not_blank, page_size

# How many participants a conversation view embeds (docs/api.md, "Conversation").
PARTICIPANTS_IN_LIST_ITEM = 10
PARTICIPANTS_IN_DETAIL = 100

MANAGER_ROLES = ("owner", "admin")


class ConversationsService:
    def __init__(
        self,
        database: Database,
        users: UsersService,
        broadcaster: Broadcaster,
        settings: Settings,
        clock: Clock,
    ) -> None:
        self._database = database
        self._users = users
        self._broadcaster = broadcaster
        self._settings = settings
        self._clock = clock

    # Creating

    async def create_direct(
        self, caller_id: uuid.UUID, participant_ids: list[str], name: str | None
    ) -> tuple[ConversationView, bool]:
        """The direct conversation of the caller and one other user, and whether it is new."""
        if name is not None:
            raise ValidationFailed("a direct conversation has no name")
        if len(participant_ids) != 1:
            raise ValidationFailed("a direct conversation takes exactly one other participant")
        other_id = _parse_user_id(participant_ids[0])
        if other_id == caller_id:
            raise ValidationFailed("a direct conversation needs another user")
        direct_key = ":".join(sorted((str(caller_id), str(other_id))))

        existing = await self._find_direct(direct_key)
        if existing is not None:
            return await self.get(caller_id, existing), False

        now = self._clock.now()
        conversation = _new_conversation("direct", None, direct_key, now)
        try:
            async with self._database.transaction() as session:
                await _require_users_exist(session, [other_id])
                session.add(conversation)
                await session.flush()
                for user_id in (caller_id, other_id):
                    session.add(_new_participant(conversation, user_id, "member", now))
        except IntegrityError:
            # Both people created it at once; the other request won.
            existing = await self._find_direct(direct_key)
            if existing is None:
                raise
            return await self.get(caller_id, existing), False

        await self._broadcaster.join_conversation([caller_id, other_id], conversation.id)
        return await self._announce_and_view(caller_id, conversation.id), True

    async def create_group(
        self, caller_id: uuid.UUID, name: str | None, participant_ids: list[str]
    ) -> ConversationView:
        if name is None:
            raise ValidationFailed("a group needs a name")
        self._check_group_name(name)
        member_ids = _unique_ids(participant_ids, exclude=caller_id)
        if len(member_ids) + 1 > self._settings.group_max_participants:
            raise ValidationFailed(
                f"a group has at most {self._settings.group_max_participants} participants"
            )

        now = self._clock.now()
        conversation = _new_conversation("group", name, None, now)
        async with self._database.transaction() as session:
            await _require_users_exist(session, member_ids)
            session.add(conversation)
            await session.flush()
            session.add(_new_participant(conversation, caller_id, "owner", now))
            await session.flush()  # the owner first in join order
            session.add_all(_new_participant(conversation, m, "member", now) for m in member_ids)

        await self._broadcaster.join_conversation([caller_id, *member_ids], conversation.id)
        return await self._announce_and_view(caller_id, conversation.id)

    # Reading

    async def get(self, caller_id: uuid.UUID, conversation_id: uuid.UUID) -> ConversationView:
        async with self._database.reading() as session:
            await require_participant(session, conversation_id, caller_id)
            views = await self._views(session, caller_id, [conversation_id], PARTICIPANTS_IN_DETAIL)
        return views[0]

    async def list_conversations(
        self, caller_id: uuid.UUID, limit: int | None, before: str | None
    ) -> ConversationPage:
        """The caller's conversations, latest activity first, ties by id."""
        page_size = self._page_size(limit)
        query = (
            select(Conversation.id, Conversation.last_activity_at)
            .join(Participant, Participant.conversation_id == Conversation.id)
            .where(Participant.user_id == caller_id)
            .order_by(Conversation.last_activity_at.desc(), Conversation.id.desc())
            .limit(page_size + 1)
        )
        if before is not None:
            at, last_id = _decode_cursor(before)
            query = query.where(
                or_(
                    Conversation.last_activity_at < at,
                    and_(Conversation.last_activity_at == at, Conversation.id < last_id),
                )
            )

        async with self._database.reading() as session:
            rows = (await session.execute(query)).all()
            page = rows[:page_size]
            items = await self._views(
                session, caller_id, [row.id for row in page], PARTICIPANTS_IN_LIST_ITEM
            )
        next_cursor = None
        if len(rows) > page_size:
            next_cursor = _encode_cursor(page[-1].last_activity_at, page[-1].id)
        return ConversationPage(items=items, next_cursor=next_cursor)

    async def list_participants(
        self, caller_id: uuid.UUID, conversation_id: uuid.UUID, after: str | None, limit: int | None
    ) -> ParticipantPage:
        """Participants in join order; the cursor is the position of the last one returned."""
        page_size = self._page_size(limit)
        query = (
            select(Participant, User)
            .join(User, User.id == Participant.user_id)
            .where(Participant.conversation_id == conversation_id)
            .order_by(Participant.id)
            .limit(page_size + 1)
        )
        if after is not None:
            if not after.isdigit() or int(after) > MAX_SEQ:
                raise ValidationFailed("after is not a cursor from this endpoint")
            position = int(after)
            query = query.where(Participant.id > position)

        async with self._database.reading() as session:
            await require_participant(session, conversation_id, caller_id)
            rows = (await session.execute(query)).all()
        page = rows[:page_size]
        items = await self._participant_views([(p, u) for p, u in page])
        next_cursor = str(page[-1][0].id) if len(rows) > page_size else None
        return ParticipantPage(items=items, next_cursor=next_cursor)

    async def conversation_ids_of(self, user_id: uuid.UUID) -> list[uuid.UUID]:
        """Every conversation the user is in: the rooms their sockets join."""
        async with self._database.reading() as session:
            ids = await session.scalars(
                select(Participant.conversation_id).where(Participant.user_id == user_id)
            )
            return list(ids)

    async def contacts_of(self, user_id: uuid.UUID) -> list[uuid.UUID]:
        """Everyone who shares at least one conversation with the user."""
        mine = select(Participant.conversation_id).where(Participant.user_id == user_id)
        async with self._database.reading() as session:
            ids = await session.scalars(
                select(Participant.user_id)
                .where(Participant.conversation_id.in_(mine), Participant.user_id != user_id)
                .distinct()
            )
            return list(ids)

    # Changing a group

    async def rename(
        self, caller_id: uuid.UUID, conversation_id: uuid.UUID, name: str
    ) -> ConversationView:
        self._check_group_name(name)
        async with self._database.transaction() as session:
            conversation, caller = await require_conversation(session, conversation_id, caller_id)
            _require_group(conversation)
            _require_role(caller, MANAGER_ROLES)
            conversation.name = name
            conversation.updated_at = self._clock.now()
        return await self._announce_and_view(caller_id, conversation_id)

    async def add_participants(
        self, caller_id: uuid.UUID, conversation_id: uuid.UUID, user_ids: list[str]
    ) -> ConversationView:
        candidate_ids = _unique_ids(user_ids, exclude=caller_id)
        now = self._clock.now()
        async with self._database.transaction() as session:
            conversation, caller = await require_conversation(
                session, conversation_id, caller_id, lock=True
            )
            _require_group(conversation)
            _require_role(caller, MANAGER_ROLES)
            await _require_users_exist(session, candidate_ids)

            present = set(
                await session.scalars(
                    select(Participant.user_id).where(
                        Participant.conversation_id == conversation_id
                    )
                )
            )
            added = [user_id for user_id in candidate_ids if user_id not in present]
            if len(present) + len(added) > self._settings.group_max_participants:
                raise ValidationFailed(
                    f"a group has at most {self._settings.group_max_participants} participants"
                )
            session.add_all(_new_participant(conversation, u, "member", now) for u in added)
            if added:
                conversation.updated_at = now

        if not added:
            return await self.get(caller_id, conversation_id)
        await self._broadcaster.join_conversation(added, conversation_id)
        return await self._announce_and_view(caller_id, conversation_id)

    async def set_role(
        self, caller_id: uuid.UUID, conversation_id: uuid.UUID, user_id: uuid.UUID, role: Role
    ) -> ParticipantView:
        async with self._database.transaction() as session:
            conversation, caller = await require_conversation(
                session, conversation_id, caller_id, lock=True
            )
            _require_group(conversation)
            _require_role(caller, ("owner",))
            target = await _find_participant(session, conversation_id, user_id)
            if target.role == "owner":
                raise Conflict("the owner's role cannot change")
            changed = target.role != role
            target.role = role
            if changed:
                conversation.updated_at = self._clock.now()
            user = await session.get(User, user_id)
            assert user is not None

        if changed:
            await self._announce(conversation_id)
        return (await self._participant_views([(target, user)]))[0]

    async def remove_participant(
        self, caller_id: uuid.UUID, conversation_id: uuid.UUID, user_id: uuid.UUID
    ) -> None:
        """Remove someone, or leave when `user_id` is the caller's own."""
        now = self._clock.now()
        async with self._database.transaction() as session:
            conversation, caller = await require_conversation(
                session, conversation_id, caller_id, lock=True
            )
            _require_group(conversation)
            target = await _find_participant(session, conversation_id, user_id)
            if target.id != caller.id:
                if target.role == "owner":
                    raise Forbidden("nobody removes the owner")
                allowed = ("owner",) if target.role == "admin" else MANAGER_ROLES
                _require_role(caller, allowed)

            await session.delete(target)
            if target.role == "owner":
                await _pass_ownership(session, conversation_id)
            conversation.updated_at = now

        await self._broadcaster.leave_conversation([user_id], conversation_id)
        shared = await self._shared_view(conversation_id)
        await self._broadcaster.to_conversation(conversation_id, "conversationUpdated", shared)
        await self._broadcaster.to_users([user_id], "conversationUpdated", shared)

    # Read markers

    async def mark_read(self, caller_id: uuid.UUID, conversation_id: uuid.UUID, seq: int) -> int:
        """Move the caller's read marker forward to `seq` (at most `lastSeq`); the new marker."""
        if seq < 0:
            raise ValidationFailed("seq must not be negative")
        now = self._clock.now()
        async with self._database.transaction() as session:
            conversation, participant = await require_conversation(
                session, conversation_id, caller_id
            )
            target = min(seq, conversation.last_seq)
            moved = target > participant.last_read_seq
            if moved:
                participant.last_read_seq = target
                participant.last_read_at = now
            marker = participant.last_read_seq

        if moved:
            receipt = ReadReceipt(
                conversation_id=conversation_id, user_id=caller_id, seq=marker, read_at=now
            )
            await self._broadcaster.to_conversation(conversation_id, "readReceipt", wire(receipt))
        return marker

    # Views

    async def _announce_and_view(
        self, caller_id: uuid.UUID, conversation_id: uuid.UUID
    ) -> ConversationView:
        await self._announce(conversation_id)
        return await self.get(caller_id, conversation_id)

    async def _announce(self, conversation_id: uuid.UUID) -> None:
        shared = await self._shared_view(conversation_id)
        await self._broadcaster.to_conversation(conversation_id, "conversationUpdated", shared)

    async def _shared_view(self, conversation_id: uuid.UUID) -> dict[str, object]:
        async with self._database.reading() as session:
            views = await self._views(session, None, [conversation_id], PARTICIPANTS_IN_DETAIL)
        shared = ConversationShared.model_validate(views[0].model_dump(exclude={"unread_count"}))
        return wire(shared)

    async def _views(
        self,
        session: AsyncSession,
        viewer_id: uuid.UUID | None,
        conversation_ids: Sequence[uuid.UUID],
        participant_limit: int,
    ) -> list[ConversationView]:
        """Views of the given conversations, in the given order, in two statements.

        Without a viewer (an event for everyone), unread counts are 0 and left out later.
        """
        if not conversation_ids:
            return []
        last_message = Message.__table__.alias("last_message")
        participant_count = (
            select(func.count())
            .where(Participant.conversation_id == Conversation.id)
            .correlate(Conversation)
            .scalar_subquery()
        )
        query = select(
            Conversation, participant_count.label("participant_count"), last_message
        ).outerjoin(
            last_message,
            and_(
                last_message.c.conversation_id == Conversation.id,
                last_message.c.seq == Conversation.last_seq,
            ),
        )
        if viewer_id is not None:
            query = query.add_columns(_unread_count(viewer_id).label("unread_count"))
        rows = (await session.execute(query.where(Conversation.id.in_(conversation_ids)))).all()

        participants = await self._embedded_participants(
            session, conversation_ids, participant_limit
        )
        by_id: dict[uuid.UUID, ConversationView] = {}
        for row in rows:
            conversation: Conversation = row[0]
            message = None
            if row.seq is not None:
                message = Message(
                    id=row.id,
                    conversation_id=row.conversation_id,
                    seq=row.seq,
                    sender_id=row.sender_id,
                    client_id=row.client_id,
                    type=row.type,
                    content=row.content,
                    meta=row.metadata,
                    created_at=row.created_at,
                    edited_at=row.edited_at,
                    deleted_at=row.deleted_at,
                )
            by_id[conversation.id] = ConversationView(
                id=conversation.id,
                type=conversation.type,
                name=conversation.name,
                participant_count=row.participant_count,
                participants=participants.get(conversation.id, []),
                last_seq=conversation.last_seq,
                last_message=message_view(message) if message is not None else None,
                unread_count=row.unread_count if viewer_id is not None else 0,
                created_at=conversation.created_at,
                updated_at=conversation.updated_at,
                last_activity_at=conversation.last_activity_at,
            )
        return [by_id[cid] for cid in conversation_ids if cid in by_id]

    async def _embedded_participants(
        self, session: AsyncSession, conversation_ids: Sequence[uuid.UUID], limit: int
    ) -> dict[uuid.UUID, list[ParticipantView]]:
        """The first `limit` participants of each conversation, in join order, in one query."""
        position = (
            func.row_number()
            .over(partition_by=Participant.conversation_id, order_by=Participant.id)
            .label("position")
        )
        ranked = (
            select(Participant.id, position)
            .where(Participant.conversation_id.in_(conversation_ids))
            .subquery()
        )
        rows = (
            await session.execute(
                select(Participant, User)
                .join(ranked, ranked.c.id == Participant.id)
                .join(User, User.id == Participant.user_id)
                .where(ranked.c.position <= limit)
                .order_by(Participant.id)
            )
        ).all()
        views = await self._participant_views([(p, u) for p, u in rows])
        grouped: dict[uuid.UUID, list[ParticipantView]] = defaultdict(list)
        for (participant, _), view in zip(rows, views, strict=True):
            grouped[participant.conversation_id].append(view)
        return grouped

    async def _participant_views(
        self, rows: Sequence[tuple[Participant, User]]
    ) -> list[ParticipantView]:
        publics = await self._users.public_views([user for _, user in rows])
        return [
            ParticipantView(
                **dict(public),
                role=participant.role,
                joined_at=participant.joined_at,
                last_read_seq=participant.last_read_seq,
                last_read_at=participant.last_read_at,
            )
            for (participant, _), public in zip(rows, publics, strict=True)
        ]

    # Helpers

    async def _find_direct(self, direct_key: str) -> uuid.UUID | None:
        async with self._database.reading() as session:
            return await session.scalar(
                select(Conversation.id).where(Conversation.direct_key == direct_key)
            )

    def _check_group_name(self, name: str) -> None:
        check_length("name", name, 1, self._settings.group_name_max_length)
        check_not_blank("name", name)

    def _page_size(self, limit: int | None) -> int:
        return page_size(limit, self._settings.page_size_default, self._settings.page_size_max)


def _unread_count(viewer_id: uuid.UUID) -> ScalarSelect[int]:
    """Messages after the viewer's marker, not their own, not deleted: a correlated count."""
    marker = (
        select(Participant.last_read_seq)
        .where(Participant.conversation_id == Conversation.id, Participant.user_id == viewer_id)
        .correlate(Conversation)
        .scalar_subquery()
    )
    return (
        select(func.count(Message.id))
        .where(
            Message.conversation_id == Conversation.id,
            Message.seq > marker,
            Message.sender_id != viewer_id,
            Message.deleted_at.is_(None),
        )
        .correlate(Conversation)
        .scalar_subquery()
    )


def _new_conversation(
    kind: str, name: str | None, direct_key: str | None, now: datetime
) -> Conversation:
    return Conversation(
        id=uuid.uuid4(),
        type=kind,
        name=name,
        direct_key=direct_key,
        last_seq=0,
        created_at=now,
        updated_at=now,
        last_activity_at=now,
    )


def _new_participant(
    conversation: Conversation, user_id: uuid.UUID, role: str, now: datetime
) -> Participant:
    return Participant(
        conversation_id=conversation.id,
        user_id=user_id,
        role=role,
        joined_at=now,
        # Earlier history is not unread for someone who joins later.
        last_read_seq=conversation.last_seq,
        last_read_at=None,
    )


async def _pass_ownership(session: AsyncSession, conversation_id: uuid.UUID) -> None:
    """Give the group to the longest-standing admin, else the longest-standing member."""
    await session.flush()
    successor = await session.scalar(
        select(Participant)
        .where(Participant.conversation_id == conversation_id)
        .order_by((Participant.role == "admin").desc(), Participant.id)
        .limit(1)
    )
    if successor is not None:
        successor.role = "owner"


async def _find_participant(
    session: AsyncSession, conversation_id: uuid.UUID, user_id: uuid.UUID
) -> Participant:
    """Someone else's membership, as a participant asking about it sees it."""
    participant = await get_participant(session, conversation_id, user_id)
    if participant is None:
        raise NotFound("participant not found")
    return participant


async def _require_users_exist(session: AsyncSession, user_ids: Sequence[uuid.UUID]) -> None:
    if not user_ids:
        return
    found = set(await session.scalars(select(User.id).where(User.id.in_(user_ids))))
    if len(found) != len(set(user_ids)):
        raise ValidationFailed("unknown user id in participants")


def _require_group(conversation: Conversation) -> None:
    if conversation.type != "group":
        raise ValidationFailed("a direct conversation has fixed participants and no name")


def _require_role(participant: Participant, roles: Sequence[str]) -> None:
    if participant.role not in roles:
        raise Forbidden(f"needs the role {' or '.join(roles)}")


def _parse_user_id(raw: str) -> uuid.UUID:
    try:
        return uuid.UUID(raw)
    except ValueError:
        raise ValidationFailed("unknown user id in participants") from None


def _unique_ids(raw_ids: Sequence[str], exclude: uuid.UUID) -> list[uuid.UUID]:
    """Parsed ids in the given order, without duplicates and without `exclude`."""
    seen: dict[uuid.UUID, None] = {}
    for raw in raw_ids:
        user_id = _parse_user_id(raw)
        if user_id != exclude:
            seen.setdefault(user_id, None)
    return list(seen)


def _encode_cursor(at: datetime, conversation_id: uuid.UUID) -> str:
    raw = f"{at.isoformat()}|{conversation_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        at, conversation_id = base64.urlsafe_b64decode(padded).decode().split("|")
        moment = datetime.fromisoformat(at)
        if moment.tzinfo is None:
            raise ValueError("cursor time without zone")
        return moment, uuid.UUID(conversation_id)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise ValidationFailed("before is not a cursor from this endpoint") from None
