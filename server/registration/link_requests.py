"""Requests to mail a join link again (``POST /api/registrations/resend``), answered at once
and carried out in the background.

The answer must not tell whether an address is registered, neither by its words nor by how
long it takes. So the handler only checks the address's form and hands it here; one worker
looks it up and queues the letter. Each mailbox may ask a few times in a row and then about
once every few minutes; past that, and past a full queue, requests are dropped without a word,
so nobody can fill a stranger's inbox.
"""

from __future__ import annotations

import asyncio
import logging

from server.background import BackgroundTask
from server.errors import PlenaryError, TooManyRequests
from server.registration.address import EmailAddress
from server.registration.service import Registrar
from server.web.rate_limit import RateLimiter

log = logging.getLogger(__name__)

QUEUE_SIZE = 1000
PER_MAILBOX_BURST = 3
PER_MAILBOX_PER_MINUTE = 0.2  # then one every five minutes


class LinkRequests:
    def __init__(
        self,
        registrar: Registrar,
        limiter: RateLimiter | None = None,
    ) -> None:
        """One worker takes the requests in the order they came: each is carried out after
        every request asked before it (the tests rely on that)."""
        self._registrar = registrar
        self._limiter = limiter or RateLimiter(PER_MAILBOX_PER_MINUTE, burst=PER_MAILBOX_BURST)
        self._waiting: asyncio.Queue[EmailAddress] = asyncio.Queue(QUEUE_SIZE)
        self._task = BackgroundTask("link-requests", self._run)
        self.dropped = 0  # requests not carried out: a mailbox asking too often, a full queue
        self.sent = 0  # requests that queued a letter

    def ask(self, address: EmailAddress) -> None:
        try:
            self._waiting.put_nowait(address)
        except asyncio.QueueFull:
            self.dropped += 1

    def start(self) -> None:
        self._task.start()

    async def stop(self) -> None:
        await self._task.stop()

    async def _run(self) -> None:
        while True:
            address = await self._waiting.get()
            await self._carry_out(address)

    async def _carry_out(self, address: EmailAddress) -> None:
        try:
            self._limiter.check(address.key)
        except TooManyRequests:
            self.dropped += 1
            return
        try:
            sent = await self._registrar.send_link_again(address)
        except PlenaryError as error:  # the store unavailable, say: the person may ask again
            log.warning("a request for a join link again could not be carried out: %s", error)
            return
        except Exception:
            log.exception("a request for a join link again failed")
            return
        if sent:
            self.sent += 1
