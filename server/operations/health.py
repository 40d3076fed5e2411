"""``GET /healthz``: whether the parts that keep the event going work. The scheduler brings the
rooms in line with the clock, the store can write, and the relay's housekeeping (who is
speaking) runs. Each part is ``{"status": "ok"}``, or ``"failing"`` with the ``error`` in
words (and ``since`` when the part knows); the whole is 503 while any part fails, naming
which in ``failing``."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from scheduler.runner import TransitionRunner
from server.media.fanout import C_LOOP_BUILT
from server.media.relay import Relay
from server.store.health import StoreHealth


@dataclass(frozen=True)
class PartHealth:
    problem: str | None = None
    since: datetime | None = None
    detail: dict[str, Any] = field(default_factory=dict)  # figures shown either way

    def payload(self) -> dict[str, Any]:
        body: dict[str, Any] = {"status": "ok" if self.problem is None else "failing"}
        if self.problem is not None:
            body["error"] = self.problem
        if self.since is not None:
            body["since"] = self.since.isoformat()
        return body | self.detail


class HealthCheck:
    def __init__(self, runner: TransitionRunner, store: StoreHealth, relay: Relay) -> None:
        self._runner = runner
        self._store = store
        self._relay = relay

    async def parts(self) -> dict[str, PartHealth]:
        """Each part as it is now; the store tries a write (at most once a second while it
        works)."""
        store = await self._store.check()
        relay = self._relay
        return {
            "scheduler": PartHealth(
                self._runner.problem(), detail={"pending_transitions": self._runner.pending()}
            ),
            "store": PartHealth() if store is None else PartHealth(store.reason, store.since),
            "relay": PartHealth(
                relay.problem(),
                detail={
                    "sessions": relay.peer_connections,
                    "loop": "c" if relay.settings.c_loop and C_LOOP_BUILT else "python",
                },
            ),
        }
