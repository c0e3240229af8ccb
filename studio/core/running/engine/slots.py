"""Concurrency limits inside a run: a count of free slots and a queue of waiters.

The run-wide limit is taken by every attempt of every step, and a fan-out's limit by
every item. ``asyncio.Semaphore`` keeps the same rules but takes even a free slot
through two coroutines and a scan of its waiters (``locked()``): in a chain of
trivial nodes that was 7% of each step's instructions (callgrind, concurrency 16
against none). Here a free slot is taken by a plain call, and only a taker that must
wait makes a future.

A freed slot is handed straight to the first waiter still waiting, so a newcomer
cannot take it first (first come, first served), and a waiter cancelled after it was
handed a slot passes the slot on. Hence: whenever a slot is free, nobody waits.
"""

from __future__ import annotations

import asyncio
from collections import deque


class Slots:
    __slots__ = ("_free", "_waiters")

    def __init__(self, count: int) -> None:
        if count < 1:
            raise ValueError(f"a limit needs at least one slot, got {count}")
        self._free = count
        self._waiters: deque[asyncio.Future] = deque()

    @property
    def free(self) -> int:
        return self._free

    @property
    def waiting(self) -> int:
        return sum(1 for f in self._waiters if not f.done())

    def take_now(self) -> bool:
        """Take a slot if one is free (then nobody waits for one); False otherwise."""
        if self._free:
            self._free -= 1
            return True
        return False

    async def take(self) -> None:
        """Take a slot, waiting for one in turn if none is free."""
        if self.take_now():
            return
        fut = asyncio.get_running_loop().create_future()
        self._waiters.append(fut)
        try:
            await fut
        except asyncio.CancelledError:
            if fut.done() and not fut.cancelled():
                self.give()  # handed a slot just as we were cancelled: pass it on
            else:
                try:
                    self._waiters.remove(fut)
                except ValueError:  # already dropped by give()
                    pass
            raise

    def give(self) -> None:
        """Return a slot: to the first waiter still waiting, else to the free count."""
        waiters = self._waiters
        while waiters:
            fut = waiters.popleft()
            if not fut.done():
                fut.set_result(None)
                return
        self._free += 1
