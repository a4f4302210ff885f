"""`parley serve` and `parley migrate` refuse what an operator must fix, in one clear line."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from tests.support.server import PARLEY


def run_parley(
    args: list[str], settings: dict[str, str], data_dir: Path
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PARLEY_")}
    env.update({"PARLEY_DATA_DIR": str(data_dir), "PARLEY_LOG_FORMAT": "json", **settings})
    return subprocess.run(
        [str(PARLEY), *args], env=env, capture_output=True, text=True, timeout=60, check=False
    )


def test_serve_refuses_a_weak_or_placeholder_jwt_secret(tmp_path: Path) -> None:
    for secret in ("short", "REPLACE_ME-with-at-least-32-random-bytes"):
        result = run_parley(["serve", "--port", "9"], {"PARLEY_JWT_SECRET": secret}, tmp_path)
        assert result.returncode == 1
        assert "PARLEY_JWT_SECRET is too weak" in result.stderr + result.stdout


def test_failed_migration_is_one_log_line_and_exit_1(tmp_path: Path) -> None:
    nobody_listens = "postgresql://parley:parley@127.0.0.1:9/parley"
    result = run_parley(["migrate"], {"PARLEY_DATABASE_URL": nobody_listens}, tmp_path)
    output = (result.stdout + result.stderr).strip().splitlines()
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert any("migration failed" in line for line in output), output


def test_serve_without_migrating_refuses_an_unmigrated_database(tmp_path: Path) -> None:
    no_migration = {"PARLEY_MIGRATE_ON_START": "false"}
    refused = run_parley(["serve", "--port", "9"], no_migration, tmp_path)
    first = run_parley(["migrate"], {}, tmp_path)
    again = run_parley(["migrate"], {}, tmp_path)

    assert refused.returncode == 1
    assert "run `parley migrate` first" in refused.stderr + refused.stdout
    assert "Traceback" not in refused.stderr
    assert first.returncode == again.returncode == 0
    assert "upgraded from nothing to" in first.stderr + first.stdout
    assert "is at the newest revision" in again.stderr + again.stdout
