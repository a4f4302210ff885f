"""The `parley` command: `serve` and `migrate`."""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Any, cast

from pydantic import ValidationError

from parley.config import Settings
from parley.logs import configure_logging

logger = logging.getLogger(__name__)

# HS256 wants a key of at least 32 bytes; shorter ones are guessable offline.
MIN_SECRET_LENGTH = 32


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="parley", description="Parley, a real-time chat server")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="serve the REST API and Socket.IO")
    serve.add_argument("--host", help="address to listen on (PARLEY_HOST, 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to listen on (PARLEY_PORT, 8000)")

    commands.add_parser("migrate", help="bring the database schema up to date, then exit")

    seed = commands.add_parser("seed", help="fill the database with example data, then exit")
    seed.add_argument(
        "--demo", action="store_true", required=True, help="a few people and conversations"
    )

    chat = commands.add_parser("chat", help="chat with someone from this terminal")
    chat.add_argument("--url", default="http://127.0.0.1:8000", help="the Parley server")
    chat.add_argument("--username", required=True, help="who you are")
    chat.add_argument("--password", help="your password (asked for when left out)")
    chat.add_argument("--register", action="store_true", help="create the account first")
    chat.add_argument("--email", help="with --register: your email (default: made up)")
    chat.add_argument("--with", dest="other", required=True, help="the username to chat with")

    args = parser.parse_args(argv)
    if args.command == "chat":
        return chat_in_terminal(args)
    try:
        settings = Settings()
    except ValidationError as error:
        for problem in error.errors():
            name = "PARLEY_" + "_".join(str(part) for part in problem["loc"]).upper()
            print(f"parley: {name}: {problem['msg']}", file=sys.stderr)
        return 2
    configure_logging(settings.log_format, settings.log_level)

    if args.command == "migrate":
        return 0 if migrate(settings) else 1
    if args.command == "seed":
        return seed_demo_data(settings)
    if args.command == "serve":
        return serve_forever(settings, args.host or settings.host, args.port or settings.port)
    return 2


def chat_in_terminal(args: argparse.Namespace) -> int:
    import asyncio

    from parley.realtime.chat_client import ChatError, run_chat

    try:
        asyncio.run(
            run_chat(args.url, args.username, args.password, args.other, args.register, args.email)
        )
    except ChatError as error:
        print(f"parley chat: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        pass
    return 0


def strong_secret(secret: str) -> bool:
    return len(secret) >= MIN_SECRET_LENGTH and "REPLACE_ME" not in secret.upper()


def migrate(settings: Settings) -> bool:
    """Bring the schema up to date; False (with the reason logged) when that fails."""
    import asyncio

    from parley.db.migrate import current_revision, upgrade_to_head

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    try:
        before = asyncio.run(current_revision(settings))
        upgrade_to_head(settings)
        after = asyncio.run(current_revision(settings))
    except Exception as error:
        logger.error("migration failed: %s: %s", type(error).__name__, error)
        return False
    if before == after:
        logger.info("database schema is at the newest revision (%s)", after)
    else:
        logger.info("database schema upgraded from %s to %s", before or "nothing", after)
    return True


def schema_is_current(settings: Settings) -> bool:
    """Whether the database is at this release's revision, for a process that does not
    migrate itself; False (with the reason logged) when it is not or cannot be read."""
    import asyncio

    from parley.db.migrate import current_revision, known_revision, newest_revision

    try:
        current = asyncio.run(current_revision(settings))
    except Exception as error:
        logger.error("database unreachable: %s: %s", type(error).__name__, error)
        return False
    wanted = newest_revision(settings)
    if current and current != wanted and not known_revision(settings, current):
        # A newer release migrated already, as in a rolling update: its migrations keep
        # the schema usable by the release before.
        logger.warning("database schema is at %s, newer than this release (%s)", current, wanted)
        return True
    if current != wanted:
        logger.error(
            "database schema is at %s, this release needs %s: run `parley migrate` first",
            current or "nothing",
            wanted,
        )
        return False
    return True


def seed_demo_data(settings: Settings) -> int:
    import asyncio

    from parley.seed import DEMO_PASSWORD, PEOPLE, seed_demo

    if settings.migrate_on_start and not migrate(settings):
        return 1
    if not asyncio.run(seed_demo(settings)):
        print("parley seed: the demo people are there already; nothing changed")
        return 0
    names = ", ".join(username for username, _ in PEOPLE)
    print(f"parley seed: added {names}, a direct conversation and a group.")
    print(f"Sign in as any of them with the password {DEMO_PASSWORD!r}.")
    print("These accounts have a published password: do not seed a server others can reach.")
    return 0


def serve_forever(settings: Settings, host: str, port: int) -> int:
    import uvicorn

    from parley.app import create_app
    from parley.serving import DrainingServer

    if settings.redis_url and not settings.jwt_secret:
        # Each process would generate a secret of its own and refuse the others' tokens.
        logger.error("PARLEY_REDIS_URL is set: set PARLEY_JWT_SECRET too, the same everywhere")
        return 1
    if settings.jwt_secret is not None and not strong_secret(settings.jwt_secret):
        logger.error(
            "PARLEY_JWT_SECRET is too weak: use at least %d random characters, not a placeholder",
            MIN_SECRET_LENGTH,
        )
        return 1
    if settings.migrate_on_start and not migrate(settings):
        return 1
    if not settings.migrate_on_start and not schema_is_current(settings):
        return 1
    app = create_app(settings)
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        loop="uvloop",
        http="httptools",
        # WebSocket upgrades go to Parley's own engine, beneath ASGI (realtime/websocket.py).
        # Its frames are not compressed: chat events are small, compressing each costs
        # more CPU than it saves bytes, and a compressor per connection costs memory.
        ws=cast(Any, app.services.realtime.websocket_protocol),
        log_config=None,
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=10,
        proxy_headers=True,
        forwarded_allow_ips=settings.forwarded_allow_ips,
    )
    DrainingServer(config, app.drain).run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
