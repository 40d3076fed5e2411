"""Stored e-mail addresses in their normal form, and keys that tell mailboxes apart.

Revision ID: 0003
Revises: 0002

Keys used to be the address case-folded as typed, so one mailbox could hold two
registrations (composed and decomposed accents, a U-label and its A-label), and two mailboxes
one (ß and ss). Every stored address is read again here with the rules the code uses now,
imported on purpose: a key must be what ``EmailAddress.key`` computes for the next sign-up.
The oldest registration of each mailbox gets its key. A later one of the same mailbox, and an
address today's rules refuse, keep their rows and get a key no address has (it has no @), so
they block nobody; mail to a refused address fails and the log says why.
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from alembic import op

from server.registration.address import AddressError, EmailAddress

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

log = logging.getLogger(__name__)

registrations = sa.table(
    "registrations",
    sa.column("id", sa.String),
    sa.column("email", sa.String),
    sa.column("email_key", sa.String),
    sa.column("created_at", sa.DateTime),
)


def upgrade() -> None:
    bind = op.get_bind()
    rows = bind.execute(
        sa.select(registrations.c.id, registrations.c.email).order_by(
            registrations.c.created_at, registrations.c.id
        )
    ).all()
    if not rows:
        return
    final = _renormalised([(row.id, row.email) for row in rows])
    # Placeholders first: a row's new key may be another row's old one.
    _set(
        bind, [{"row_id": row.id, "new_email": row.email, "new_key": f"~{row.id}"} for row in rows]
    )
    _set(bind, final)


def downgrade() -> None:
    """Nothing to undo: the older code reads keys as opaque unique strings, and for ASCII
    addresses the new keys are the ones it would compute itself."""


def _renormalised(rows: list[tuple[str, str]]) -> list[dict[str, str]]:
    taken: set[str] = set()
    updates = []
    for row_id, email in rows:
        address = _parsed(email)
        key = address.key if address else None
        if key is None or key in taken:
            key = f"set apart {row_id}"
        else:
            taken.add(key)
        updates.append({"row_id": row_id, "new_email": str(address or email), "new_key": key})
    if set_apart := len(updates) - len(taken):
        log.warning(
            "%d registrations hold an address that is refused now or shared with an older one;"
            " they stay, and block nobody",
            set_apart,
        )
    return updates


def _parsed(email: str) -> EmailAddress | None:
    try:
        return EmailAddress.parse(email)
    except AddressError:
        return None


def _set(bind: sa.Connection, updates: list[dict[str, str]]) -> None:
    bind.execute(
        registrations.update()
        .where(registrations.c.id == sa.bindparam("row_id"))
        .values(email=sa.bindparam("new_email"), email_key=sa.bindparam("new_key")),
        updates,
    )
