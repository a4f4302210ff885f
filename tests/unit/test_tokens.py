from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path

import jwt
import pytest

from parley.auth.passwords import Passwords
from parley.auth.tokens import AccessTokens, load_or_create_secret
from parley.errors import Unauthorized
from tests.unit.conftest import FakeClock


def test_access_token_names_its_user() -> None:
    tokens = AccessTokens("s" * 32, timedelta(minutes=15), FakeClock())
    user_id = uuid.uuid4()
    assert tokens.verify(tokens.issue(user_id)) == user_id


def test_access_token_expires_after_its_lifetime() -> None:
    clock = FakeClock()
    tokens = AccessTokens("s" * 32, timedelta(minutes=15), clock)
    token = tokens.issue(uuid.uuid4())
    clock.advance(15 * 60 - 1)
    tokens.verify(token)
    clock.advance(1)
    with pytest.raises(Unauthorized):
        tokens.verify(token)


def test_token_signed_with_another_secret_is_refused() -> None:
    clock = FakeClock()
    forged = AccessTokens("other" * 8, timedelta(minutes=15), clock).issue(uuid.uuid4())
    with pytest.raises(Unauthorized):
        AccessTokens("s" * 32, timedelta(minutes=15), clock).verify(forged)


def test_unsigned_token_is_refused() -> None:
    claims = {"sub": str(uuid.uuid4()), "exp": 4102444800, "typ": "access"}
    token = jwt.encode(claims, key=None, algorithm="none")
    with pytest.raises(Unauthorized):
        AccessTokens("s" * 32, timedelta(minutes=15), FakeClock()).verify(token)


@pytest.mark.parametrize("token", ["", "garbage", "a.b.c"])
def test_malformed_token_is_refused(token: str) -> None:
    with pytest.raises(Unauthorized):
        AccessTokens("s" * 32, timedelta(minutes=15), FakeClock()).verify(token)


def test_secret_is_generated_once_and_kept(tmp_path: Path) -> None:
    first = load_or_create_secret(None, tmp_path)
    assert load_or_create_secret(None, tmp_path) == first
    assert (tmp_path / "jwt-secret").stat().st_mode & 0o777 == 0o600
    assert load_or_create_secret("configured", tmp_path) == "configured"


async def test_password_verifies_only_against_its_own_hash() -> None:
    passwords = Passwords(time_cost=1, memory_kib=1024, parallelism=1)
    hashed = await passwords.hash("correct horse")
    assert hashed.startswith("$argon2id$")
    assert await passwords.verify(hashed, "correct horse")
    assert not await passwords.verify(hashed, "wrong horse")
    assert not await passwords.verify(None, "correct horse")
