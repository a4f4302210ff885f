"""The web client: its build served at `/`, with index.html for every client-side route."""

from __future__ import annotations

from pathlib import Path

from starlette.exceptions import HTTPException
from starlette.responses import FileResponse, PlainTextResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.types import Receive, Scope, Send

# Paths the server itself answers: an unknown one there is the API's 404, never the client.
SERVER_PREFIXES = ("/api/", "/api", "/socket.io", "/metrics", "/docs", "/redoc", "/openapi.json")
CHECKOUT_BUILD = Path(__file__).resolve().parents[2] / "web" / "dist"
NOT_BUILT = "The web client is not built: `make run` builds it (npm in web/).\n"


class WebClient:
    """Mounted last at `/`: GET and HEAD of any other path answer with the client."""

    def __init__(self, web_dir: Path | None) -> None:
        self.root = (web_dir or CHECKOUT_BUILD).resolve()
        # Asset names carry a content hash, so browsers may keep them for good.
        self.assets = _ImmutableFiles(directory=self.root / "assets", check_dir=False)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope["path"]
        if scope["type"] != "http" or scope["method"] not in ("GET", "HEAD"):
            raise HTTPException(404)
        if path.startswith(SERVER_PREFIXES):
            raise HTTPException(404)
        if path.startswith("/assets/"):
            await self.assets({**scope, "path": path.removeprefix("/assets")}, receive, send)
            return
        await self._page(path)(scope, receive, send)

    def _page(self, path: str) -> Response:
        name = path.strip("/")
        if name and "/" not in name:
            candidate = (self.root / name).resolve()
            if candidate.parent == self.root and candidate.is_file():
                return FileResponse(candidate)  # favicon, manifest, robots.txt
        index = self.root / "index.html"
        if not index.is_file():
            return PlainTextResponse(NOT_BUILT, status_code=503)
        return FileResponse(index, headers={"Cache-Control": "no-cache"})


class _ImmutableFiles(StaticFiles):
    def file_response(self, *args, **kwargs) -> Response:  # type: ignore[no-untyped-def]
        response = super().file_response(*args, **kwargs)
        response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
        return response
