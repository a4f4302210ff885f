"""How a process puts a conversation's messages from several processes back in seq order."""

from __future__ import annotations

import asyncio

from parley.realtime.server import FIRST_HOLD_SECONDS, HOLD_SECONDS, _SeqOrder


def releasing_order() -> tuple[_SeqOrder, list[str]]:
    """An order whose held messages, once their wait runs out, land in the list returned."""
    released: list[str] = []

    async def give_up(room: str) -> None:
        released.extend(order.give_up(room))

    order = _SeqOrder(on_timeout=give_up)
    return order, released


async def test_messages_in_order_pass_straight_through() -> None:
    order = _SeqOrder(on_timeout=lambda _room: asyncio.sleep(0))

    assert order.offer("r", 1, "m1") == ["m1"]
    assert order.offer("r", 2, "m2") == ["m2"]
    assert order.offer("other", 1, "o1") == ["o1"]
    assert order.offer("r", 2, "m2 again") == ["m2 again"]  # duplicates: clients drop them


async def test_the_first_seen_of_a_room_waits_briefly_for_any_before_it() -> None:
    order, released = releasing_order()
    assert order.offer("r", 8, "m8") == []
    assert order.offer("r", 7, "m7") == []

    await asyncio.sleep(FIRST_HOLD_SECONDS + 0.1)

    assert released == ["m7", "m8"]
    assert order.offer("r", 9, "m9") == ["m9"]


async def test_one_that_skips_ahead_waits_for_the_gap_to_fill() -> None:
    order = _SeqOrder(on_timeout=lambda _room: asyncio.sleep(0))
    order.offer("r", 1, "m1")

    assert order.offer("r", 3, "m3") == []
    assert order.offer("r", 4, "m4") == []
    assert order.offer("r", 2, "m2") == ["m2", "m3", "m4"]
    assert order.offer("r", 5, "m5") == ["m5"]


async def test_a_gap_that_never_fills_releases_the_held_ones_in_order() -> None:
    order, released = releasing_order()
    order.offer("r", 1, "m1")
    assert order.offer("r", 4, "m4") == []
    assert order.offer("r", 3, "m3") == []

    await asyncio.sleep(HOLD_SECONDS + 0.2)

    assert released == ["m3", "m4"]
    assert order.offer("r", 5, "m5") == ["m5"]
    assert order.offer("r", 2, "m2, at last") == ["m2, at last"]  # late: delivered anyway


async def test_a_filled_gap_s_wait_does_not_cut_short_a_later_one() -> None:
    order, released = releasing_order()
    order.offer("r", 1, "m1")
    order.offer("r", 3, "m3")
    assert order.offer("r", 2, "m2") == ["m2", "m3"]  # the first gap fills at once
    await asyncio.sleep(HOLD_SECONDS * 0.6)
    assert order.offer("r", 5, "m5") == []  # a second gap, opened later

    await asyncio.sleep(HOLD_SECONDS * 0.6)  # past the first wait's end, not the second's

    assert released == []
    assert order.offer("r", 4, "m4") == ["m4", "m5"]
