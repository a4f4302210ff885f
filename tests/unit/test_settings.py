"""Settings: each is where an operator looks for it (`.env.example`, with its default), and
database URLs as hosting providers hand them out work as given."""

from __future__ import annotations

import re
from pathlib import Path

from parley.config import Settings

ENV_EXAMPLE = Path(__file__).resolve().parents[2] / ".env.example"


def documented() -> dict[str, str]:
    """`PARLEY_NAME` -> the value after `=` on its (commented-out) line."""
    lines = ENV_EXAMPLE.read_text().splitlines()
    found = (re.match(r"# (PARLEY_[A-Z0-9_]+)=(\S*)", line) for line in lines)
    return {match[1]: match[2] for match in found if match}


def test_env_example_lists_every_setting_and_nothing_else() -> None:
    names = {f"PARLEY_{name.upper()}" for name in Settings.model_fields}

    assert set(documented()) == names


def test_env_example_shows_the_defaults() -> None:
    values = documented()
    for name, field in Settings.model_fields.items():
        default = field.get_default(call_default_factory=True)
        if default is None or isinstance(default, (list, Path)):
            continue  # unset, a list, or a path written relative to the data folder
        shown = values[f"PARLEY_{name.upper()}"]
        if isinstance(default, bool):
            assert shown in (("true", "on") if default else ("false", "off")), name
        else:
            assert shown in (str(default), str(default).removesuffix(".0")), name


def test_postgres_urls_get_the_async_driver_and_libpq_ssl_modes() -> None:
    given = {
        "postgresql://u:p@db/parley": "postgresql+asyncpg://u:p@db/parley",
        "postgres://u:p@db/parley?sslmode=require": "postgresql+asyncpg://u:p@db/parley?ssl=require",
        "postgresql://u:p@db/parley?application_name=x&sslmode=verify-full": (
            "postgresql+asyncpg://u:p@db/parley?application_name=x&ssl=verify-full"
        ),
    }
    for url, resolved in given.items():
        assert Settings(database_url=url).resolved_database_url == resolved
