"""`parley serve` serves the web client's build at `/` beside the API.

The build here is a stand-in folder shaped like Vite's output (index.html, assets/ with
hashed names); the web client's own suites (web/) test the real one in a browser.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from tests.support.server import ParleyServer

INDEX = "<!doctype html><title>Parley</title><div id=root></div>"


@pytest.fixture
def build(tmp_path: Path) -> Path:
    root = tmp_path / "dist"
    (root / "assets").mkdir(parents=True)
    (root / "index.html").write_text(INDEX)
    (root / "assets" / "index-3f2a9c.js").write_text("console.log('parley')")
    (root / "favicon.svg").write_text("<svg xmlns='http://www.w3.org/2000/svg'/>")
    return root


async def get(server: ParleyServer, path: str, method: str = "GET") -> httpx.Response:
    async with httpx.AsyncClient(base_url=server.url) as client:
        return await client.request(method, path)


async def test_pages_are_the_client_and_assets_are_cached_for_good(
    build: Path, server_factory: Callable[..., ParleyServer]
) -> None:
    server = server_factory({"PARLEY_WEB_DIR": str(build)})

    for path in ("/", "/conversations/5d0d20f7", "/settings"):
        page = await get(server, path)
        assert (page.status_code, page.text) == (200, INDEX), path
        assert page.headers["cache-control"] == "no-cache"
    asset = await get(server, "/assets/index-3f2a9c.js")
    assert asset.status_code == 200
    assert asset.headers["content-type"].startswith("text/javascript")
    assert "immutable" in asset.headers["cache-control"]
    assert (await get(server, "/favicon.svg")).status_code == 200
    assert (await get(server, "/", method="HEAD")).status_code == 200


async def test_the_server_paths_stay_the_server_s(
    build: Path, server_factory: Callable[..., ParleyServer]
) -> None:
    server = server_factory({"PARLEY_WEB_DIR": str(build)})

    for path in ("/api/nowhere", "/api", "/assets/missing.js"):
        response = await get(server, path)
        assert response.status_code == 404, path
        assert response.json()["code"] == "not_found", path
    # Only files of the build itself: a way out of it is just another client route.
    (build.parent / "secret.txt").write_text("not for the web")
    for path in ("/..%2Fsecret.txt", "/%2E%2E/secret.txt", "/assets/..%2F..%2Fsecret.txt"):
        response = await get(server, path)
        assert "not for the web" not in response.text, path
    wrong_method = await get(server, "/api/auth/login", method="PUT")
    assert wrong_method.json()["code"] == "method_not_allowed"
    unknown_post = await get(server, "/api/nowhere", method="POST")
    assert unknown_post.json()["code"] == "not_found"
    assert (await get(server, "/api/health")).json()["status"] == "ok"


async def test_without_a_build_pages_say_how_to_make_one(
    tmp_path: Path, server_factory: Callable[..., ParleyServer]
) -> None:
    server = server_factory({"PARLEY_WEB_DIR": str(tmp_path / "nothing-here")})

    page = await get(server, "/")
    assert page.status_code == 503
    assert "make run" in page.text
    assert (await get(server, "/api/health")).status_code == 200
