"""Revoked tokens: known to every process that shares the store within about a second.

``RevocationList`` answers ``is_revoked(jti)`` from memory (the token service asks it on every
verification); ``refresh`` reads only revocations newer than the last one seen, so polling it
every second costs one indexed query.
"""

from __future__ import annotations

from collections.abc import Iterable

from server.store.registrations import RegistrationRecords


class RevocationList:
    def __init__(self, records: RegistrationRecords) -> None:
        self._records = records
        self._revoked: set[str] = set()
        self._last_id = 0

    def is_revoked(self, jti: str) -> bool:
        return jti in self._revoked

    def add(self, jtis: Iterable[str]) -> None:
        self._revoked.update(jtis)

    async def refresh(self) -> int:
        """Fetch revocations made since the last call (by this or another process)."""
        jtis, self._last_id = await self._records.revocations_after(self._last_id)
        self._revoked.update(jtis)
        return len(jtis)
