"""Forward halves of the same model waiting together go to a trace process as one job.

In a classroom burst each student sends a sentence of their own to the same model. The first
request of a model is sent at once; while it computes, the next ones wait here, and all of
them go together as soon as a lane is free (one lane per trace process): their forward passes
then run side by side (server.tracing.build.build_many, engine.batch.forward_many). A lane
takes its share of what waits (the waiting tokens over the lanes, so that the trace processes
finish a burst together) and at most `trace_batch_tokens` tokens; the rest wait for the next
lane. A trace longer than that goes alone.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from server.tracing.request import Prepared

Group = tuple  # (model id, model version, form)
RunBatch = Callable[[str, list[Prepared]], Awaitable[list]]  # -> a result or error per trace


class Batches:
    def __init__(self, run: RunBatch, lanes: int, max_tokens: int, size: Callable[[Prepared], int]):
        self._run = run
        self.lanes = max(1, lanes)
        self._lanes = asyncio.Semaphore(self.lanes)
        self.max_tokens = max(1, max_tokens)
        self._size = size  # a trace's tokens
        self._pending: dict[Group, list[tuple[Prepared, asyncio.Future]]] = {}
        self._starting: set[Group] = set()  # groups with a batch waiting for its lane
        self.running = 0  # traces in batches being computed
        self._idle = asyncio.Event()  # no trace waiting here or being computed
        self._idle.set()

    async def idle(self, max_wait: float) -> None:
        """Return once no forward half waits here or computes, or after `max_wait` seconds:
        what can come later (BPTT) lets a burst's first frames go first, but is not starved."""
        try:
            await asyncio.wait_for(self._idle.wait(), max_wait)
        except TimeoutError:
            pass

    def _update_idle(self) -> None:
        if self.running or self.waiting:
            self._idle.clear()
        else:
            self._idle.set()

    @property
    def waiting(self) -> int:
        return sum(len(v) for v in self._pending.values())

    async def submit(self, p: Prepared, form: str):
        """The Computed of `form` for `p`, computed with whichever traces of its model wait."""
        group = (*p.key[:2], form)
        done = asyncio.get_running_loop().create_future()
        self._pending.setdefault(group, []).append((p, done))
        self._idle.clear()
        self._start(group)
        try:
            return await done
        finally:
            self._update_idle()

    def _start(self, group: Group) -> None:
        if group not in self._starting and self._pending.get(group):
            self._starting.add(group)
            asyncio.ensure_future(self._send(group))

    def _share(self, waiting: list) -> tuple[list, list]:
        """This lane's share of the waiting traces (in arrival order), and the rest."""
        sizes = [self._size(p) for p, _ in waiting]
        share = min(self.max_tokens, -(-sum(sizes) // self.lanes))  # ceil(total / lanes)
        n, tokens = 0, 0
        while n < len(waiting) and (n == 0 or tokens + sizes[n] <= share):
            tokens += sizes[n]
            n += 1
        return waiting[:n], waiting[n:]

    async def _send(self, group: Group) -> None:
        async with self._lanes:
            self._starting.discard(group)
            waiting = self._pending.pop(group, [])
            batch, rest = self._share(waiting)
            if rest:
                self._pending[group] = rest
                self._start(group)
            batch = [(p, done) for p, done in batch if not done.done()]
            if not batch:
                self._update_idle()
                return
            self.running += len(batch)
            try:
                results = await self._run(group[2], [p for p, _ in batch])
            except BaseException as e:  # noqa: BLE001 - every waiter hears of it
                for _, done in batch:
                    if not done.done():
                        done.set_exception(e if isinstance(e, Exception) else RuntimeError(e))
                if not isinstance(e, Exception):
                    raise
                return
            finally:
                self.running -= len(batch)
                self._update_idle()
        for (_, done), result in zip(batch, results, strict=True):
            if done.done():
                continue
            if isinstance(result, BaseException):
                done.set_exception(result)
            else:
                done.set_result(result)
