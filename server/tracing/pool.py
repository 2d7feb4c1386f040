"""The trace processes: one single-process ProcessPoolExecutor each.

One executor per process, not one executor for all: a job can then go to a chosen process (the
backward half of a trace goes to the process that computed its forward half and still holds
that forward pass, server.tracing.build). A job is a Prepared trace (pickled, without its model,
which the process looks up in its own registry); the answer is a Computed or a refusal.

Why executors and not hand-made pipes: on bench/classroom.py both measured the same (within
the noise of a shared 2-core machine, 100 students × 5 traces), and the executor brings what
the pipes had to be written for: spawn with the server's own sys.path, Windows support, and a
clear BrokenProcessPool when a process dies (the trace service then computes in threads).
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import signal
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from server.core.errors import ApiError
from server.core.settings import Settings
from server.tracing import process
from server.tracing.request import Prepared

log = logging.getLogger("unrolled")
STOP_SECONDS = 5.0
BLAS_THREADS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


class TraceProcessError(RuntimeError):
    """A trace process died or could not start."""


class TraceProcessPool:
    def __init__(self, settings: Settings, n: int):
        self.settings = settings
        self.n = n
        self.executors: list[ProcessPoolExecutor] = []
        self.pids: list[int] = []  # of each process, in order
        self.loads: list[int] = []  # jobs sent to each process and not yet answered

    async def start(self, timeout: float = 60.0) -> None:
        """Start the processes; wait until each has loaded the models (else TraceProcessError)."""
        # One BLAS thread per process: the processes are the parallelism, and an idle BLAS
        # thread spinning for work took CPU from the others (about 15% of a classroom burst).
        # (Read by each process as it starts; this process's BLAS is already set up.)
        for name in BLAS_THREADS:
            os.environ.setdefault(name, "1")
        context = multiprocessing.get_context("spawn")
        settings_json = self.settings.model_dump_json()
        loop = asyncio.get_running_loop()
        try:
            self.executors = [
                ProcessPoolExecutor(
                    1, mp_context=context, initializer=process.start, initargs=(settings_json,)
                )
                for _ in range(self.n)
            ]
            for e in self.executors:
                _widen_results_pipe(e)
            ready = [loop.run_in_executor(e, process.ready) for e in self.executors]
            self.pids = await asyncio.wait_for(asyncio.gather(*ready), timeout)
        except (OSError, TimeoutError, BrokenProcessPool, NotImplementedError) as e:
            await self.stop()
            raise TraceProcessError(f"trace processes could not start ({e!r})") from e
        self.loads = [0] * self.n

    async def run(self, prepared: Prepared, form: str, index: int | None = None) -> tuple:
        """Compute `form` of the prepared trace on process `index` (None: the least busy).
        Returns (the Computed, the index of the process that computed it)."""
        return await self.call(process.compute, form, prepared.without_entry(), index=index)

    async def call(self, job, *args, index: int | None = None) -> tuple:
        """`job(*args)`, a function of server.tracing.process answering (ok, answer), on
        process `index` (None: the least busy). Returns (the answer, the process's index)."""
        if not self.executors:
            raise TraceProcessError("the trace processes are stopped")
        if index is None or not 0 <= index < len(self.executors):
            index = min(range(len(self.executors)), key=lambda i: self.loads[i])
        self.loads[index] += 1
        try:
            ok, answer = await asyncio.get_running_loop().run_in_executor(
                self.executors[index], job, *args
            )
        except BrokenProcessPool as e:
            raise TraceProcessError(f"trace process {self.pids[index]} stopped ({e!r})") from e
        finally:
            self.loads[index] -= 1
        return unwrap(ok, answer), index

    async def stop(self) -> None:
        """Stop the processes once they have answered what they were sent, and wait for them:
        a server that exits first would leave them behind. One that does not stop is killed."""
        executors, self.executors = self.executors, []
        stopping = [asyncio.to_thread(e.shutdown, True, cancel_futures=True) for e in executors]
        try:
            await asyncio.wait_for(asyncio.gather(*stopping), STOP_SECONDS)
        except TimeoutError:
            log.warning("a trace process did not stop; killing it")
            for pid in self.pids:
                _kill(pid)


def unwrap(ok: bool, answer):
    """A process's (ok, answer) as its result, or raised as the same failure in a thread would
    have raised it (the process carries on)."""
    if not ok:
        message, status = answer
        raise ApiError(message, status) if status < 500 else RuntimeError(message)
    return answer


RESULTS_PIPE_BYTES = 1 << 20  # Linux's default limit for a pipe an unprivileged process sizes


def _widen_results_pipe(executor: ProcessPoolExecutor) -> None:
    """Let the pipe that brings a process's answers hold 1 MB instead of 64 KB (Linux).

    A classroom's batch of forward halves comes back as tens of MB: through a 64 KB pipe the
    two processes take turns every 64 KB, and this process spent about a third of its time in a
    burst reading it (py-spy). `_result_queue` is the executor's own (CPython's), so anything
    unexpected leaves the pipe as it is."""
    try:
        import fcntl

        fd = executor._result_queue._reader.fileno()
        fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, RESULTS_PIPE_BYTES)
    except (ImportError, AttributeError, OSError, ValueError):
        pass


def _kill(pid: int) -> None:
    try:
        os.kill(pid, getattr(signal, "SIGKILL", signal.SIGTERM))
    except OSError:
        pass
