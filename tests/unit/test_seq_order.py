"""How a process puts a conversation's messages from several processes back in seq order."""

from __future__ import annotations

import asyncio

from parley.realtime.server import HOLD_SECONDS, _SeqOrder


async def test_messages_in_order_pass_straight_through() -> None:
    order = _SeqOrder(on_timeout=lambda _room: asyncio.sleep(0))

    assert order.offer("r", 7, "m7") == ["m7"]  # the first seen starts the count
    assert order.offer("r", 8, "m8") == ["m8"]
    assert order.offer("other", 1, "o1") == ["o1"]
    assert order.offer("r", 8, "m8 again") == ["m8 again"]  # duplicates: clients drop them


async def test_one_that_skips_ahead_waits_for_the_gap_to_fill() -> None:
    order = _SeqOrder(on_timeout=lambda _room: asyncio.sleep(0))
    order.offer("r", 1, "m1")

    assert order.offer("r", 3, "m3") == []
    assert order.offer("r", 4, "m4") == []
    assert order.offer("r", 2, "m2") == ["m2", "m3", "m4"]
    assert order.offer("r", 5, "m5") == ["m5"]


async def test_a_gap_that_never_fills_releases_the_held_ones_in_order() -> None:
    released: list[str] = []
    order: _SeqOrder

    async def give_up(room: str) -> None:
        released.extend(order.give_up(room))

    order = _SeqOrder(on_timeout=give_up)
    order.offer("r", 1, "m1")
    assert order.offer("r", 4, "m4") == []
    assert order.offer("r", 3, "m3") == []

    await asyncio.sleep(HOLD_SECONDS + 0.2)

    assert released == ["m3", "m4"]
    assert order.offer("r", 5, "m5") == ["m5"]
    assert order.offer("r", 2, "m2, at last") == ["m2, at last"]  # late: delivered anyway
