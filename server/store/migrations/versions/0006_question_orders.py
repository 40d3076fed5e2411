"""How each room's speakers' queue is sorted: the moderator's choice, one row per room.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "question_orders",
        sa.Column("run", sa.String(120), primary_key=True),
        sa.Column("room", sa.String(63), primary_key=True),
        sa.Column("by", sa.String(8), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("question_orders")
