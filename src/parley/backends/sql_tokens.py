"""The embedded refresh-token store: a table in Parley's own database.

Refresh tokens must survive a restart, so even the single-process default keeps them in
the database rather than in memory.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import delete, select

from parley.backends.interfaces import Rotation, RotationOutcome
from parley.backends.models import RefreshToken
from parley.db.engine import Database


class SqlRefreshTokenStore:
    def __init__(self, database: Database) -> None:
        self._database = database

    async def issue(
        self, token_hash: str, family_id: uuid.UUID, user_id: uuid.UUID, expires_at: datetime
    ) -> None:
        async with self._database.transaction() as session:
            session.add(
                RefreshToken(
                    token_hash=token_hash,
                    family_id=family_id,
                    user_id=user_id,
                    expires_at=expires_at,
                )
            )

    async def rotate(
        self,
        token_hash: str,
        next_hash: str,
        now: datetime,
        grace: timedelta,
        next_expires_at: datetime,
    ) -> Rotation:
        async with self._database.transaction() as session:
            token = await session.scalar(
                select(RefreshToken).where(RefreshToken.token_hash == token_hash).with_for_update()
            )
            if token is None or token.expires_at <= now:
                return Rotation(RotationOutcome.INVALID)
            if token.spent_at is not None and now - token.spent_at > grace:
                await session.execute(
                    delete(RefreshToken).where(RefreshToken.family_id == token.family_id)
                )
                return Rotation(RotationOutcome.THEFT, token.user_id, token.family_id)

            if token.spent_at is None:
                token.spent_at = now
            session.add(
                RefreshToken(
                    token_hash=next_hash,
                    family_id=token.family_id,
                    user_id=token.user_id,
                    expires_at=next_expires_at,
                )
            )
            # Expired tokens are useless; clearing the family's keeps the table small.
            await session.execute(
                delete(RefreshToken).where(
                    RefreshToken.family_id == token.family_id, RefreshToken.expires_at <= now
                )
            )
            return Rotation(RotationOutcome.ROTATED, token.user_id, token.family_id)

    async def revoke_family(self, token_hash: str) -> None:
        async with self._database.transaction() as session:
            family_id = await session.scalar(
                select(RefreshToken.family_id).where(RefreshToken.token_hash == token_hash)
            )
            if family_id is not None:
                await session.execute(
                    delete(RefreshToken).where(RefreshToken.family_id == family_id)
                )
