"""REST auth: register, login, refresh rotation and its grace, logout, token lifetimes, limits."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import jwt
import pytest

from tests.integration.helpers import (
    JSON,
    assert_problem,
    assert_timestamp,
    bearer,
    token_for_unknown_user,
)
from tests.support.clients import PASSWORD, Account, api_client, register, unique_name
from tests.support.server import ParleyServer

ServerFactory = Callable[..., ParleyServer]


def registration(username: str | None = None, **overrides: Any) -> JSON:
    """A valid registration body with a fresh username and email."""
    name = username or unique_name("auth")
    body: JSON = {"username": name, "email": f"{name}@example.com", "password": PASSWORD}
    body.update(overrides)
    return body


async def refresh(api: httpx.AsyncClient, refresh_token: str) -> httpx.Response:
    return await api.post("/api/auth/refresh", json={"refreshToken": refresh_token})


async def me_status(api: httpx.AsyncClient, access_token: str) -> int:
    response = await api.get("/api/users/me", headers={"Authorization": f"Bearer {access_token}"})
    return response.status_code


def assert_session(body: JSON) -> None:
    """The body of register and login: `{user, accessToken, refreshToken, expiresIn}`."""
    assert isinstance(body["accessToken"], str) and body["accessToken"]
    assert isinstance(body["refreshToken"], str) and body["refreshToken"]
    assert isinstance(body["expiresIn"], int) and body["expiresIn"] > 0
    assert "email" in body["user"]


# Register


async def test_register_answers_own_view_and_token_pair(server: ParleyServer) -> None:
    body = registration()
    async with api_client(server.url) as api:
        response = await api.post("/api/auth/register", json=body)

    assert response.status_code == 201, response.text
    data = response.json()
    assert_session(data)
    assert data["expiresIn"] == 15 * 60
    user = data["user"]
    assert user["username"] == body["username"]
    assert user["email"] == body["email"]
    assert user["displayName"] == body["username"]
    assert user["avatarUrl"] is None
    uuid.UUID(user["id"])
    assert_timestamp(user["createdAt"])
    assert_timestamp(user["updatedAt"])
    assert "password" not in user


async def test_register_keeps_display_name_and_case_as_sent(server: ParleyServer) -> None:
    name = "Mixed_" + uuid.uuid4().hex[:10]
    body = registration(name, displayName="  Zoë 🌍 <b>  ")
    async with api_client(server.url) as api:
        response = await api.post("/api/auth/register", json=body)

    assert response.status_code == 201, response.text
    assert response.json()["user"]["username"] == name
    assert response.json()["user"]["displayName"] == "  Zoë 🌍 <b>  "


async def test_register_taken_username_ignoring_case_is_conflict(server: ParleyServer) -> None:
    name = "Case_" + uuid.uuid4().hex[:10]
    async with api_client(server.url) as api:
        first = await api.post("/api/auth/register", json=registration(name))
        assert first.status_code == 201, first.text
        other = registration(name.lower(), email=f"other_{uuid.uuid4().hex}@example.com")
        second = await api.post("/api/auth/register", json=other)

    assert_problem(second, 409, "conflict")


async def test_register_taken_email_ignoring_case_is_conflict(server: ParleyServer) -> None:
    local = "Mail_" + uuid.uuid4().hex[:10]
    async with api_client(server.url) as api:
        first = await api.post(
            "/api/auth/register", json=registration(email=f"{local}@Example.com")
        )
        assert first.status_code == 201, first.text
        second = await api.post(
            "/api/auth/register", json=registration(email=f"{local.upper()}@EXAMPLE.COM")
        )

    assert_problem(second, 409, "conflict")


async def test_concurrent_registrations_of_one_username_make_one_user(
    server: ParleyServer,
) -> None:
    name = "Race_" + uuid.uuid4().hex[:10]
    bodies = [
        registration(spelling, email=f"{uuid.uuid4().hex}@example.com")
        for spelling in (name, name.lower(), name.upper(), name)
    ]
    async with api_client(server.url) as api:
        responses = await asyncio.gather(
            *(api.post("/api/auth/register", json=body) for body in bodies)
        )

    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201, 409, 409, 409], [r.text for r in responses]
    for response in responses:
        if response.status_code == 409:
            assert_problem(response, 409, "conflict")


@pytest.mark.parametrize(
    "username",
    ["ab", "a" * 33, "has space", "bad/slash", "émile", "semi;colon", ""],
    ids=["too_short", "too_long", "space", "slash", "non_ascii", "semicolon", "empty"],
)
async def test_register_invalid_username_is_validation_error(
    server: ParleyServer, username: str
) -> None:
    body = registration(email=f"{uuid.uuid4().hex}@example.com")
    body["username"] = username
    async with api_client(server.url) as api:
        response = await api.post("/api/auth/register", json=body)

    assert_problem(response, 422, "validation_error")


@pytest.mark.parametrize("length", [3, 32])
async def test_register_username_at_length_limits_is_accepted(
    server: ParleyServer, length: int
) -> None:
    # Letters, digits and `_ . -` only; the tail keeps the name unique across runs.
    username = ("A.b-" + uuid.uuid4().hex)[:length] if length > 3 else uuid.uuid4().hex[:3]
    async with api_client(server.url) as api:
        response = await api.post("/api/auth/register", json=registration(username))

    assert response.status_code in (201, 409), response.text  # 3 characters may collide
    if response.status_code == 201:
        assert response.json()["user"]["username"] == username


@pytest.mark.parametrize(
    "email",
    ["not-an-email", "missing-at.example.com", "two@@example.com", "@example.com", "x@"],
)
async def test_register_invalid_email_is_validation_error(server: ParleyServer, email: str) -> None:
    async with api_client(server.url) as api:
        response = await api.post("/api/auth/register", json=registration(email=email))

    assert_problem(response, 422, "validation_error")


def long_email(length: int) -> str:
    """A well-formed address of exactly `length` characters (at least 205)."""
    local = uuid.uuid4().hex * 2  # 64 characters, the most a local part may have
    domain = f"{'b' * 63}.{'c' * 63}.{'d' * (length - 205)}.example.com"
    email = f"{local}@{domain}"
    assert len(email) == length
    return email


async def test_register_email_of_254_characters_is_accepted(server: ParleyServer) -> None:
    async with api_client(server.url) as api:
        response = await api.post("/api/auth/register", json=registration(email=long_email(254)))

    assert response.status_code == 201, response.text


async def test_register_email_over_254_characters_is_validation_error(
    server: ParleyServer,
) -> None:
    async with api_client(server.url) as api:
        response = await api.post("/api/auth/register", json=registration(email=long_email(255)))

    assert_problem(response, 422, "validation_error")


@pytest.mark.parametrize(("length", "status"), [(7, 422), (8, 201), (128, 201), (129, 422)])
async def test_register_password_length_limits(
    server: ParleyServer, length: int, status: int
) -> None:
    async with api_client(server.url) as api:
        response = await api.post("/api/auth/register", json=registration(password="p" * length))

    if status == 201:
        assert response.status_code == 201, response.text
    else:
        assert_problem(response, 422, "validation_error")


@pytest.mark.parametrize(("length", "status"), [(0, 422), (1, 201), (64, 201), (65, 422)])
async def test_register_display_name_length_limits(
    server: ParleyServer, length: int, status: int
) -> None:
    async with api_client(server.url) as api:
        response = await api.post("/api/auth/register", json=registration(displayName="n" * length))

    if status == 201:
        assert response.status_code == 201, response.text
        assert response.json()["user"]["displayName"] == "n" * length
    else:
        assert_problem(response, 422, "validation_error")


# Login


async def test_login_by_username_answers_a_working_pair(server: ParleyServer) -> None:
    account = await register(server.url)
    async with api_client(server.url) as api:
        response = await api.post(
            "/api/auth/login", json={"username": account.username, "password": PASSWORD}
        )
        assert response.status_code == 200, response.text
        data = response.json()
        assert_session(data)
        assert data["user"]["id"] == account.id
        assert await me_status(api, data["accessToken"]) == 200
        assert (await refresh(api, data["refreshToken"])).status_code == 200


async def test_login_by_email_answers_a_pair(server: ParleyServer) -> None:
    account = await register(server.url)
    async with api_client(server.url) as api:
        response = await api.post(
            "/api/auth/login", json={"username": account.user["email"], "password": PASSWORD}
        )

    assert response.status_code == 200, response.text
    assert_session(response.json())
    assert response.json()["user"]["id"] == account.id


async def test_login_ignores_case_of_username_and_email(server: ParleyServer) -> None:
    account = await register(server.url)
    async with api_client(server.url) as api:
        by_name = await api.post(
            "/api/auth/login", json={"username": account.username.upper(), "password": PASSWORD}
        )
        by_email = await api.post(
            "/api/auth/login",
            json={"username": account.user["email"].upper(), "password": PASSWORD},
        )

    assert by_name.status_code == 200, by_name.text
    assert by_email.status_code == 200, by_email.text
    assert by_name.json()["user"]["id"] == by_email.json()["user"]["id"] == account.id


async def test_login_unknown_user_and_wrong_password_answer_the_same_401(
    server: ParleyServer,
) -> None:
    account = await register(server.url)
    async with api_client(server.url) as api:
        wrong_password = await api.post(
            "/api/auth/login", json={"username": account.username, "password": "wrong password"}
        )
        unknown_user = await api.post(
            "/api/auth/login",
            json={"username": unique_name("nobody"), "password": "wrong password"},
        )

    first = assert_problem(wrong_password, 401, "unauthorized")
    second = assert_problem(unknown_user, 401, "unauthorized")
    assert first == second


async def test_login_wrong_password_of_valid_length_limits_is_still_401(
    server: ParleyServer,
) -> None:
    account = await register(server.url)
    async with api_client(server.url) as api:
        response = await api.post(
            "/api/auth/login", json={"username": account.username, "password": PASSWORD + "x"}
        )

    assert_problem(response, 401, "unauthorized")


# Refresh


async def test_refresh_rotates_the_pair(server: ParleyServer) -> None:
    account = await register(server.url)
    async with api_client(server.url) as api:
        response = await refresh(api, account.refresh_token)
        assert response.status_code == 200, response.text
        data = response.json()
        assert data["refreshToken"] != account.refresh_token
        assert await me_status(api, data["accessToken"]) == 200

        again = await refresh(api, data["refreshToken"])
        assert again.status_code == 200, again.text
        assert again.json()["refreshToken"] not in (account.refresh_token, data["refreshToken"])


async def test_refresh_with_unknown_token_is_unauthorized(server: ParleyServer) -> None:
    async with api_client(server.url) as api:
        response = await refresh(api, "not-a-refresh-token-" + uuid.uuid4().hex)

    assert_problem(response, 401, "unauthorized")


async def test_refresh_with_an_access_token_is_unauthorized(server: ParleyServer) -> None:
    account = await register(server.url)
    async with api_client(server.url) as api:
        response = await refresh(api, account.access_token)

    assert_problem(response, 401, "unauthorized")


async def test_spent_refresh_token_within_grace_answers_a_new_pair(server: ParleyServer) -> None:
    account = await register(server.url)
    async with api_client(server.url) as api:
        first = await refresh(api, account.refresh_token)
        assert first.status_code == 200, first.text
        second = await refresh(api, account.refresh_token)  # the second tab, same moment

        assert second.status_code == 200, second.text
        pair = second.json()
        assert await me_status(api, pair["accessToken"]) == 200
        assert (await refresh(api, pair["refreshToken"])).status_code == 200
        assert (await refresh(api, first.json()["refreshToken"])).status_code == 200


async def test_two_tabs_refreshing_at_once_both_get_a_pair(server: ParleyServer) -> None:
    account = await register(server.url)
    async with api_client(server.url) as api:
        first, second = await asyncio.gather(
            refresh(api, account.refresh_token), refresh(api, account.refresh_token)
        )

        assert first.status_code == 200, first.text
        assert second.status_code == 200, second.text
        for pair in (first.json(), second.json()):
            assert await me_status(api, pair["accessToken"]) == 200
            assert (await refresh(api, pair["refreshToken"])).status_code == 200


async def test_pair_answered_within_grace_belongs_to_the_same_login(
    server: ParleyServer,
) -> None:
    account = await register(server.url)
    async with api_client(server.url) as api:
        first = await refresh(api, account.refresh_token)
        second = await refresh(api, account.refresh_token)
        assert first.status_code == second.status_code == 200

        # Logging out with the grace pair ends the login the first pair belongs to as well.
        logout = await api.post(
            "/api/auth/logout", json={"refreshToken": second.json()["refreshToken"]}
        )
        assert logout.status_code == 204
        assert_problem(await refresh(api, first.json()["refreshToken"]), 401, "unauthorized")


async def test_spent_refresh_token_after_grace_revokes_the_whole_login(
    server_factory: ServerFactory,
) -> None:
    instance = server_factory({"PARLEY_REFRESH_GRACE_SECONDS": "0.5"})
    account = await register(instance.url)
    async with api_client(instance.url) as api:
        rotated = await refresh(api, account.refresh_token)
        assert rotated.status_code == 200, rotated.text
        newest = rotated.json()
        other_login = await api.post(
            "/api/auth/login", json={"username": account.username, "password": PASSWORD}
        )
        assert other_login.status_code == 200

        await asyncio.sleep(0.8)  # past the grace: a replay now means the token was stolen
        replay = await refresh(api, account.refresh_token)
        assert_problem(replay, 401, "unauthorized")

        # Every refresh token of that login is revoked, the newest included...
        assert_problem(await refresh(api, newest["refreshToken"]), 401, "unauthorized")
        # ...access tokens already issued live until they expire...
        assert await me_status(api, newest["accessToken"]) == 200
        # ...and another login of the same user is not touched.
        other = await refresh(api, other_login.json()["refreshToken"])
        assert other.status_code == 200, other.text


async def test_zero_grace_treats_any_replay_as_theft(server_factory: ServerFactory) -> None:
    instance = server_factory({"PARLEY_REFRESH_GRACE_SECONDS": "0"})
    account = await register(instance.url)
    async with api_client(instance.url) as api:
        rotated = await refresh(api, account.refresh_token)
        assert rotated.status_code == 200, rotated.text

        assert_problem(await refresh(api, account.refresh_token), 401, "unauthorized")
        assert_problem(await refresh(api, rotated.json()["refreshToken"]), 401, "unauthorized")


# Logout


async def test_logout_revokes_every_refresh_token_of_the_login(server: ParleyServer) -> None:
    account = await register(server.url)
    async with api_client(server.url) as api:
        rotated = await refresh(api, account.refresh_token)
        assert rotated.status_code == 200
        newest = rotated.json()["refreshToken"]

        response = await api.post("/api/auth/logout", json={"refreshToken": newest})
        assert response.status_code == 204, response.text
        assert response.content == b""

        assert_problem(await refresh(api, newest), 401, "unauthorized")
        # The spent one is within its grace, but its login is over.
        assert_problem(await refresh(api, account.refresh_token), 401, "unauthorized")


async def test_logout_with_an_older_token_of_the_login_revokes_the_newest(
    server: ParleyServer,
) -> None:
    account = await register(server.url)
    async with api_client(server.url) as api:
        rotated = await refresh(api, account.refresh_token)
        assert rotated.status_code == 200

        response = await api.post("/api/auth/logout", json={"refreshToken": account.refresh_token})
        assert response.status_code == 204

        assert_problem(await refresh(api, rotated.json()["refreshToken"]), 401, "unauthorized")


async def test_logout_leaves_other_logins_alone(server: ParleyServer) -> None:
    account = await register(server.url)
    async with api_client(server.url) as api:
        login = await api.post(
            "/api/auth/login", json={"username": account.username, "password": PASSWORD}
        )
        assert login.status_code == 200

        response = await api.post("/api/auth/logout", json={"refreshToken": account.refresh_token})
        assert response.status_code == 204

        other = await refresh(api, login.json()["refreshToken"])
        assert other.status_code == 200, other.text


async def test_logout_with_unknown_token_is_204(server: ParleyServer) -> None:
    async with api_client(server.url) as api:
        response = await api.post(
            "/api/auth/logout", json={"refreshToken": "unknown-" + uuid.uuid4().hex}
        )

    assert response.status_code == 204, response.text


async def test_logout_twice_is_204(server: ParleyServer) -> None:
    account = await register(server.url)
    async with api_client(server.url) as api:
        first = await api.post("/api/auth/logout", json={"refreshToken": account.refresh_token})
        second = await api.post("/api/auth/logout", json={"refreshToken": account.refresh_token})

    assert first.status_code == second.status_code == 204


async def test_logout_with_spent_token_is_204(server: ParleyServer) -> None:
    account = await register(server.url)
    async with api_client(server.url) as api:
        assert (await refresh(api, account.refresh_token)).status_code == 200
        response = await api.post("/api/auth/logout", json={"refreshToken": account.refresh_token})

    assert response.status_code == 204, response.text


# Access tokens


async def test_expired_access_token_is_unauthorized(server_factory: ServerFactory) -> None:
    instance = server_factory({"PARLEY_ACCESS_TOKEN_TTL_SECONDS": "1"})
    async with api_client(instance.url) as api:
        response = await api.post("/api/auth/register", json=registration())
        assert response.status_code == 201, response.text
        session = response.json()
        assert session["expiresIn"] == 1
        assert await me_status(api, session["accessToken"]) == 200

        # JWT `exp` has whole seconds: wait past the next second boundary after expiry.
        await asyncio.sleep(2.2)
        expired = await api.get(
            "/api/users/me", headers={"Authorization": f"Bearer {session['accessToken']}"}
        )
        assert_problem(expired, 401, "unauthorized")

        # The refresh token still answers a fresh pair.
        renewed = await refresh(api, session["refreshToken"])
        assert renewed.status_code == 200, renewed.text
        assert await me_status(api, renewed.json()["accessToken"]) == 200


async def test_expired_refresh_token_is_unauthorized(server_factory: ServerFactory) -> None:
    instance = server_factory({"PARLEY_REFRESH_TOKEN_TTL_SECONDS": "1"})
    account = await register(instance.url)
    async with api_client(instance.url) as api:
        await asyncio.sleep(1.5)
        response = await refresh(api, account.refresh_token)

    assert_problem(response, 401, "unauthorized")


def forged_tokens(account: Account) -> list[str]:
    """Tokens that look like the account's but were not signed by the server."""
    header, payload, signature = account.access_token.split(".")
    claims = jwt.decode(account.access_token, options={"verify_signature": False})
    flipped = ("A" if signature[0] != "A" else "B") + signature[1:]
    return [
        f"{header}.{payload}.{flipped}",
        jwt.encode(claims, "a-secret-the-server-never-saw-0123456789", algorithm="HS256"),
        f"{jwt.encode(claims, '', algorithm='none')}",
        f"{header}.{payload}.",
        "not.a.jwt",
        account.refresh_token,
    ]


