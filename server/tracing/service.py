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
from contextlib import asynccontextmanager, nullcontext

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
from server.tracing.batches import Batches
from server.tracing.build import Computed
from server.tracing.pool import TraceProcessError, TraceProcessPool, unwrap
from server.tracing.request import Prepared
from server.tracing.slots import FIRST, LATER, Slots

log = logging.getLogger("unrolled")
HOMES = 1024  # which trace process computed the forward half of the last traces
BACKWARD_DEFER = 2.0  # seconds a backward half waits at most for a burst's forward halves


class TraceService:
    def __init__(self, settings: Settings, registry: Registry):
        self.settings = settings
        self.registry = registry
        self.active = 0  # traces computing right now (tests watch it return to 0)
        self._waiting = 0  # traces waiting for a slot (and those in self.batches)
        self.streaming = 0  # WebSocket traces being sent right now
        self.sockets = 0  # open /ws sockets
        self._loop: asyncio.AbstractEventLoop | None = None
        self._queues: tuple[Slots, asyncio.Semaphore, Batches] | None = None
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

    def _bound(self) -> tuple[Slots, asyncio.Semaphore, Batches]:
        """The slots, the backward halves' lanes and the batches, made in the running loop (a
        second TestClient on the same app runs another loop; asyncio objects belong to one)."""
        loop = asyncio.get_running_loop()
        if self._queues is None or self._loop is not loop:
            s = self.settings
            lanes = max(1, s.trace_processes)  # a forward batch or a backward half each
            batches = Batches(self._run_batch, lanes, s.trace_batch_tokens, _tokens)
            self._loop = loop
            self._queues = Slots(s.max_concurrent_traces), asyncio.Semaphore(lanes), batches
        return self._queues

    @property
    def slots(self) -> Slots:
        return self._bound()[0]

    @property
    def batches(self) -> Batches:
        return self._bound()[2]

    @property
    def waiting(self) -> int:
        """Traces waiting for a slot, or in a batch not yet sent."""
        batched = self._queues[2].waiting if self._queues else 0
        return self._waiting + batched

    # -- requests -------------------------------------------------------------------------

    def entry(self, model_id: str) -> Entry:
        return request.entry_for(self.registry, model_id)

    def prepare(self, req: TraceRequest) -> Prepared:
        return request.prepare(req, self.registry, self.settings)

    def _build(self, p: Prepared, form: str) -> Computed:
        return tracing.build(p, self.settings, form)

    def _build_many(self, ps: list[Prepared], form: str) -> list[tuple]:
        return tracing.build_many(ps, self.settings, form)

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
        """Forward halves go out with the others of their model waiting then (self.batches) and
        before any backward half; at most one backward half per trace process is under way, so
        a burst's forward halves never queue behind BPTT."""
        if self.settings.trace_batch_tokens > 1 and tracing.batchable(p, form):
            return await self.batches.submit(p, form)
        later = form.startswith("backward")
        if later:  # the first frames of a burst go first (for at most BACKWARD_DEFER seconds)
            await self.batches.idle(BACKWARD_DEFER)
        self._waiting += 1
        acquired = False
        try:
            async with self._lanes(later), self.slots.hold(LATER if later else FIRST):
                self._waiting -= 1
                acquired = True
                self.active += 1
                try:
                    result = await self._run(p, form)
                finally:
                    self.active -= 1
        finally:
            if not acquired:
                self._waiting -= 1
        return result

    def _lanes(self, later: bool):
        return self._bound()[1] if later else nullcontext()

    async def _run_batch(self, form: str, ps: list[Prepared]) -> list:
        """The forward halves of `ps` (one model) as one job: a Computed or the error of each."""
        async with self.slots.hold(FIRST):
            self.active += len(ps)
            try:
                job = (process.compute_many, form, [p.without_entry() for p in ps])
                answers, home = await self._elsewhere(job, self._build_many, ps, form)
            finally:
                self.active -= len(ps)
        results = []
        for p, (ok, answer) in zip(ps, answers, strict=True):
            try:
                results.append(unwrap(ok, answer))
            except Exception as e:  # noqa: BLE001 - this trace's own error, for its requester
                results.append(e)
            else:
                if home is not None:  # its backward half goes where its forward pass is kept
                    self._homes[p.key] = home
        return results

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
        async with self._gradcheck_memory.hold(need), self.slots.hold(LATER):
            job = (process.check_gradient, prepared.without_entry(), req)
            return (await self._elsewhere(job, gradcheck.check, prepared, req))[0]

    async def sample(self, req: SampleRequest, form: str = "body") -> bytes | list[str]:
        """Generated text, step by step (server.tracing.sampling.run's `form`): checked here,
        generated and serialised in a trace process (or a thread) under the trace bound."""
        prepared = sampling.prepare(req, self.registry, self.settings)
        async with self.slots.hold(FIRST):
            job = (process.sample, prepared.without_entry(), form)
            return (await self._elsewhere(job, sampling.run, prepared, form))[0]

    async def model_kind(self, name: str, prepared) -> bytes:
        """An encoder–decoder's trace ("seq2seq") or what-if ("whatif"), or a tree's trace
        ("tree") of a prepared request (server.tracing.seq2seq / tree), as JSON bytes: in a
        trace process (or a thread) under the trace bound, never on the event loop."""
        fn = process.kind_jobs()[name]
        async with self.slots.hold(FIRST):
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
        async with self.slots.hold(FIRST):
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


def _tokens(p: Prepared) -> int:
    return len(p.ids)


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
