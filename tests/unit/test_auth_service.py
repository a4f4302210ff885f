from __future__ import annotations

import pytest

from parley.auth.schemas import LoginIn, RegisterIn
from parley.errors import Conflict, Unauthorized, ValidationFailed
from tests.unit.conftest import Harness


def _register(username: str, email: str | None = None) -> RegisterIn:
    return RegisterIn(
        username=username, email=email or f"{username}@example.com", password="password1"
    )


async def test_usernames_and_emails_are_unique_ignoring_case(harness: Harness) -> None:
    auth = harness.services.auth
    await auth.register(_register("Alice"), "addr")
    with pytest.raises(Conflict):
        await auth.register(_register("ALICE", "other@example.com"), "addr")
    with pytest.raises(Conflict):
        await auth.register(_register("bob", "alice@EXAMPLE.com"), "addr")


async def test_display_name_defaults_to_the_username(harness: Harness) -> None:
    session = await harness.services.auth.register(_register("Carol"), "addr")
    assert session.user.display_name == "Carol"


async def test_invalid_email_is_a_validation_error(harness: Harness) -> None:
    with pytest.raises(ValidationFailed):
        await harness.services.auth.register(_register("dave", "not-an-address"), "addr")


async def test_login_by_username_or_email_ignoring_case(harness: Harness) -> None:
    auth = harness.services.auth
    await auth.register(_register("Erin"), "addr")
    await auth.login(LoginIn(username="erin", password="password1"), "addr")
    await auth.login(LoginIn(username="ERIN@example.com", password="password1"), "addr")


async def test_unknown_user_and_wrong_password_fail_alike(harness: Harness) -> None:
    auth = harness.services.auth
    await auth.register(_register("frank"), "addr")
    with pytest.raises(Unauthorized) as wrong_password:
        await auth.login(LoginIn(username="frank", password="password2"), "addr")
    with pytest.raises(Unauthorized) as unknown_user:
        await auth.login(LoginIn(username="nobody", password="password1"), "addr")
    assert wrong_password.value.detail == unknown_user.value.detail


async def test_refresh_spends_the_token(harness: Harness) -> None:
    auth = harness.services.auth
    first = await auth.register(_register("grace"), "addr")
    second = await auth.refresh(first.refresh_token)
    assert second.refresh_token != first.refresh_token
    await auth.refresh(second.refresh_token)


async def test_spent_token_within_the_grace_period_gets_a_new_pair(harness: Harness) -> None:
    auth = harness.services.auth
    first = await auth.register(_register("heidi"), "addr")
    await auth.refresh(first.refresh_token)
    harness.clock.advance(9)
    again = await auth.refresh(first.refresh_token)  # the second tab
    await auth.refresh(again.refresh_token)


async def test_spent_token_after_the_grace_period_revokes_the_login(harness: Harness) -> None:
    auth = harness.services.auth
    first = await auth.register(_register("ivan"), "addr")
    newest = await auth.refresh(first.refresh_token)
    harness.clock.advance(11)
    with pytest.raises(Unauthorized):
        await auth.refresh(first.refresh_token)
    with pytest.raises(Unauthorized):
        await auth.refresh(newest.refresh_token)


async def test_theft_revokes_only_that_login(harness: Harness) -> None:
    auth = harness.services.auth
    await auth.register(_register("judy"), "addr")
    laptop = await auth.login(LoginIn(username="judy", password="password1"), "addr")
    phone = await auth.login(LoginIn(username="judy", password="password1"), "addr")
    await auth.refresh(laptop.refresh_token)
    harness.clock.advance(11)
    with pytest.raises(Unauthorized):
        await auth.refresh(laptop.refresh_token)
    await auth.refresh(phone.refresh_token)


async def test_refresh_token_expires(harness: Harness) -> None:
    auth = harness.services.auth
    session = await auth.register(_register("ken"), "addr")
    harness.clock.advance(7 * 24 * 3600)
    with pytest.raises(Unauthorized):
        await auth.refresh(session.refresh_token)


async def test_logout_revokes_every_token_of_the_login(harness: Harness) -> None:
    auth = harness.services.auth
    first = await auth.register(_register("liam"), "addr")
    second = await auth.refresh(first.refresh_token)
    await auth.logout(first.refresh_token)
    with pytest.raises(Unauthorized):
        await auth.refresh(second.refresh_token)
    await auth.logout("never-issued")
