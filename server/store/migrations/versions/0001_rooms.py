"""Rooms: overrides, the audit log and the last announced room states.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "overrides",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("run", sa.String(120), nullable=False),
        sa.Column("room", sa.String(63), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("minutes", sa.Integer, nullable=False),
        sa.Column("at", sa.DateTime, nullable=False),
    )
    op.create_index("ix_overrides_run", "overrides", ["run"])
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("run", sa.String(120), nullable=False),
        sa.Column("wall_at", sa.DateTime, nullable=False),
        sa.Column("agenda_at", sa.DateTime, nullable=False),
        sa.Column("room", sa.String(63), nullable=True),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("actor_sub", sa.String(64), nullable=False),
        sa.Column("actor_name", sa.String(120), nullable=False),
        sa.Column("detail", sa.Text, nullable=False),
    )
    op.create_index("ix_audit_log_run", "audit_log", ["run"])
    op.create_table(
        "room_states",
        sa.Column("run", sa.String(120), primary_key=True),
        sa.Column("room", sa.String(63), primary_key=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("changed_at", sa.DateTime, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("room_states")
    op.drop_index("ix_audit_log_run", "audit_log")
    op.drop_table("audit_log")
    op.drop_index("ix_overrides_run", "overrides")
    op.drop_table("overrides")
