"""Trace worker processes (server.trace_worker), each fed through its own pipes.

Unlike a ProcessPoolExecutor, a job can be sent to a chosen worker: the backward half of a
trace goes to the worker that computed its forward half, which still holds that forward pass
(server.tracing keeps its last few), so it is not computed twice. Everything here runs on the
event loop: jobs are written to a worker's stdin and its answers read from its stdout by
asyncio, with no threads and no pickling of requests in the server.

Each worker computes its jobs one at a time, in the order it was sent them. A job with no
preferred worker goes to the one with the fewest unanswered.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import pickle
import sys
from collections import deque
from pathlib import Path

import orjson

from server.settings import Settings
from server.trace_worker import LENGTH
from server.tracing import Computed, TraceError

log = logging.getLogger("unrolled")
# The worker imports exactly what this process imports (as multiprocessing's spawn does): it
# starts isolated (-I: neither its current directory, PYTHONPATH nor the user site on its path)
# and takes this process's sys.path.
_BOOT = (
    "import sys, json; sys.path[:] = json.loads(sys.argv[1]); "
    "import server.trace_worker as w; w.main()"
)
STOP_SECONDS = 5.0
READ_BUFFER = 1 << 22  # an answer is read without pausing the pipe every 64 KB
BLAS_THREADS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


class WorkerError(RuntimeError):
    """A worker died or could not start."""


class _Worker:
    """One worker process. Jobs are written to its stdin as soon as they are given (it reads
    the next one the moment it has answered the last: it never waits for the server to send
    it work); its answers come back in the same order and are read by `read_answers`."""

    def __init__(self, proc: asyncio.subprocess.Process):
        self.proc = proc
        self.pending: deque[asyncio.Future] = deque()  # the jobs sent, oldest first
        self.reader: asyncio.Task | None = None

    @property
    def load(self) -> int:
        return len(self.pending)

    @property
    def alive(self) -> bool:
        return self.reader is not None and not self.reader.done()

    async def receive(self):
        n = LENGTH.unpack(await self.proc.stdout.readexactly(LENGTH.size))[0]
        return pickle.loads(await self.proc.stdout.readexactly(n))

    async def submit(self, line: bytes) -> asyncio.Future:
        done = asyncio.get_running_loop().create_future()
        self.proc.stdin.write(line)  # in order: write() only queues the bytes
        self.pending.append(done)
        await self.proc.stdin.drain()
        return done

    async def read_answers(self) -> None:
        try:
            while True:
                answer = await self.receive()
                _settle(self.pending.popleft(), answer)
        except (OSError, asyncio.IncompleteReadError, IndexError) as e:
            # the process ended (or was stopped): nothing more will be answered here
            error = WorkerError(f"trace worker {self.proc.pid} stopped ({e!r})")
            while self.pending:
                _settle(self.pending.popleft(), error)


def _settle(done: asyncio.Future, answer) -> None:
    if done.done():
        return
    if isinstance(answer, BaseException):
        done.set_exception(answer)
    elif answer[0]:
        done.set_result(answer[1])
    else:
        message, status = answer[1]
        # a job that failed (the worker carries on): as the same failure in a thread would
        done.set_exception(TraceError(message, status) if status < 500 else RuntimeError(message))


class WorkerPool:
    def __init__(self, settings: Settings, n: int):
        self.settings = settings
        self.n = n
        self.workers: list[_Worker] = []

    async def start(self, timeout: float = 60.0) -> None:
        """Start the workers and wait until each has loaded the models (WorkerError if not)."""
        env = {**os.environ}
        path = json.dumps([str(Path(p).resolve()) if p else os.getcwd() for p in sys.path])
        # One BLAS thread per worker: the workers are the parallelism, and an idle BLAS thread
        # spinning for work took CPU from the others (about 15% of a classroom burst).
        for name in BLAS_THREADS:
            env.setdefault(name, "1")
        settings_line = self.settings.model_dump_json().encode() + b"\n"
        try:
            for _ in range(self.n):
                proc = await asyncio.create_subprocess_exec(
                    sys.executable,
                    "-I",
                    "-c",
                    _BOOT,
                    path,
                    stdin=asyncio.subprocess.PIPE,
                    stdout=asyncio.subprocess.PIPE,
                    env=env,
                    limit=READ_BUFFER,
                )
                proc.stdin.write(settings_line)
                self.workers.append(_Worker(proc))
            for w in self.workers:
                if await asyncio.wait_for(w.receive(), timeout) != ("ready",):
                    raise WorkerError("a trace worker answered oddly when starting")
        except (
            OSError,
            TimeoutError,
            asyncio.IncompleteReadError,
            NotImplementedError,  # an event loop without subprocesses (Windows' selector loop)
            WorkerError,
        ) as e:
            await self.stop()
            raise WorkerError(f"trace workers could not start ({e!r})") from e
        for w in self.workers:
            w.reader = asyncio.ensure_future(w.read_answers())

    async def run(self, request_json: str, form: str, worker: int | None = None) -> tuple:
        """Compute `form` of the request on worker `worker` (None: the least busy one).
        Returns (the Computed, the index of the worker that computed it)."""
        if not self.workers:
            raise WorkerError("the trace workers are stopped")
        if worker is None or not 0 <= worker < len(self.workers):
            worker = min(range(len(self.workers)), key=lambda i: self.workers[i].load)
        w = self.workers[worker]
        if not w.alive:
            raise WorkerError(f"trace worker {w.proc.pid} has stopped")
        line = b'{"form":%s,"request":%s}\n' % (orjson.dumps(form), request_json.encode())
        try:
            done = await w.submit(line)
        except OSError as e:
            raise WorkerError(f"trace worker {w.proc.pid} stopped ({e!r})") from e
        result: Computed = await done
        return result, worker

    async def stop(self) -> None:
        """Close the workers' input (they exit once they have answered what they were sent),
        then wait for them; one that does not exit in time is killed."""
        workers, self.workers = self.workers, []
        for w in workers:
            if w.proc.stdin is not None and not w.proc.stdin.is_closing():
                w.proc.stdin.close()
        for w in workers:
            try:
                await asyncio.wait_for(w.proc.wait(), STOP_SECONDS)
            except TimeoutError:
                log.warning("trace worker %s did not stop; killing it", w.proc.pid)
                w.proc.kill()
                await w.proc.wait()
            if w.reader is not None:
                await asyncio.wait({w.reader}, timeout=STOP_SECONDS)
