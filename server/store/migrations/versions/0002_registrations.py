"""Registrations, the tokens issued for them, and revocations.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "registrations",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("sub", sa.String(64), nullable=False, unique=True),
        sa.Column("name", sa.String(120), nullable=False),
        sa.Column("email", sa.String(254), nullable=False),
        sa.Column("email_key", sa.String(254), nullable=False, unique=True),
        sa.Column("affiliation", sa.String(200), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("consent_at", sa.DateTime, nullable=False),
        sa.Column("decided_at", sa.DateTime, nullable=True),
        sa.Column("decided_by", sa.String(120), nullable=True),
        sa.Column("mail", sa.String(16), nullable=True),
    )
    op.create_index("ix_registrations_status", "registrations", ["status"])
    op.create_index("ix_registrations_mail", "registrations", ["mail"])
    op.create_table(
        "issued_tokens",
        sa.Column("jti", sa.String(128), primary_key=True),
        sa.Column("sub", sa.String(64), nullable=False),
        sa.Column(
            "registration_id", sa.String(32), sa.ForeignKey("registrations.id"), nullable=True
        ),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("issued_at", sa.DateTime, nullable=False),
        sa.Column("expires_at", sa.DateTime, nullable=False),
    )
    op.create_index("ix_issued_tokens_sub", "issued_tokens", ["sub"])
    op.create_index("ix_issued_tokens_registration_id", "issued_tokens", ["registration_id"])
    op.create_table(
        "revocations",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("jti", sa.String(128), nullable=False, unique=True),
        sa.Column("revoked_at", sa.DateTime, nullable=False),
        sa.Column("reason", sa.String(64), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("revocations")
    op.drop_index("ix_issued_tokens_registration_id", "issued_tokens")
    op.drop_index("ix_issued_tokens_sub", "issued_tokens")
    op.drop_table("issued_tokens")
    op.drop_index("ix_registrations_mail", "registrations")
    op.drop_index("ix_registrations_status", "registrations")
    op.drop_table("registrations")
