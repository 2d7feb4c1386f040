"""Slots: at most n holders at once, the waiting ones let in by priority, then in arrival order.

The trace service holds a slot for every computation (`max_concurrent_traces`). What a student
waits for first — the forward half of a trace, its first frame — goes before what can come
later (the backward half), so in a classroom's burst every student sees a first frame before
any BPTT is computed.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from contextlib import asynccontextmanager

FIRST = 0  # forward halves, live steps, samples: what a student is looking at now
LATER = 1  # backward halves, gradient checks


class Slots:
    def __init__(self, n: int):
        if n < 1:
            raise ValueError(f"need at least one slot, got {n}")
        self.n = n
        self.free = n
        self._waiting: list[tuple[int, int, asyncio.Future]] = []  # a heap
        self._order = itertools.count()

    @property
    def held(self) -> int:
        return self.n - self.free

    @asynccontextmanager
    async def hold(self, priority: int = FIRST):
        await self.acquire(priority)
        try:
            yield
        finally:
            self.release()

    async def acquire(self, priority: int = FIRST) -> None:
        if self.free > 0 and not self._waiting:
            self.free -= 1
            return
        turn = asyncio.get_running_loop().create_future()
        heapq.heappush(self._waiting, (priority, next(self._order), turn))
        try:
            await turn
        except asyncio.CancelledError:
            if turn.done() and not turn.cancelled():
                self.release()  # let in, then cancelled before it could use the slot
            raise

    def release(self) -> None:
        while self._waiting:
            _, _, turn = heapq.heappop(self._waiting)
            if not turn.done():  # (a cancelled waiter's turn is done)
                turn.set_result(None)
                return
        self.free += 1
