"""The trace processes (each runs server.tracing.process), fed through their own pipes.

Why not concurrent.futures.ProcessPoolExecutor: a job must go to a chosen process (the
backward half of a trace goes to the process that computed its forward half and still holds
that forward pass, server.tracing.build), and an executor cannot be asked for that; one
single-process executor per process could, but each adds a feeder thread and a result thread
to the server that unpickle answers while holding its GIL, beside the event loop. Here
everything runs on the event loop: a job (a pickled Prepared trace) is written to a process's
stdin and its answer read from its stdout by asyncio, with no threads.

Each process computes its jobs one at a time, in the order it was sent them. A job with no
preferred process goes to the one with the fewest unanswered.
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

from server.core.errors import ApiError
from server.core.settings import Settings
from server.tracing.process import LENGTH
from server.tracing.request import Prepared

log = logging.getLogger("unrolled")
# The process imports exactly what this process imports (as multiprocessing's spawn does): it
# starts isolated (-I: neither its current directory, PYTHONPATH nor the user site on its path)
# and takes this process's sys.path.
_BOOT = (
    "import sys, json; sys.path[:] = json.loads(sys.argv[1]); "
    "import server.tracing.process as w; w.main()"
)
STOP_SECONDS = 5.0
READ_BUFFER = 1 << 22  # an answer is read without pausing the pipe every 64 KB
BLAS_THREADS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


class TraceProcessError(RuntimeError):
    """A process died or could not start."""


class _TraceProcess:
    """One process process. Jobs are written to its stdin as soon as they are given (it reads
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
            error = TraceProcessError(f"trace process {self.proc.pid} stopped ({e!r})")
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
        # a job that failed (the process carries on): as the same failure in a thread would
        done.set_exception(ApiError(message, status) if status < 500 else RuntimeError(message))


class TraceProcessPool:
    def __init__(self, settings: Settings, n: int):
        self.settings = settings
        self.n = n
        self.processes: list[_TraceProcess] = []

    async def start(self, timeout: float = 60.0) -> None:
        """Start the processes; wait until each has loaded the models (else TraceProcessError)."""
        env = {**os.environ}
        path = json.dumps([str(Path(p).resolve()) if p else os.getcwd() for p in sys.path])
        # One BLAS thread per process: the processes are the parallelism, and an idle BLAS thread
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
                self.processes.append(_TraceProcess(proc))
            for w in self.processes:
                if await asyncio.wait_for(w.receive(), timeout) != ("ready",):
                    raise TraceProcessError("a trace process answered oddly when starting")
        except (
            OSError,
            TimeoutError,
            asyncio.IncompleteReadError,
            NotImplementedError,  # an event loop without subprocesses (Windows' selector loop)
            TraceProcessError,
        ) as e:
            await self.stop()
            raise TraceProcessError(f"trace processes could not start ({e!r})") from e
        for w in self.processes:
            w.reader = asyncio.ensure_future(w.read_answers())

    async def run(self, prepared: Prepared, form: str, process: int | None = None) -> tuple:
        """Compute `form` of the prepared trace on process `process` (None: the least busy).
        Returns (the Computed, the index of the process that computed it)."""
        return await self.run_job((form, prepared.without_entry()), process)

    async def run_job(self, job: tuple, process: int | None = None) -> tuple:
        """Any job server.tracing.process knows, as a tuple (kind, ...); as `run`."""
        if not self.processes:
            raise TraceProcessError("the trace processes are stopped")
        if process is None or not 0 <= process < len(self.processes):
            process = min(range(len(self.processes)), key=lambda i: self.processes[i].load)
        w = self.processes[process]
        if not w.alive:
            raise TraceProcessError(f"trace process {w.proc.pid} has stopped")
        job = pickle.dumps(job, protocol=pickle.HIGHEST_PROTOCOL)
        try:
            done = await w.submit(LENGTH.pack(len(job)) + job)
        except OSError as e:
            raise TraceProcessError(f"trace process {w.proc.pid} stopped ({e!r})") from e
        result = await done
        return result, process

    async def stop(self) -> None:
        """Close the processes' input (they exit once they have answered what they were sent),
        then wait for them; one that does not exit in time is killed."""
        processes, self.processes = self.processes, []
        for w in processes:
            if w.proc.stdin is not None and not w.proc.stdin.is_closing():
                w.proc.stdin.close()
        for w in processes:
            try:
                await asyncio.wait_for(w.proc.wait(), STOP_SECONDS)
            except TimeoutError:
                log.warning("trace process %s did not stop; killing it", w.proc.pid)
                w.proc.kill()
                await w.proc.wait()
            if w.reader is not None:
                await asyncio.wait({w.reader}, timeout=STOP_SECONDS)
