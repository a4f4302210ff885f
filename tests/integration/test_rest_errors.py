"""REST error shapes: bad bodies, size caps, unknown paths and methods, authentication, health.

Whatever a request looks like, the server answers with the contract's problem details and
never with a 5xx: every response this file receives is checked for that.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from tests.integration.helpers import (
    JSON,
    MALFORMED_ID,
    assert_problem,
    bearer,
    create_direct,
    create_group,
    new_client_id,
    register_many,
    send_message,
    unknown_id,
)
from tests.support.clients import PASSWORD, Account, api_client, register, unique_name
from tests.support.server import ParleyServer

ONE_MIB = 1024 * 1024


def client(base_url: str, token: str | None = None) -> httpx.AsyncClient:
    """`api_client`, plus a check that no response of this file is a server error."""
    api = api_client(base_url, token)

    async def no_server_error(response: httpx.Response) -> None:
        assert response.status_code < 500, (
            f"{response.request.method} {response.request.url}: "
            f"{response.status_code} {response.text[:500]}"
        )

    api.event_hooks["response"].append(no_server_error)
    return api


async def direct_with_message(api: httpx.AsyncClient, base_url: str) -> tuple[Account, str, str]:
    """A fresh user, a direct conversation of theirs and a message in it."""
    alice, bob = await register_many(base_url, 2)
    direct = await create_direct(api, alice, bob)
    message = await send_message(api, alice, direct["id"])
    return alice, str(direct["id"]), str(message["id"])


# Bodies that are not what the endpoint takes


@pytest.mark.parametrize(
    "content",
    [b"{not json", b"", b"\xff\xfe\x00garbage", b'{"username": "a", "password": ', b"null"],
    ids=["broken", "empty", "not_utf8", "truncated", "null"],
)
async def test_body_that_is_not_a_json_object_is_validation_error(
    server: ParleyServer, content: bytes
) -> None:
    async with client(server.url) as api:
        response = await api.post(
            "/api/auth/login", content=content, headers={"Content-Type": "application/json"}
        )

    assert_problem(response, 422, "validation_error")


@pytest.mark.parametrize(
    "content",
    [b"[" * 100_000 + b"]" * 100_000, b'{"username": "a", "password": ' + b"9" * 5000 + b"}"],
    ids=["nested_100000_deep", "integer_of_5000_digits"],
)
async def test_json_the_parser_refuses_is_validation_error(
    server: ParleyServer, content: bytes
) -> None:
    """Under the size cap, whatever the parser chokes on is still just a bad body."""
    async with client(server.url) as api:
        response = await api.post(
            "/api/auth/login", content=content, headers={"Content-Type": "application/json"}
        )

    assert_problem(response, 422, "validation_error")


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
async def test_non_json_constant_is_validation_error(server: ParleyServer, constant: str) -> None:
    """`NaN` and `Infinity` are JavaScript, not JSON: a body holding one is not JSON."""
    async with client(server.url) as api:
        alice, cid, _ = await direct_with_message(api, server.url)
        metadata = f'{{"v": {constant}}}'
        body = f'{{"clientId": "{new_client_id()}", "content": "x", "metadata": {metadata}}}'
        response = await api.post(
            f"/api/conversations/{cid}/messages",
            content=body.encode(),
            headers={**bearer(alice), "Content-Type": "application/json"},
        )
        after = await api.get(f"/api/conversations/{cid}", headers=bearer(alice))

    assert_problem(response, 422, "validation_error")
    assert after.json()["lastSeq"] == 1


# A JSON string may escape a lone UTF-16 surrogate, which no UTF-8 text can hold.
LONE_SURROGATE_CALLS: dict[str, tuple[str, str, str]] = {
    "message_content": (
        "POST",
        "/api/conversations/{cid}/messages",
        '{"clientId": "{unique}", "content": "a\\ud800b"}',
    ),
    "metadata_key": (
        "POST",
        "/api/conversations/{cid}/messages",
        '{"clientId": "{unique}", "content": "x", "metadata": {"\\udc00": 1}}',
    ),
    "metadata_value": (
        "POST",
        "/api/conversations/{cid}/messages",
        '{"clientId": "{unique}", "content": "x", "metadata": {"k": "\\ud800"}}',
    ),
    "client_id": (
        "POST",
        "/api/conversations/{cid}/messages",
        '{"clientId": "c\\ud800", "content": "x"}',
    ),
    "edited_content": ("PATCH", "/api/messages/{mid}", '{"content": "\\udfff"}'),
    "display_name": ("PATCH", "/api/users/me", '{"displayName": "x\\ud800"}'),
    "register_display_name": (
        "POST",
        "/api/auth/register",
        '{"username": "u_{unique}", "email": "u_{unique}@example.com", '
        '"password": "password123", "displayName": "\\ud800"}',
    ),
    "login_username": (
        "POST",
        "/api/auth/login",
        '{"username": "x\\ud800", "password": "password123"}',
    ),
    "login_password": (
        "POST",
        "/api/auth/login",
        '{"username": "someone", "password": "pass\\ud800word"}',
    ),
}


@pytest.mark.parametrize("name", LONE_SURROGATE_CALLS)
async def test_lone_surrogate_in_text_is_validation_error(server: ParleyServer, name: str) -> None:
    method, path, template = LONE_SURROGATE_CALLS[name]
    async with client(server.url) as api:
        alice, cid, mid = await direct_with_message(api, server.url)
        body = template.replace("{unique}", new_client_id()[:20])
        response = await api.request(
            method,
            path.format(cid=cid, mid=mid),
            content=body.encode(),
            headers={**bearer(alice), "Content-Type": "application/json"},
        )

    assert_problem(response, 422, "validation_error")


@pytest.mark.parametrize("body", [[], ["username", "password"], "text", 42])
async def test_json_body_of_the_wrong_kind_is_validation_error(
    server: ParleyServer, body: object
) -> None:
    async with client(server.url) as api:
        response = await api.post("/api/auth/login", json=body)

    assert_problem(response, 422, "validation_error")


async def test_missing_field_is_validation_error(server: ParleyServer) -> None:
    async with client(server.url) as api:
        login = await api.post("/api/auth/login", json={"username": "someone"})
        register_body = {"username": unique_name(), "password": PASSWORD}
        registration = await api.post("/api/auth/register", json=register_body)
        refresh = await api.post("/api/auth/refresh", json={})

    for response in (login, registration, refresh):
        assert_problem(response, 422, "validation_error")


async def test_extra_field_is_validation_error(server: ParleyServer) -> None:
    account = await register(server.url)
    async with client(server.url) as api:
        login = await api.post(
            "/api/auth/login",
            json={"username": account.username, "password": PASSWORD, "remember": True},
        )
        patch = await api.patch(
            "/api/users/me", json={"displayName": "x", "isAdmin": True}, headers=bearer(account)
        )
        other = (await register_many(server.url, 1))[0]
        conversation = await api.post(
            "/api/conversations",
            json={"type": "direct", "participantIds": [other.id], "name": None, "x": 1},
            headers=bearer(account),
        )

        direct = await create_direct(api, account, other)
        message = await send_message(api, account, direct["id"])
        edit = await api.patch(
            f"/api/messages/{message['id']}",
            json={"content": "x", "metadata": {"a": 1}},
            headers=bearer(account),
        )
        read = await api.post(
            f"/api/conversations/{direct['id']}/read",
            json={"seq": 1, "readAt": "2026-01-01T00:00:00.000Z"},
            headers=bearer(account),
        )

    for response in (login, patch, conversation, edit, read):
        assert_problem(response, 422, "validation_error")


WRONG_TYPES: dict[str, tuple[str, str, dict[str, Any]]] = {
    "login_username_number": ("POST", "/api/auth/login", {"username": 5, "password": PASSWORD}),
    "login_password_list": ("POST", "/api/auth/login", {"username": "abc", "password": ["x"]}),
    "refresh_token_object": ("POST", "/api/auth/refresh", {"refreshToken": {"a": 1}}),
    "display_name_bool": ("PATCH", "/api/users/me", {"displayName": True}),
    "participant_ids_string": (
        "POST",
        "/api/conversations",
        {"type": "group", "name": "g", "participantIds": "everyone"},
    ),
    "participant_id_malformed": (
        "POST",
        "/api/conversations",
        {"type": "group", "name": "g", "participantIds": [MALFORMED_ID]},
    ),
    "group_name_number": (
        "POST",
        "/api/conversations",
        {"type": "group", "name": 12, "participantIds": []},
    ),
    "content_number": (
        "POST",
        "/api/conversations/{cid}/messages",
        {"clientId": "c1", "content": 5},
    ),
    "client_id_number": (
        "POST",
        "/api/conversations/{cid}/messages",
        {"clientId": 7, "content": "x"},
    ),
    "read_seq_string": ("POST", "/api/conversations/{cid}/read", {"seq": "1"}),
    "read_seq_bool": ("POST", "/api/conversations/{cid}/read", {"seq": True}),
    "edit_content_null": ("PATCH", "/api/messages/{mid}", {"content": None}),
}


@pytest.mark.parametrize("name", WRONG_TYPES)
async def test_wrong_type_is_validation_error(server: ParleyServer, name: str) -> None:
    method, path, body = WRONG_TYPES[name]
    async with client(server.url) as api:
        alice, cid, mid = await direct_with_message(api, server.url)
        response = await api.request(
            method, path.format(cid=cid, mid=mid), json=body, headers=bearer(alice)
        )

    assert_problem(response, 422, "validation_error")


async def test_required_field_sent_as_null_is_validation_error(server: ParleyServer) -> None:
    async with client(server.url) as api:
        response = await api.post("/api/auth/login", json={"username": None, "password": PASSWORD})

    assert_problem(response, 422, "validation_error")


async def test_optional_field_sent_as_null_is_treated_as_absent(server: ParleyServer) -> None:
    username = unique_name("nulls")
    async with client(server.url) as api:
        registration = await api.post(
            "/api/auth/register",
            json={
                "username": username,
                "email": f"{username}@example.com",
                "password": PASSWORD,
                "displayName": None,
            },
        )
        assert registration.status_code == 201, registration.text
        assert registration.json()["user"]["displayName"] == username
        token = registration.json()["accessToken"]
        other = (await register_many(server.url, 1))[0]

        direct = await api.post(
            "/api/conversations",
            json={"type": "direct", "participantIds": [other.id], "name": None},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert direct.status_code == 201, direct.text

        message = await api.post(
            f"/api/conversations/{direct.json()['id']}/messages",
            json={"clientId": new_client_id(), "content": "x", "type": None, "metadata": None},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert message.status_code == 201, message.text
        assert message.json()["metadata"] == {}

        patch = await api.patch(
            "/api/users/me",
            json={"displayName": None},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert patch.status_code == 200, patch.text
        assert patch.json()["displayName"] == username


@pytest.mark.parametrize(
    "query",
    ["limit=abc", "limit=-1", "before=not-a-cursor"],
)
async def test_invalid_list_query_is_validation_error(server: ParleyServer, query: str) -> None:
    (alice,) = await register_many(server.url, 1)
    async with client(server.url) as api:
        response = await api.get(f"/api/conversations?{query}", headers=bearer(alice))

    assert_problem(response, 422, "validation_error")


@pytest.mark.parametrize("query", ["limit=abc", "before=x", "after=x", "limit=-1"])
async def test_invalid_history_query_is_validation_error(server: ParleyServer, query: str) -> None:
    async with client(server.url) as api:
        alice, cid, _ = await direct_with_message(api, server.url)
        response = await api.get(
            f"/api/conversations/{cid}/messages?{query}", headers=bearer(alice)
        )

    assert_problem(response, 422, "validation_error")


@pytest.mark.parametrize("query", ["limit=abc", "after=not-a-cursor"])
async def test_invalid_participants_query_is_validation_error(
    server: ParleyServer, query: str
) -> None:
    owner, bob = await register_many(server.url, 2)
    async with client(server.url) as api:
        group = await create_group(api, owner, [bob])
        response = await api.get(
            f"/api/conversations/{group['id']}/participants?{query}", headers=bearer(owner)
        )

    assert_problem(response, 422, "validation_error")


# Size caps


async def test_body_over_one_mib_is_payload_too_large(server: ParleyServer) -> None:
    async with client(server.url) as api:
        alice, cid, _ = await direct_with_message(api, server.url)
        body = {"clientId": new_client_id(), "content": "a" * ONE_MIB}
        response = await api.post(
            f"/api/conversations/{cid}/messages", json=body, headers=bearer(alice)
        )
        after = await api.get(f"/api/conversations/{cid}", headers=bearer(alice))

    assert_problem(response, 413, "payload_too_large")
    assert after.json()["lastSeq"] == 1


async def test_unauthenticated_body_over_one_mib_is_payload_too_large(
    server: ParleyServer,
) -> None:
    async with client(server.url) as api:
        response = await api.post(
            "/api/auth/login",
            json={"username": "someone", "password": "p" * (ONE_MIB + 10)},
        )

    assert_problem(response, 413, "payload_too_large")


def message_body_of_size(size_bytes: int) -> bytes:
    """A message body of exactly `size_bytes`, its content far over the content limit."""
    head, tail = f'{{"clientId": "{new_client_id()}", "content": "'.encode(), b'"}'
    body = head + b"a" * (size_bytes - len(head) - len(tail)) + tail
    assert len(body) == size_bytes
    return body


@pytest.mark.parametrize(
    ("size_bytes", "status", "code"),
    [(ONE_MIB, 422, "validation_error"), (ONE_MIB + 1, 413, "payload_too_large")],
    ids=["exactly_one_mib", "one_byte_over"],
)
async def test_body_size_cap_is_exactly_one_mib(
    server: ParleyServer, size_bytes: int, status: int, code: str
) -> None:
    async with client(server.url) as api:
        alice, cid, _ = await direct_with_message(api, server.url)
        response = await api.post(
            f"/api/conversations/{cid}/messages",
            content=message_body_of_size(size_bytes),
            headers={**bearer(alice), "Content-Type": "application/json"},
        )

    assert_problem(response, status, code)


async def test_chunked_body_over_one_mib_is_payload_too_large(server: ParleyServer) -> None:
    """Without Content-Length the cap must hold while reading, not only up front."""

    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"username": "someone", "password": "'
        for _ in range(17):  # 17 x 64 KiB: just over 1 MiB
            yield b"p" * (64 * 1024)
        yield b'"}'

    async with client(server.url) as api:
        response = await api.post(
            "/api/auth/login", content=chunks(), headers={"Content-Type": "application/json"}
        )

    assert "content-length" not in response.request.headers
    assert_problem(response, 413, "payload_too_large")


async def test_body_just_under_one_mib_is_not_payload_too_large(server: ParleyServer) -> None:
    """Under the cap the body is read and judged by its content: a too-long message."""
    async with client(server.url) as api:
        alice, cid, _ = await direct_with_message(api, server.url)
        body = {"clientId": new_client_id(), "content": "a" * (ONE_MIB - 200)}
        response = await api.post(
            f"/api/conversations/{cid}/messages", json=body, headers=bearer(alice)
        )

    assert_problem(response, 422, "validation_error")


# Paths and methods


@pytest.mark.parametrize(
    "path",
    [
        "/api/nope",
        "/api/users/me/extra",
        "/api/conversations/{cid}/nope",
        "/api/messages",
        "/api/v2/conversations",
    ],
)
async def test_unknown_api_path_is_not_found_problem(server: ParleyServer, path: str) -> None:
    async with client(server.url) as api:
        alice, cid, _ = await direct_with_message(api, server.url)
        response = await api.get(path.format(cid=cid), headers=bearer(alice))

    assert_problem(response, 404, "not_found")


async def test_unknown_api_path_without_token_is_a_problem(server: ParleyServer) -> None:
    async with client(server.url) as api:
        response = await api.get("/api/definitely/not/here")

    assert response.status_code in (401, 404), response.text
    assert_problem(
        response,
        response.status_code,
        {401: "unauthorized", 404: "not_found"}[response.status_code],
    )


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("PUT", "/api/auth/login"),
        ("GET", "/api/auth/register"),
        ("DELETE", "/api/users/me"),
        ("POST", "/api/users/me"),
        ("POST", "/api/health"),
        ("DELETE", "/api/conversations"),
        ("PUT", "/api/conversations/{cid}"),
        ("GET", "/api/conversations/{cid}/read"),
        ("GET", "/api/messages/{mid}"),
    ],
)
async def test_wrong_method_is_method_not_allowed_problem(
    server: ParleyServer, method: str, path: str
) -> None:
    async with client(server.url) as api:
        alice, cid, mid = await direct_with_message(api, server.url)
        response = await api.request(
            method, path.format(cid=cid, mid=mid), json={}, headers=bearer(alice)
        )

    assert_problem(response, 405, "method_not_allowed")


MALFORMED_ID_CALLS: list[tuple[str, str, JSON | None]] = [
    ("GET", "/api/users/{bad}", None),
    ("GET", "/api/conversations/{bad}", None),
    ("PATCH", "/api/conversations/{bad}", {"name": "n"}),
    ("GET", "/api/conversations/{bad}/participants", None),
    ("POST", "/api/conversations/{bad}/participants", {"userIds": []}),
    ("PATCH", "/api/conversations/{cid}/participants/{bad}", {"role": "admin"}),
    ("DELETE", "/api/conversations/{cid}/participants/{bad}", None),
    ("GET", "/api/conversations/{bad}/messages", None),
    ("POST", "/api/conversations/{bad}/messages", {"clientId": "c", "content": "c"}),
    ("POST", "/api/conversations/{bad}/read", {"seq": 1}),
    ("PATCH", "/api/messages/{bad}", {"content": "c"}),
    ("DELETE", "/api/messages/{bad}", None),
]


@pytest.mark.parametrize(("method", "path", "body"), MALFORMED_ID_CALLS)
async def test_malformed_id_in_path_is_not_found(
    server: ParleyServer, method: str, path: str, body: JSON | None
) -> None:
    """Valid bodies where the endpoint takes one: the id alone must decide the answer."""
    owner, bob = await register_many(server.url, 2)
    async with client(server.url) as api:
        group = await create_group(api, owner, [bob])
        url = path.format(cid=group["id"], bad=MALFORMED_ID)
        response = await api.request(method, url, json=body, headers=bearer(owner))

    assert_problem(response, 404, "not_found")


# Authentication


AUTHENTICATED = [
    ("GET", "/api/users/me"),
    ("PATCH", "/api/users/me"),
    ("GET", "/api/users"),
    ("GET", "/api/users/{uid}"),
    ("GET", "/api/conversations"),
    ("POST", "/api/conversations"),
    ("GET", "/api/conversations/{cid}"),
    ("PATCH", "/api/conversations/{cid}"),
    ("GET", "/api/conversations/{cid}/participants"),
    ("POST", "/api/conversations/{cid}/participants"),
    ("PATCH", "/api/conversations/{cid}/participants/{uid}"),
    ("DELETE", "/api/conversations/{cid}/participants/{uid}"),
    ("GET", "/api/conversations/{cid}/messages"),
    ("POST", "/api/conversations/{cid}/messages"),
    ("POST", "/api/conversations/{cid}/read"),
    ("PATCH", "/api/messages/{mid}"),
    ("DELETE", "/api/messages/{mid}"),
]

BAD_AUTHORIZATION = {
    "missing": None,
    "scheme_only": "Bearer",
    "garbage_bearer": "Bearer garbage",
    "basic_scheme": "Basic dXNlcjpwYXNz",
    "token_without_scheme": "eyJhbGciOiJIUzI1NiJ9.e30.c2ln",
}


@pytest.mark.parametrize(("method", "path"), AUTHENTICATED)
@pytest.mark.parametrize("authorization", BAD_AUTHORIZATION)
async def test_missing_or_garbage_authorization_is_unauthorized(
    server: ParleyServer, method: str, path: str, authorization: str
) -> None:
    """Authentication comes first: the ids need not exist and the body need not be valid."""
    header = BAD_AUTHORIZATION[authorization]
    headers = {"Authorization": header} if header is not None else {}
    url = path.format(cid=unknown_id(), mid=unknown_id(), uid=unknown_id())
    async with client(server.url) as api:
        response = await api.request(
            method, url, json={} if method in ("POST", "PATCH") else None, headers=headers
        )

    assert_problem(response, 401, "unauthorized")


async def test_expired_looking_but_unsigned_token_is_unauthorized(server: ParleyServer) -> None:
    account = await register(server.url)
    header, payload, _ = account.access_token.split(".")
    async with client(server.url) as api:
        response = await api.get(
            "/api/users/me", headers={"Authorization": f"Bearer {header}.{payload}"}
        )

    assert_problem(response, 401, "unauthorized")


async def test_api_requests_over_the_burst_are_rate_limited(
    server_factory: Callable[..., ParleyServer],
) -> None:
    instance = server_factory(
        {
            "PARLEY_RATE_LIMITS": "on",
            "PARLEY_RATE_LIMIT_API_BURST": "5",
            "PARLEY_RATE_LIMIT_API_PER_SECOND": "0.5",
        }
    )
    alice, bob = await register_many(instance.url, 2)
    statuses: list[int] = []
    async with client(instance.url) as api:
        limited: httpx.Response | None = None
        for _ in range(10):  # bounded: the burst of 5 is spent well before
            response = await api.get("/api/users/me", headers=bearer(alice))
            statuses.append(response.status_code)
            if response.status_code == 429:
                limited = response
                break
        per_user = await api.get("/api/users/me", headers=bearer(bob))

    assert statuses[:4] == [200] * 4, statuses
    assert limited is not None, statuses
    assert_problem(limited, 429, "rate_limited")
    assert 1 <= int(limited.headers["retry-after"]) <= 2
    assert per_user.status_code == 200, per_user.text


# Health


async def test_health_answers_ok_with_checks(server: ParleyServer) -> None:
    async with client(server.url) as api:
        response = await api.get("/api/health")

    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["redis"] in ("disabled", "ok")  # "ok" in production mode


async def test_liveness_answers_ok_without_checking_dependencies(server: ParleyServer) -> None:
    async with client(server.url) as api:
        response = await api.get("/api/health/live")

    assert response.status_code == 200, response.text
    assert response.json() == {"status": "ok"}


async def test_health_needs_no_token_and_ignores_a_bad_one(server: ParleyServer) -> None:
    async with client(server.url) as api:
        response = await api.get("/api/health", headers={"Authorization": "Bearer garbage"})

    assert response.status_code == 200, response.text
    assert response.json()["status"] == "ok"
