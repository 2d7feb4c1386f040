"""Where traces are computed: never on the event loop, a bounded number at a time, cached.

With `trace_processes` > 0 (the default) traces run in worker processes (server.workers):
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
import threading
from collections import OrderedDict

from starlette.concurrency import run_in_threadpool

from engine.model import ModelState
from server import tracing
from server.registry import Entry, Registry
from server.schemas import TraceRequest
from server.settings import Settings
from server.tracing import Computed, Prepared
from server.workers import WorkerError, WorkerPool

log = logging.getLogger("unrolled")
HOMES = 1024  # which worker computed the forward half of the last traces


class Tracer:
    def __init__(self, settings: Settings, registry: Registry):
        self.settings = settings
        self.registry = registry
        self.active = 0  # traces computing right now (tests watch it return to 0)
        self.waiting = 0  # traces waiting for a slot
        self.streaming = 0  # WebSocket traces being sent right now
        self.sockets = 0  # open /ws sockets
        self._semaphore: asyncio.Semaphore | None = None
        self._pool: WorkerPool | None = None
        self._homes: OrderedDict[tuple, int] = OrderedDict()  # forward half -> its worker
        self._no_processes = False  # starting processes failed once: threads from then on
        self._cache: OrderedDict[tuple, Computed] = OrderedDict()
        self._cache_total = 0
        self._cache_lock = threading.Lock()
        self._in_flight: dict[tuple, asyncio.Task] = {}  # the same trace asked for twice

    # -- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        """Start the worker processes now (so the first trace is quick) and wait until they
        have loaded the models; if they cannot start, traces run in threads."""
        n = self.settings.trace_processes
        if not n or self._pool is not None or self._no_processes:
            return
        pool = WorkerPool(self.settings, n)
        try:
            await pool.start()
        except WorkerError as e:
            log.warning("%s; computing traces in threads", e)
            self._no_processes = True
            return
        self._pool = pool

    async def stop(self) -> None:
        """Stop the worker processes and wait for them to exit: a server that exits first
        would leave them behind, orphaned."""
        pool, self._pool = self._pool, None
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
        return tracing.entry_for(self.registry, model_id)

    def prepare(self, req: TraceRequest) -> Prepared:
        return tracing.prepare(req, self.registry, self.settings)

    def _build(self, p: Prepared, form: str) -> Computed:
        return tracing.build(p, self.settings, form)

    async def _run(self, p: Prepared, form: str) -> Computed:
        if self._pool is None and self.settings.trace_processes and not self._no_processes:
            await self.start()  # after stop(): e.g. a second TestClient on the same app
        if self._pool is None:
            # Not abandoned on cancel: the slot is held until the thread is done.
            return await run_in_threadpool(self._build, p, form)
        half = form.partition("-")[0]
        home = p.key  # (as server.tracing keeps the forward pass, whichever the encoding)
        worker = self._homes.pop(home, None) if half == "backward" else None
        job = asyncio.ensure_future(self._pool.run(p.request.model_dump_json(), form, worker))
        try:
            result, worker = await asyncio.shield(job)
        except asyncio.CancelledError:
            await asyncio.wait({job})  # keep the slot until the worker is done
            raise
        except WorkerError as e:
            # A worker died (or could not start): carry on with threads rather than fail.
            log.warning("%s; computing traces in threads", e)
            await self.stop()
            self._no_processes = True
            return await run_in_threadpool(self._build, p, form)
        if half == "forward":
            self._homes[home] = worker
            while len(self._homes) > HOMES:
                self._homes.popitem(last=False)
        return result

    async def compute(self, p: Prepared, form: str = "body") -> Computed:
        """The trace serialised as `form` ("body" or "frames"): from the cache, from a
        computation of the same trace already under way, or computed now."""
        key = (*p.key, form)
        with self._cache_lock:
            cached = self._cache.get(key)
            if cached is not None:
                self._cache.move_to_end(key)
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
            self._remember(key, task.result())

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

    def _remember(self, key: tuple, result: Computed) -> None:
        limit = self.settings.trace_cache_mb * 1_000_000
        if result.cost > limit / 4:
            return
        with self._cache_lock:
            if key in self._cache:
                return
            self._cache[key] = result
            self._cache_total += result.cost
            while self._cache_total > limit and self._cache:
                _, old = self._cache.popitem(last=False)
                self._cache_total -= old.cost

    # -- live typing (one step: cheap, on the event loop) -----------------------------------

    def live_step(self, entry: Entry, state: ModelState | None, token_id: int, top_k: int):
        return tracing.live_step(entry, state, token_id, top_k)

    def final_state(self, p: Prepared) -> ModelState:
        return tracing.final_state(p)