async def test_forged_access_tokens_are_unauthorized(server: ParleyServer) -> None:
    account = await register(server.url)
    async with api_client(server.url) as api:
        for token in forged_tokens(account):
            response = await api.get("/api/users/me", headers={"Authorization": f"Bearer {token}"})
            assert_problem(response, 401, "unauthorized")
        assert await me_status(api, account.access_token) == 200


async def test_tokens_survive_a_server_restart(server_factory: ServerFactory) -> None:
    instance = server_factory()
    account = await register(instance.url)

    instance.restart()

    async with api_client(instance.url) as api:
        me = await api.get("/api/users/me", headers=bearer(account))
        assert me.status_code == 200, me.text
        assert me.json()["id"] == account.id
        rotated = await refresh(api, account.refresh_token)
        assert rotated.status_code == 200, rotated.text
        assert await me_status(api, rotated.json()["accessToken"]) == 200


# Rate limits


def assert_rate_limited(response: httpx.Response, at_most_seconds: int) -> None:
    assert_problem(response, 429, "rate_limited")
    retry_after = int(response.headers["retry-after"])
    assert 1 <= retry_after <= at_most_seconds, retry_after


async def test_login_over_the_per_username_limit_is_rate_limited(
    server_factory: ServerFactory,
) -> None:
    instance = server_factory(
        {"PARLEY_RATE_LIMITS": "on", "PARLEY_RATE_LIMIT_LOGIN_PER_USERNAME_PER_MINUTE": "3"}
    )
    target = await register(instance.url)
    bystander = await register(instance.url)
    async with api_client(instance.url) as api:
        for _ in range(3):
            attempt = await api.post(
                "/api/auth/login", json={"username": target.username, "password": "guess1234"}
            )
            assert_problem(attempt, 401, "unauthorized")

        # Even the right password waits: otherwise the limit would not stop guessing.
        limited = await api.post(
            "/api/auth/login", json={"username": target.username, "password": PASSWORD}
        )
        assert_rate_limited(limited, 60)

        # The limit is per username: another user from the same address still logs in.
        other = await api.post(
            "/api/auth/login", json={"username": bystander.username, "password": PASSWORD}
        )
        assert other.status_code == 200, other.text


async def test_registration_over_the_per_address_limit_is_rate_limited(
    server_factory: ServerFactory,
) -> None:
    instance = server_factory(
        {"PARLEY_RATE_LIMITS": "on", "PARLEY_RATE_LIMIT_REGISTER_PER_ADDRESS_PER_HOUR": "3"}
    )
    async with api_client(instance.url) as api:
        for _ in range(3):
            response = await api.post("/api/auth/register", json=registration())
            assert response.status_code == 201, response.text

        limited = await api.post("/api/auth/register", json=registration())
        assert_rate_limited(limited, 3600)


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/api/users/me", None),
        ("GET", "/api/conversations", None),
        ("POST", "/api/conversations", {"type": "group", "name": "g", "participantIds": []}),
    ],
)
async def test_well_signed_token_of_an_unknown_user_is_unauthorized(
    server: ParleyServer, method: str, path: str, body: JSON | None
) -> None:
    async with api_client(server.url, token_for_unknown_user(server)) as api:
        response = await api.request(method, path, json=body)
    assert_problem(response, 401, "unauthorized")
