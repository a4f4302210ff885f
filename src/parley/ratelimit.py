"""The contract's rate limits, by name, over whichever `RateLimiter` backend is configured."""

from __future__ import annotations

import uuid

from parley.backends.interfaces import RateLimiter
from parley.config import Settings
from parley.errors import RateLimited


class RateLimits:
    def __init__(self, limiter: RateLimiter, settings: Settings) -> None:
        self._limiter = limiter
        self._settings = settings
        self.enabled = settings.rate_limits

    async def _take(self, key: str, per_second: float, burst: int) -> None:
        if not self.enabled:
            return
        retry_after = await self._limiter.hit(key, per_second, burst)
        if retry_after is not None:
            raise RateLimited(retry_after)

    async def send(self, user_id: uuid.UUID) -> None:
        s = self._settings
        await self._take(f"send:{user_id}", s.rate_limit_send_per_second, s.rate_limit_send_burst)

    async def typing(self, user_id: uuid.UUID) -> None:
        s = self._settings
        await self._take(
            f"typing:{user_id}", s.rate_limit_typing_per_second, s.rate_limit_typing_burst
        )

    async def login(self, username: str, address: str) -> None:
        s = self._settings
        per_username = s.rate_limit_login_per_username_per_minute
        per_address = s.rate_limit_login_per_address_per_minute
        await self._take(f"login-address:{address}", per_address / 60, per_address)
        await self._take(f"login-user:{username.lower()}", per_username / 60, per_username)

    async def register(self, address: str) -> None:
        per_hour = self._settings.rate_limit_register_per_address_per_hour
        await self._take(f"register:{address}", per_hour / 3600, per_hour)

    async def api(self, caller: str) -> None:
        s = self._settings
        await self._take(f"api:{caller}", s.rate_limit_api_per_second, s.rate_limit_api_burst)
