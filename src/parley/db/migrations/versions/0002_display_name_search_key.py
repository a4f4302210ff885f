"""display name search key

Search by display name ignores case in every script, which SQLite's lower() and LIKE do
not: keep a case-folded copy, computed in Python, and index it.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-04 17:13:14.127887
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

users = sa.table(
    "users",
    sa.column("id", sa.Uuid()),
    sa.column("display_name", sa.String()),
    sa.column("display_name_key", sa.String()),
)


def upgrade() -> None:
    with op.batch_alter_table("users") as batch_op:
        batch_op.add_column(sa.Column("display_name_key", sa.String(length=256), nullable=True))

    connection = op.get_bind()
    for user_id, display_name in connection.execute(sa.select(users.c.id, users.c.display_name)):
        connection.execute(
            users.update()
            .where(users.c.id == user_id)
            .values(display_name_key=display_name.casefold())
        )

    with op.batch_alter_table("users") as batch_op:
        batch_op.alter_column("display_name_key", nullable=False)
        batch_op.create_index(
            batch_op.f("ix_users_display_name_key"), ["display_name_key"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("users") as batch_op:
        batch_op.drop_index(batch_op.f("ix_users_display_name_key"))
        batch_op.drop_column("display_name_key")
