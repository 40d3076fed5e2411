"""Audience questions and their votes.

A vote is a row whose primary key is (question, voter), so a second vote by the same person
cannot exist, and a question's count is kept beside it in the same transaction. At most one
question per room is pinned: a partial unique index says so to both databases.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "questions",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("run", sa.String(120), nullable=False),
        sa.Column("room", sa.String(63), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("original_text", sa.Text, nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("votes", sa.Integer, nullable=False, server_default="0"),
        sa.Column("pinned", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("author", sa.String(120), nullable=True),
        sa.Column("asker", sa.String(128), nullable=True),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("answered_at", sa.DateTime, nullable=True),
    )
    op.create_index("ix_questions_room", "questions", ["run", "room", "created_at"])
    op.create_index("ix_questions_asker", "questions", ["asker"])
    op.create_index(
        "ux_questions_pinned",
        "questions",
        ["run", "room"],
        unique=True,
        sqlite_where=sa.text("pinned"),
        postgresql_where=sa.text("pinned"),
    )
    op.create_table(
        "votes",
        sa.Column(
            "question_id",
            sa.String(32),
            sa.ForeignKey("questions.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("voter", sa.String(128), primary_key=True),
    )
    op.create_index("ix_votes_voter", "votes", ["voter"])


def downgrade() -> None:
    op.drop_index("ix_votes_voter", "votes")
    op.drop_table("votes")
    op.drop_index("ux_questions_pinned", "questions")
    op.drop_index("ix_questions_asker", "questions")
    op.drop_index("ix_questions_room", "questions")
    op.drop_table("questions")
