"""Where traces are computed: never on the event loop, a bounded number at a time, cached.

With `trace_processes` > 0 (the default) traces run in a pool of worker processes: numpy and
the Python around it then neither hold the server's GIL (which would make every WebSocket send
wait for it) nor stay on one core. With 0 they run in the server's thread pool (tests use this).
Either way at most `max_concurrent_traces` run at once per server process; the others wait in
FIFO order. A slot is held until its computation has really finished, even if the client left.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import threading
from collections import OrderedDict
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from starlette.concurrency import run_in_threadpool

from engine.model import ModelState
from server import tracing
from server.registry import Entry, Registry
from server.schemas import TraceRequest
from server.settings import Settings
from server.tracing import Computed, Prepared

log = logging.getLogger("unrolled")

# -- inside a worker process ----------------------------------------------------------------

_worker: tuple[Settings, Registry] | None = None


def _init_worker(settings: Settings) -> None:
    global _worker
    _worker = (settings, Registry(settings.data_dir))


def _work(request_json: str, form: str) -> Computed:
    settings, registry = _worker
    p = tracing.prepare(TraceRequest.model_validate_json(request_json), registry, settings)
    return tracing.build(p, settings, form)


def _ready() -> bool:
    return _worker is not None


# -- in the server --------------------------------------------------------------------------


class Tracer:
    def __init__(self, settings: Settings, registry: Registry):
        self.settings = settings
        self.registry = registry
        self.active = 0  # traces computing right now (tests watch it return to 0)
        self.waiting = 0  # traces waiting for a slot
        self.streaming = 0  # WebSocket traces being sent right now
        self.sockets = 0  # open /ws sockets
        self._semaphore: asyncio.Semaphore | None = None
        self._pool: ProcessPoolExecutor | None = None
        self._no_processes = False  # starting processes failed once: threads from then on
        self._cache: OrderedDict[tuple, Computed] = OrderedDict()
        self._cache_total = 0
        self._cache_lock = threading.Lock()
        self._in_flight: dict[tuple, asyncio.Task] = {}  # the same trace asked for twice

    # -- lifecycle ------------------------------------------------------------------------

    def start(self) -> list:
        """Start the worker processes now, so the first trace is quick; returns futures that
        finish when they are ready."""
        n = self.settings.trace_processes
        if not n or self._pool is not None or self._no_processes:
            return []
        self._pool = ProcessPoolExecutor(
            n,
            mp_context=multiprocessing.get_context("spawn"),  # no fork of a running loop
            initializer=_init_worker,
            initargs=(self.settings,),
        )
        try:
            return [self._pool.submit(_ready) for _ in range(n)]
        except RuntimeError as e:
            # e.g. the app was created at import time of a script without a __main__ guard
            log.warning("trace worker processes unavailable (%s); using threads", e)
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool, self._no_processes = None, True
            return []

    async def ready(self, timeout: float = 60.0) -> None:
        """Wait (a bounded time) until the worker processes have started."""
        futures = [asyncio.wrap_future(f) for f in self.start()]
        if futures:
            await asyncio.wait(futures, timeout=timeout)

    def stop(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

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
            self.start()  # after stop(): e.g. a second TestClient on the same app
        if self._pool is None:
            # Not abandoned on cancel: the slot is held until the thread is done.
            return await run_in_threadpool(self._build, p, form)
        loop = asyncio.get_running_loop()
        job = p.request.model_dump_json()
        try:
            future = loop.run_in_executor(self._pool, _work, job, form)
            return await asyncio.shield(future)
        except asyncio.CancelledError:
            await asyncio.wait({future})  # keep the slot until the process is done
            raise
        except (BrokenProcessPool, RuntimeError) as e:
            # A worker died (or could not start): carry on with threads rather than fail.
            log.warning("trace worker processes failed (%s); using threads", e)
            self.stop()
            self._no_processes = True
            return await run_in_threadpool(self._build, p, form)

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
