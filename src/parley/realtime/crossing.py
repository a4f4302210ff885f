"""Events between processes: one Redis channel, each event crossing it once, encoded.

A process hands its own sockets an event directly and publishes it for the others, as a
short JSON header (what kind, which rooms, whom to skip, the message's seq) and the
Socket.IO packet exactly as its sockets got it: a receiving process frames those bytes
once and writes them to its sockets without decoding the event.

Publishing never makes an emit wait: events queue, and a single task sends whatever has
queued up in one pipelined round trip, on a client with its own timeout. A hung Redis
costs the other processes' fan-out, not every sender a timeout. When events may have
been lost (a failed publish, a lost subscription), every process is asked to redo its
rooms from the database once Redis answers again; the subscription is retried every
LISTEN_RETRY_SECONDS, not after a growing back-off, so a Redis that is back is used at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from redis import asyncio as aioredis

logger = logging.getLogger(__name__)

LISTEN_RETRY_SECONDS = 1.0
# Events waiting to cross to other processes, and how many go to Redis in one round trip.
PUBLISH_QUEUE_MAX = 10_000
PUBLISH_BATCH_MAX = 500

# Header kinds.
EMIT = "emit"
ROOMS = "rooms"
RESYNC = "resync"

Received = Callable[[dict[str, Any], str], None]


class Crossing:
    """This process's end of the channel: `publish` to the others, `on_event` from them."""

    def __init__(
        self,
        url: str,
        channel: str,
        timeout: float,
        on_event: Received,
        on_missed: Callable[[], Awaitable[None]],
        on_error: Callable[[], None],
    ) -> None:
        self._channel = channel
        self._timeout = timeout
        self._on_event = on_event
        self._on_missed = on_missed
        self._on_error = on_error
        self.host = uuid.uuid4().hex
        # The subscriber blocks on reads and so can have no read timeout; the publisher has.
        self._subscriber = aioredis.Redis.from_url(url, socket_connect_timeout=timeout)
        self._publisher = aioredis.Redis.from_url(
            url, socket_connect_timeout=timeout, socket_timeout=timeout
        )
        self._outgoing: asyncio.Queue[str] = asyncio.Queue(maxsize=PUBLISH_QUEUE_MAX)
        self._publishing: asyncio.Task[None] | None = None
        self._listening: asyncio.Task[None] | None = None
        # Set when events may have been lost between processes: once Redis answers again,
        # every process redoes its rooms.
        self._missed_events = False

    def start(self) -> None:
        if self._listening is None:
            self._listening = asyncio.create_task(self._listen())

    def publish(self, header: dict[str, Any], payload: str = "") -> None:
        """Queue an event for the other processes; never waits."""
        if self._publishing is None:
            self._publishing = asyncio.create_task(self._publish_queued())
        try:
            self._outgoing.put_nowait(self._encode(header, payload))
        except asyncio.QueueFull:
            # Redis has been away for a while: other processes' clients catch up with `sync`.
            self._on_error()

    def _encode(self, header: dict[str, Any], payload: str) -> str:
        return json.dumps({**header, "h": self.host}, separators=(",", ":")) + "\n" + payload

    async def _publish_queued(self) -> None:
        while True:
            batch = [await self._outgoing.get()]
            while not self._outgoing.empty() and len(batch) < PUBLISH_BATCH_MAX:
                batch.append(self._outgoing.get_nowait())
            try:
                async with self._publisher.pipeline(transaction=False) as pipe:
                    for encoded in batch:
                        pipe.publish(self._channel, encoded)
                    await pipe.execute()
                if self._missed_events:
                    # Publishing works again while the subscription never broke (a hung
                    # Redis): ask every process to redo its rooms, this one included.
                    self._missed_events = False
                    self._outgoing.put_nowait(self._encode({"k": RESYNC}, ""))
            except Exception as error:  # the publisher must outlive any failure
                self._on_error()
                self._missed_events = True
                logger.warning(
                    "events not published to other processes",
                    extra={"events": len(batch), "error": str(error) or type(error).__name__},
                )
            finally:
                for _ in batch:
                    self._outgoing.task_done()

    async def _listen(self) -> None:
        while True:
            pubsub = self._subscriber.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self._channel)
                if self._missed_events:
                    logger.info("events from other processes are arriving again")
                    self._missed_events = False
                    # This process may have missed room changes, and the others this one's.
                    await self._on_missed()
                    self.publish({"k": RESYNC})
                async for message in pubsub.listen():
                    if message["type"] == "message":
                        self._received(message["data"])
            except asyncio.CancelledError:
                raise
            except Exception as error:  # whatever broke, the subscription must come back
                if not self._missed_events:
                    self._on_error()
                    logger.warning(
                        "events from other processes interrupted",
                        extra={"error": str(error) or type(error).__name__},
                    )
                self._missed_events = True
                with contextlib.suppress(Exception):
                    await pubsub.aclose()  # the broken connection, before a new one
                await asyncio.sleep(LISTEN_RETRY_SECONDS)

    def _received(self, data: bytes) -> None:
        try:
            head, _, payload = data.decode().partition("\n")
            header = json.loads(head)
            own = header["h"] == self.host
        except (ValueError, KeyError, TypeError):
            logger.warning("unreadable event from another process dropped")
            return
        if own and header.get("k") != RESYNC:
            return  # delivered here when it was sent
        try:
            self._on_event(header, payload)
        except Exception:
            logger.exception("event from another process failed", extra={"kind": header.get("k")})

    async def close(self) -> None:
        """Send what is queued, within the timeout, then stop."""
        if self._publishing is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._outgoing.join(), self._timeout)
            self._publishing.cancel()
        if self._listening is not None:
            self._listening.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listening
        await self._publisher.aclose()
        await self._subscriber.aclose()
