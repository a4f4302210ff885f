"""The `parley` command: `serve` and `migrate`."""

from __future__ import annotations

import argparse
import logging
import sys

from parley.config import Settings
from parley.logs import configure_logging

logger = logging.getLogger(__name__)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="parley", description="Parley, a real-time chat server")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="serve the REST API and Socket.IO")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on")
    serve.add_argument("--port", type=int, default=8000, help="port to listen on")

    commands.add_parser("migrate", help="bring the database schema up to date, then exit")

    args = parser.parse_args(argv)
    settings = Settings()
    configure_logging(settings.log_format, settings.log_level)

    if args.command == "migrate":
        migrate(settings)
        return 0
    if args.command == "serve":
        return serve_forever(settings, args.host, args.port)
    return 2


def migrate(settings: Settings) -> None:
    from parley.db.migrate import upgrade_to_head

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade_to_head(settings)
    logger.info("database schema is up to date")


def serve_forever(settings: Settings, host: str, port: int) -> int:
    import uvicorn

    from parley.app import create_app

    if settings.migrate_on_start:
        migrate(settings)
    app = create_app(settings)
    uvicorn.run(
        app,
        host=host,
        port=port,
        loop="uvloop",
        http="httptools",
        ws="websockets-sansio",
        log_config=None,
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=10,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
