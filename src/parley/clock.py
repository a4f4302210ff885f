"""Time, injectable: rules that depend on it (typing, presence, tokens) take a `Clock`."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Protocol


def truncate_to_ms(moment: datetime) -> datetime:
    """The contract's precision: what is stored is exactly what clients are shown."""
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time in UTC, to the millisecond."""
        ...

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back, for intervals."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return truncate_to_ms(datetime.now(UTC))

    def monotonic(self) -> float:
        return time.monotonic()
