"""The tables. Changes to them go through a migration in ``migrations/versions``."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Boolean, DateTime, ForeignKey, Index, Integer, String, Text, false
from sqlalchemy import text as text_clause
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator


class UtcDateTime(TypeDecorator[datetime]):
    """Stored as naive UTC everywhere, handed back aware, so SQLite and PostgreSQL agree."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    pass


class OverrideRow(Base):
    __tablename__ = "overrides"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run: Mapped[str] = mapped_column(String(120), index=True)
    room: Mapped[str] = mapped_column(String(63))
    action: Mapped[str] = mapped_column(String(16))
    minutes: Mapped[int] = mapped_column(Integer, default=0)
    at: Mapped[datetime] = mapped_column(UtcDateTime)


class AuditRow(Base):
    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run: Mapped[str] = mapped_column(String(120), index=True)
    wall_at: Mapped[datetime] = mapped_column(UtcDateTime)
    agenda_at: Mapped[datetime] = mapped_column(UtcDateTime)
    room: Mapped[str | None] = mapped_column(String(63), nullable=True)
    action: Mapped[str] = mapped_column(String(32))
    actor_sub: Mapped[str] = mapped_column(String(64))
    actor_name: Mapped[str] = mapped_column(String(120))
    detail: Mapped[str] = mapped_column(Text, default="{}")


class RoomStateRow(Base):
    __tablename__ = "room_states"
    run: Mapped[str] = mapped_column(String(120), primary_key=True)
    room: Mapped[str] = mapped_column(String(63), primary_key=True)
    state: Mapped[str] = mapped_column(String(16))
    changed_at: Mapped[datetime] = mapped_column(UtcDateTime)


class RegistrationRow(Base):
    __tablename__ = "registrations"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    sub: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    email: Mapped[str] = mapped_column(String(254))
    # The address folded to one letter case: two registrations may not share it.
    email_key: Mapped[str] = mapped_column(String(254), unique=True)
    affiliation: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[str] = mapped_column(String(16), index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    consent_at: Mapped[datetime] = mapped_column(UtcDateTime)
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    decided_by: Mapped[str | None] = mapped_column(String(120), nullable=True)
    mail: Mapped[str | None] = mapped_column(String(16), nullable=True, index=True)
    mail_attempts: Mapped[int] = mapped_column(Integer, default=0)
    mail_due_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    mail_error: Mapped[str | None] = mapped_column(String(300), nullable=True)
    # The join-link letter: its token's jti, the token without its signature, its Message-ID.
    letter_jti: Mapped[str | None] = mapped_column(String(128), nullable=True)
    letter_token: Mapped[str | None] = mapped_column(Text, nullable=True)
    letter_message_id: Mapped[str | None] = mapped_column(String(255), nullable=True)


class IssuedTokenRow(Base):
    __tablename__ = "issued_tokens"
    jti: Mapped[str] = mapped_column(String(128), primary_key=True)
    sub: Mapped[str] = mapped_column(String(64), index=True)
    registration_id: Mapped[str | None] = mapped_column(
        String(32), ForeignKey("registrations.id"), nullable=True, index=True
    )
    role: Mapped[str] = mapped_column(String(16))
    issued_at: Mapped[datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)


class RevocationRow(Base):
    __tablename__ = "revocations"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    jti: Mapped[str] = mapped_column(String(128), unique=True)
    revoked_at: Mapped[datetime] = mapped_column(UtcDateTime)
    reason: Mapped[str] = mapped_column(String(64))


class QuestionRow(Base):
    __tablename__ = "questions"
    __table_args__ = (
        Index("ix_questions_room", "run", "room", "created_at"),
        # One pinned question per room, whatever two moderators do at once.
        Index(
            "ux_questions_pinned",
            "run",
            "room",
            unique=True,
            sqlite_where=text_clause("pinned"),
            postgresql_where=text_clause("pinned"),
        ),
    )
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    run: Mapped[str] = mapped_column(String(120))
    room: Mapped[str] = mapped_column(String(63))
    text: Mapped[str] = mapped_column(Text)
    original_text: Mapped[str | None] = mapped_column(Text, nullable=True)
    status: Mapped[str] = mapped_column(String(16))
    votes: Mapped[int] = mapped_column(Integer, default=0)
    pinned: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    author: Mapped[str | None] = mapped_column(String(120), nullable=True)
    asker: Mapped[str | None] = mapped_column(String(128), nullable=True, index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    answered_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


class VoteRow(Base):
    """One vote: the primary key is the constraint that makes a second one impossible."""

    __tablename__ = "votes"
    question_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("questions.id", ondelete="CASCADE"), primary_key=True
    )
    voter: Mapped[str] = mapped_column(String(128), primary_key=True, index=True)


class QuestionOrderRow(Base):
    """How a room's speakers' queue is sorted, once a moderator has chosen."""

    __tablename__ = "question_orders"
    run: Mapped[str] = mapped_column(String(120), primary_key=True)
    room: Mapped[str] = mapped_column(String(63), primary_key=True)
    by: Mapped[str] = mapped_column(String(8))
