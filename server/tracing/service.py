"""The trace service: the one place a route asks for a trace, a gradient check, live steps or
a sample.

Never on the event loop, a bounded number at a time, cached.

With `trace_processes` > 0 (the default) traces run in trace processes (server.tracing.pool):
numpy and the Python around it then neither hold the server's GIL (which would make every
WebSocket send wait for it) nor stay on one core, and a trace's backward half runs in the
process that holds its forward pass. With 0 they run in the server's thread pool (tests use
this). Either way at most `max_concurrent_traces` run at once per server process; the others
wait in FIFO order. A slot is held until its computation has really finished, even if the
client left.
"""

from __future__ import annotations

import asyncio
import logging
from contextlib import asynccontextmanager

from cachetools import LRUCache
from starlette.concurrency import run_in_threadpool

from engine.model import ModelState
from server.core import limits
from server.core.cache import ByteBudgetCache
from server.core.errors import ApiError
from server.core.schemas import GradcheckRequest, SampleRequest, TraceRequest
from server.core.settings import Settings
from server.models.registry import Entry, Registry
from server.tracing import build as tracing
from server.tracing import gradcheck, process, request, sampling
from server.tracing.build import Computed
from server.tracing.pool import TraceProcessError, TraceProcessPool
from server.tracing.request import Prepared

log = logging.getLogger("unrolled")
HOMES = 1024  # which trace process computed the forward half of the last traces


