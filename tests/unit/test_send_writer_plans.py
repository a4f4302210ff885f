"""The send writer's lookups walk an index on SQLite, whatever the size of the tables.

A send runs them in every batch, so a plan that scans `messages` would make every send
slower as the history grows.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, event

from parley.db.base import Base
from parley.messages import service

LOOKUPS: dict[str, tuple[Any, dict[str, list[Any]]]] = {
    "memberships": (
        service._MEMBERSHIPS,
        {"conversations": [uuid.uuid4(), uuid.uuid4()], "users": [uuid.uuid4()]},
    ),
    "originals": (
        service._ORIGINALS,
        {"senders": [uuid.uuid4(), uuid.uuid4()], "client_ids": ["a", "b"]},
    ),
    "last seqs": (service._LAST_SEQS, {"ids": [uuid.uuid4(), uuid.uuid4()]}),
}


@pytest.mark.parametrize("name", list(LOOKUPS))
def test_lookup_walks_an_index(name: str, tmp_path: Path) -> None:
    statement, parameters = LOOKUPS[name]
    engine = create_engine(f"sqlite:///{tmp_path / 'plans.db'}")
    Base.metadata.create_all(engine)
    sent: list[tuple[str, Any]] = []
    event.listen(engine, "before_cursor_execute", lambda *a: sent.append((a[2], a[3])))
    with engine.connect() as connection:
        connection.execute(statement, parameters)
        sql, bound = sent[-1]
        plan = connection.exec_driver_sql("EXPLAIN QUERY PLAN " + sql, bound).all()
    engine.dispose()
    details = [row[-1] for row in plan]
    assert details, sql
    assert not any(detail.startswith("SCAN") for detail in details), details
