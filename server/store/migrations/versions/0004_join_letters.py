"""Join-link letters: tries, when the next is due, why the last failed, and the letter itself
(its token's jti, the token without its signature, its Message-ID), recorded before sending.

Registrations already there keep everything. Mail still waiting becomes due at once; mail
marked failed before this revision stays failed, with no reason recorded (none was kept).

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "registrations",
        sa.Column("mail_attempts", sa.Integer, nullable=False, server_default="0"),
    )
    op.add_column("registrations", sa.Column("mail_due_at", sa.DateTime, nullable=True))
    op.add_column("registrations", sa.Column("mail_error", sa.String(300), nullable=True))
    op.add_column("registrations", sa.Column("letter_jti", sa.String(128), nullable=True))
    op.add_column("registrations", sa.Column("letter_token", sa.Text, nullable=True))
    op.add_column("registrations", sa.Column("letter_message_id", sa.String(255), nullable=True))
    op.execute(
        "UPDATE registrations SET mail_due_at = COALESCE(decided_at, created_at) "
        "WHERE mail = 'queued'"
    )


def downgrade() -> None:
    # The revision before knew no letter being sent: it is waiting again.
    op.execute("UPDATE registrations SET mail = 'queued' WHERE mail = 'sending'")
    with op.batch_alter_table("registrations") as batch:
        for column in (
            "letter_message_id",
            "letter_token",
            "letter_jti",
            "mail_error",
            "mail_due_at",
            "mail_attempts",
        ):
            batch.drop_column(column)