class TraceService:
    def __init__(self, settings: Settings, registry: Registry):
        self.settings = settings
        self.registry = registry
        self.active = 0  # traces computing right now (tests watch it return to 0)
        self.waiting = 0  # traces waiting for a slot
        self.streaming = 0  # WebSocket traces being sent right now
        self.sockets = 0  # open /ws sockets
        self._semaphore: asyncio.Semaphore | None = None
        self.pool: TraceProcessPool | None = None
        self._homes: LRUCache[tuple, int] = LRUCache(HOMES)  # forward half -> its process
        self._no_processes = False  # starting processes failed once: threads from then on
        self._cache = ByteBudgetCache[Computed](settings.trace_cache_mb * 1_000_000, _cost)
        self._in_flight: dict[tuple, asyncio.Task] = {}  # the same trace asked for twice
        self._gradcheck_memory = MemoryBudget(settings.gradcheck_memory_mb * 1_000_000)

    # -- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        """Start the trace processes now (so the first trace is quick) and wait until they
        have loaded the models; if they cannot start, traces run in threads."""
        n = self.settings.trace_processes
        if not n or self.pool is not None or self._no_processes:
            return
        pool = TraceProcessPool(self.settings, n)
        try:
            await pool.start()
        except TraceProcessError as e:
            log.warning("%s; computing traces in threads", e)
            self._no_processes = True
            return
        self.pool = pool

    async def stop(self) -> None:
        """Stop the trace processes and wait for them to exit: a server that exits first
        would leave them behind, orphaned."""
        pool, self.pool = self.pool, None
        if pool is not None:
            await pool.stop()

    @property
    def semaphore(self) -> asyncio.Semaphore:
        # Made on first use, inside the running loop.
        if self._semaphore is None:
            self._semaphore = asyncio.Semaphore(self.settings.max_concurrent_traces)
        return self._semaphore

    # -- requests -------------------------------------------------------------------------

    def entry(self, model_id: str) -> Entry:
        return request.entry_for(self.registry, model_id)

    def prepare(self, req: TraceRequest) -> Prepared:
        return request.prepare(req, self.registry, self.settings)

    def _build(self, p: Prepared, form: str) -> Computed:
        return tracing.build(p, self.settings, form)

    async def _run(self, p: Prepared, form: str) -> Computed:
        half = form.partition("-")[0]
        # the backward half goes where its forward pass is kept (whichever the encoding)
        home = self._homes.pop(p.key, None) if half == "backward" else None
        job = (process.compute, form, p.without_entry())
        result, home = await self._elsewhere(job, self._build, p, form, index=home)
        if half == "forward" and home is not None:
            self._homes[p.key] = home
        return result

    async def compute(self, p: Prepared, form: str = "body") -> Computed:
        """The trace serialised as `form` (server.tracing.build.FORMS): from the cache, from a
        computation of the same trace already under way, or computed now."""
        key = (*p.key, form)
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        task = self._in_flight.get(key)
        if task is None:
            # A task of its own: a requester that leaves does not cancel it for the others,
            # and its result still lands in the cache.
            task = asyncio.ensure_future(self._compute(p, form))
            self._in_flight[key] = task
            task.add_done_callback(lambda t: self._settle(key, t))
        return await asyncio.shield(task)

    def _settle(self, key: tuple, task: asyncio.Task) -> None:
        self._in_flight.pop(key, None)
        if not task.cancelled() and task.exception() is None:
            self._cache.put(key, task.result())

    async def _compute(self, p: Prepared, form: str) -> Computed:
        self.waiting += 1
        acquired = False
        try:
            async with self.semaphore:
                self.waiting -= 1
                acquired = True
                self.active += 1
                try:
                    result = await self._run(p, form)
                finally:
                    self.active -= 1
        finally:
            if not acquired:
                self.waiting -= 1
        return result

    async def gradcheck(self, req: GradcheckRequest) -> dict:
        """A gradient check (server.tracing.gradcheck), in a thread under the trace bound, and
        within the memory gradient checks may hold together (`gradcheck_memory_mb`)."""
        limits.check(req, self.settings)  # its own fields (t); prepare() checks the shared ones
        prepared = self.prepare(gradcheck.trace_request(req))
        need = gradcheck.memory_bytes(prepared, req)
        if need > self._gradcheck_memory.capacity:
            raise ApiError(
                f"This gradient check would need about {need / 1e6:.0f} MB, more than the "
                f"{self.settings.gradcheck_memory_mb} MB gradient checks may use "
                "(gradcheck_memory_mb); use a shorter text.",
            )
        async with self._gradcheck_memory.hold(need), self.semaphore:
            job = (process.check_gradient, prepared.without_entry(), req)
            return (await self._elsewhere(job, gradcheck.check, prepared, req))[0]

    async def sample(self, req: SampleRequest, form: str = "body") -> bytes | list[str]:
        """Generated text, step by step (server.tracing.sampling.run's `form`): checked here,
        generated and serialised in a trace process (or a thread) under the trace bound."""
        prepared = sampling.prepare(req, self.registry, self.settings)
        async with self.semaphore:
            job = (process.sample, prepared.without_entry(), form)
            return (await self._elsewhere(job, sampling.run, prepared, form))[0]

    async def model_kind(self, name: str, prepared) -> bytes:
        """An encoder–decoder's trace ("seq2seq") or what-if ("whatif"), or a tree's trace
        ("tree") of a prepared request (server.tracing.seq2seq / tree), as JSON bytes: in a
        trace process (or a thread) under the trace bound, never on the event loop."""
        fn = process.kind_jobs()[name]
        async with self.semaphore:
            job = (process.model_kind_job, name, prepared.without_entry())
            return (await self._elsewhere(job, fn, prepared))[0]

    # -- live typing ------------------------------------------------------------------------

    async def live_steps(
        self, entry: Entry, state: ModelState | None, encoded, t0, top_k, layer: int = -1
    ):
        """Live typing's steps (server.tracing.build.live_steps), in a trace process (or a
        thread) under the trace bound: a big model's steps never hold up the event loop."""
        model = Prepared(None, None, encoded, None, None, (entry.id, entry.version, ""))
        args = (state, encoded, t0, top_k, layer)
        async with self.semaphore:
            job = (process.live_steps, model, *args)
            return (await self._elsewhere(job, tracing.live_steps, entry, *args))[0]

    async def _elsewhere(self, job: tuple, fn, *args, index: int | None = None) -> tuple:
        """A job in a trace process (server.tracing.process; process `index` if given), else
        `fn(*args)` in a thread. Returns (the result, the index of the process, or None).

        Python-heavy work (a gradient check's reruns, live steps) in a thread of the server
        would hold the GIL against the event loop: /api/health waited up to 0.3 s for it. A
        slot is held until its work has really finished, even if the client left."""
        if self.pool is None and self.settings.trace_processes and not self._no_processes:
            await self.start()  # after stop(): e.g. a second TestClient on the same app
        if self.pool is None:
            return await run_in_threadpool(fn, *args), None
        work = asyncio.ensure_future(self.pool.call(*job, index=index))
        try:
            return await asyncio.shield(work)
        except asyncio.CancelledError:
            await asyncio.wait({work})  # keep the slot until the process is done
            raise
        except TraceProcessError as e:
            # A process died (or could not start): carry on with threads rather than fail.
            log.warning("%s; computing in threads", e)
            await self.stop()
            self._no_processes = True
            return await run_in_threadpool(fn, *args), None


def _cost(c: Computed) -> int:
    return c.cost


class MemoryBudget:
    """Bytes that tasks may hold together: `hold(n)` waits until n more fit."""

    def __init__(self, capacity: int):
        self.capacity = capacity
        self.used = 0
        self._room: asyncio.Condition | None = None  # made on first use, inside the loop

    @asynccontextmanager
    async def hold(self, n: int):
        if self._room is None:
            self._room = asyncio.Condition()
        async with self._room:
            await self._room.wait_for(lambda: self.used + n <= self.capacity)
            self.used += n
        try:
            yield
        finally:
            async with self._room:
                self.used -= n
                self._room.notify_all()
