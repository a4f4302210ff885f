"""The web client: its build served at `/`, with index.html for every client-side route."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from starlette.convertors import Convertor, register_url_convertor
from starlette.requests import Request
from starlette.responses import FileResponse, PlainTextResponse, Response
from starlette.staticfiles import StaticFiles

CHECKOUT_BUILD = Path(__file__).resolve().parents[2] / "web" / "dist"
NOT_BUILT = "The web client is not built: `make run` builds it (npm in web/).\n"


class ClientPath(Convertor[str]):
    """Any path but the server's own: an unknown `/api/...` stays the API's 404 (or 405)."""

    regex = r"(?!(?:api|socket\.io|metrics|docs|redoc|openapi\.json)(?:/|$)).*"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("client_path", ClientPath())


def mount_web_client(api: FastAPI, web_dir: Path | None) -> None:
    """Serve the build in `web_dir` (default: this checkout's web/dist). Add it last."""
    root = (web_dir or CHECKOUT_BUILD).resolve()
    if (root / "assets").is_dir():
        # Asset names carry a content hash, so browsers may keep them for good.
        api.mount("/assets", _ImmutableFiles(directory=root / "assets"), name="assets")

    async def page(request: Request) -> Response:
        name = request.path_params["path"]
        if name and "/" not in name:
            candidate = (root / name).resolve()
            if candidate.parent == root and candidate.is_file():
                return FileResponse(candidate)  # favicon, manifest, robots.txt
        index = root / "index.html"
        if not index.is_file():
            return PlainTextResponse(NOT_BUILT, status_code=503)
        return FileResponse(index, headers={"Cache-Control": "no-cache"})

    api.add_route("/{path:client_path}", page, methods=["GET", "HEAD"], include_in_schema=False)


class _ImmutableFiles(StaticFiles):
    def file_response(self, *args, **kwargs) -> Response:  # type: ignore[no-untyped-def]
        response = super().file_response(*args, **kwargs)
        response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
        return response
