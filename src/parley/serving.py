"""uvicorn's server, taught to drain the app's socket events before it stops."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import uvicorn


class DrainingServer(uvicorn.Server):
    """On a stop signal, first lets the app finish and acknowledge the socket events it is
    handling, then closes the listeners and connections as uvicorn does."""

    def __init__(self, config: uvicorn.Config, drain: Callable[[], Awaitable[None]]) -> None:
        super().__init__(config)
        self._drain = drain
        self._drained = False

    async def on_tick(self, counter: int) -> bool:
        should_exit = await super().on_tick(counter)
        if should_exit and not self._drained:
            self._drained = True
            await self._drain()
        return should_exit
