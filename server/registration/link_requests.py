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
STOP_SECONDS = 5.0  # how long stopping waits for the request in hand
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
        self._in_hand: asyncio.Task[None] | None = None
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
        """Stop taking requests; the one in hand is let finish, since its store call cut off
        halfway would answer into an event loop that is closed by then. What waits is
        dropped."""
        in_hand = self._in_hand
        await self._task.stop()
        if in_hand is not None and not in_hand.done():
            try:
                await asyncio.wait_for(in_hand, STOP_SECONDS)
            except TimeoutError:
                log.warning("a request for a join link again was cut off by the shutdown")

    async def _run(self) -> None:
        while True:
            address = await self._waiting.get()
            self._in_hand = asyncio.ensure_future(self._carry_out(address))
            await asyncio.shield(self._in_hand)

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
