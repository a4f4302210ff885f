"""`parley seed --demo`: a few people, a direct conversation and a group with some history,
so a first look at the web client shows a living app.

It writes through the services, as a running server would, with a clock set to each
message's moment so the history spans the last few days. Running it again changes nothing.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from parley.app import build_services
from parley.auth.schemas import RegisterIn
from parley.clock import truncate_to_ms
from parley.config import Settings
from parley.errors import Conflict
from parley.messages.schemas import MessageCreate

DEMO_PASSWORD = "parley-demo"

# username, display name
PEOPLE = [
    ("alice", "Alice Martin"),
    ("bob", "Bob Okafor"),
    ("carol", "Carol Nguyen"),
    ("dave", "Dave Kowalski"),
]

GROUP_NAME = "Weekend hike 🥾"


@dataclass(frozen=True)
class Line:
    days_ago: int
    at: str  # HH:MM, UTC
    where: str  # "direct" (alice and bob) or "group" (everyone)
    who: str
    text: str


SCRIPT = [
    Line(3, "09:12", "group", "alice", "Who's up for a hike on Saturday?"),
    Line(3, "09:15", "group", "carol", "Me! Where are we thinking?"),
    Line(3, "09:21", "group", "dave", "The ridge trail again? The view was worth every step."),
    Line(3, "09:24", "group", "bob", "I'm in if we start after 8 ☕"),
    Line(
        2,
        "18:40",
        "group",
        "alice",
        "Forecast: sunny, 14°C. Trail map: https://example.com/ridge-trail",
    ),
    Line(2, "18:42", "group", "carol", "Perfect 🌞 I'll bring the thermos."),
    Line(2, "18:47", "group", "dave", "Car has room for three. Pick-ups at 8:15?"),
    Line(2, "19:03", "direct", "bob", "Hey, do you still have my headlamp?"),
    Line(2, "19:10", "direct", "alice", "I do! I'll bring it on Saturday."),
    Line(2, "19:11", "direct", "bob", "Great, thanks 🙏"),
    Line(1, "08:05", "group", "bob", "Our friend Yousef says hi: مرحبا بالجميع، أراكم يوم السبت"),
    Line(1, "08:30", "group", "alice", "Supercalifragilisticexpialidocious weather incoming 😄"),
    Line(1, "12:17", "direct", "alice", "Also: lunch after the hike?"),
    Line(1, "12:20", "direct", "bob", "Always. The place by the lake?"),
    Line(0, "07:58", "group", "carol", "Running 5 minutes late, sorry!"),
    Line(0, "08:02", "group", "dave", "No rush, we're getting coffee."),
]


class _ScriptClock:
    """Now is whatever moment the script is at."""

    def __init__(self) -> None:
        self.moment = truncate_to_ms(datetime.now(UTC))

    def now(self) -> datetime:
        return self.moment

    def monotonic(self) -> float:
        return time.monotonic()


class _Nobody:
    """The services' way out while seeding: no sockets to tell."""

    async def to_conversation(self, *_args: Any, **_kwargs: Any) -> None:
        return None

    async def to_users(self, *_args: Any, **_kwargs: Any) -> None:
        return None

    async def join_conversation(self, *_args: Any, **_kwargs: Any) -> None:
        return None

    async def leave_conversation(self, *_args: Any, **_kwargs: Any) -> None:
        return None


async def seed_demo(settings: Settings) -> bool:
    """Add the demo people and conversations; False when they are there already."""
    clock = _ScriptClock()
    now = clock.moment
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    clock.moment = today - timedelta(days=4)  # the accounts predate the history
    services = build_services(settings.model_copy(update={"rate_limits": False}), clock, _Nobody())
    try:
        ids: dict[str, uuid.UUID] = {}
        for username, display_name in PEOPLE:
            request = RegisterIn(
                username=username,
                email=f"{username}@example.com",
                password=DEMO_PASSWORD,
                display_name=display_name,
            )
            try:
                session = await services.auth.register(request, address="seed")
            except Conflict:
                return False
            ids[username] = session.user.id

        alice, bob = ids["alice"], ids["bob"]
        direct, _ = await services.conversations.create_direct(alice, [str(bob)], None)
        others = [str(ids[name]) for name, _ in PEOPLE if name != "alice"]
        group = await services.conversations.create_group(alice, GROUP_NAME, others)
        where = {"direct": direct.id, "group": group.id}

        last_seq: dict[tuple[str, str], int] = {}  # by conversation and sender
        for line, moment in zip(SCRIPT, _moments(today, now), strict=True):
            clock.moment = moment
            message, _ = await services.messages.send(
                ids[line.who],
                where[line.where],
                MessageCreate(client_id=f"demo-{uuid.uuid4()}", content=line.text),
            )
            last_seq[(line.where, line.who)] = message.seq

        # Everyone has read up to their own last words, so receipts show from the start and
        # alice, behind in both conversations, sees unread badges.
        for (conversation, who), seq in last_seq.items():
            await services.conversations.mark_read(ids[who], where[conversation], seq)
        return True
    finally:
        await services.database.dispose()
        if services.redis is not None:
            await services.redis.aclose()


def _moments(today: datetime, now: datetime) -> list[datetime]:
    """When each line of the script was said: at its time of day, moved earlier when early
    in the day, so that the last line is never less than ten minutes ago."""
    moments = []
    for line in SCRIPT:
        hour, minute = (int(part) for part in line.at.split(":"))
        day = today - timedelta(days=line.days_ago)
        moments.append(day + timedelta(hours=hour, minutes=minute))
    shift = min(timedelta(0), now - timedelta(minutes=10) - moments[-1])
    return [moment + shift for moment in moments]
