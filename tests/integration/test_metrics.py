"""`/metrics`: what an operator's Prometheus scrapes from each process."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import httpx

from tests.integration.helpers import OpenSocket, ok, start_direct
from tests.support.clients import register
from tests.support.server import ParleyServer, free_port


def sample(text: str, name: str) -> float:
    """The value of the sample line starting with `name` (labels included); 0 when absent."""
    for line in text.splitlines():
        if line.startswith(name):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


async def scrape(server: ParleyServer) -> httpx.Response:
    async with httpx.AsyncClient() as client:
        return await client.get(f"{server.url}/metrics")


async def test_metrics_count_sockets_events_and_sends(
    server: ParleyServer, sockets: OpenSocket
) -> None:
    alice, bob = await register(server.url, "alice"), await register(server.url, "bob")
    conversation = await start_direct(server.url, alice, bob)
    chat = await sockets(server.url, alice.access_token)
    before = (await scrape(server)).text

    payload = {"conversationId": conversation["id"], "clientId": "m1", "content": "hi"}
    ok(await chat.call("sendMessage", payload))
    await chat.call("sendMessage", {"conversationId": conversation["id"]})

    response = await scrape(server)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    after = response.text
    assert sample(after, "parley_connected_sockets ") >= 1
    sent_ok = 'parley_socket_events_total{event="sendMessage",outcome="ok"}'
    assert sample(after, sent_ok) == sample(before, sent_ok) + 1
    failed = 'parley_socket_events_total{event="sendMessage",outcome="validation_error"}'
    assert sample(after, failed) >= 1
    assert sample(after, "parley_send_seconds_count") >= 1
    assert sample(after, "parley_database_connections_in_use") >= 0
    assert sample(after, "parley_redis_errors_total") == 0


async def test_metrics_count_http_requests_by_route_template(server: ParleyServer) -> None:
    alice = await register(server.url, "alice")
    route = '{method="GET",route="/api/users/{user_id}",status="404"}'
    name = f"parley_http_request_seconds_count{route}"
    before = sample((await scrape(server)).text, name)
    async with httpx.AsyncClient(headers={"Authorization": f"Bearer {alice.access_token}"}) as api:
        for _ in range(3):  # three different ids, one label set
            response = await api.get(f"{server.url}/api/users/{uuid.uuid4()}")
            assert response.status_code == 404
    after = (await scrape(server)).text
    assert sample(after, name) == before + 3
    assert sample(after, "parley_database_errors_total") == 0


async def test_metrics_on_a_port_of_their_own_leave_the_public_port(
    server_factory: Callable[..., ParleyServer],
) -> None:
    metrics_port = free_port()
    server = server_factory({"PARLEY_METRICS_PORT": str(metrics_port)})
    async with httpx.AsyncClient() as client:
        public = await client.get(f"{server.url}/metrics")
        private = await client.get(f"http://127.0.0.1:{metrics_port}/metrics")
    assert public.status_code == 404
    assert public.json()["code"] == "not_found"
    assert private.status_code == 200
    assert sample(private.text, "parley_connected_sockets ") == 0
