"""Training jobs: at most `max_training_jobs` at once, each trained in a process of its own;
pause, resume, stop (keeping the model) and cancel (keeping nothing).

A job's thread in the server starts its training process (server.training.process: the
engine's recipe, Adam over chunks of `seq_len` tokens, the hidden state carried from chunk to
chunk: truncated BPTT) and relays: the controls to it, its progress into the Job (the status the
API answers). Every `snapshot_every` steps (and at step 0 and the last step) the process copies
the weights as a snapshot (server.models.snapshots, model id "<job>@<step>") with a sample
drawn from them, so a page can trace one sentence through training time. At the end, or when
stopped, the last snapshot is saved through the registry (engine.storage under the data dir),
where it appears as source "trained" and survives a restart; a cancelled job keeps nothing.

Training never runs in the server's process: there it would hold the GIL the event loop needs
for every request, and compete for the CPU on equal terms; in its own process, at a lower
priority (`train_nice`), it does neither (bench/health_under_load.py --train measures it). Job
status is shared with every server process through the data dir (server.training.status): any
worker answers GET /api/train/{job}, streams /ws/train/{job} and pauses, resumes, stops or
cancels it, whichever worker runs it.
"""

from __future__ import annotations

import contextlib
import logging
import math
import multiprocessing
import threading
import time
import uuid

from engine import recipe
from engine.tasks import BUILTIN, Task, text_task
from engine.train import TrainConfig
from server.core import limits
from server.core.errors import ApiError
from server.core.schemas import TrainRequest
from server.core.settings import Settings
from server.models.registry import Registry
from server.models.snapshots import snapshot_id
from server.training import process
from server.training.job import HISTORY_POINTS, Job
from server.training.process import Spec
from server.training.status import FINISHED, HEARTBEAT_SECONDS, StatusFiles

log = logging.getLogger("unrolled")
SHARE_EVERY = 0.2  # seconds between writes of a running job's progress for other processes
RELAY_SECONDS = 0.05  # the longest a control waits before it goes to the training process
NO_JOB = "There is no training job with that id (it may have been before a restart)."


class Jobs:
    def __init__(self, settings: Settings, registry: Registry):
        self.settings = settings
        self.registry = registry
        self.jobs: dict[str, Job] = {}  # the jobs this process runs
        self.store = StatusFiles(settings.data_dir)
        self.store.prune()
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._ticker = threading.Thread(target=self._tick, name="training-status", daemon=True)
        self._ticker.start()

    def _unfinished_here(self) -> list[Job]:
        return [j for j in list(self.jobs.values()) if j.state not in FINISHED]

    def _tick(self) -> None:
        """Share this process's progress, prove it alive, and apply controls from others."""
        while not self._closing.wait(SHARE_EVERY):
            for job in self._unfinished_here():
                if self.store.requested(job.id, "stop"):
                    job.keep = True
                    job.stop.set()
                if self.store.requested(job.id, "cancel"):
                    job.stop.set()
                if self.store.requested(job.id, "pause"):
                    job.pause.set()
                else:
                    job.pause.clear()
                since = time.monotonic() - job.shared
                if job.changed > job.shared or since >= HEARTBEAT_SECONDS:
                    job.share()

    def _task(self, req: TrainRequest) -> Task:
        if req.task == "text":
            text = req.text or ""
            if len(text) < 2:
                raise ApiError("text: give at least two characters to train on.")
            return text_task(text)
        if req.task not in BUILTIN:
            known = ", ".join([*BUILTIN, "text"])
            raise ApiError(f"task: not a task this server knows; choose one of {known}.")
        return BUILTIN[req.task]

    def start(self, req: TrainRequest) -> Job:
        s = self.settings
        limits.check(req, s)  # hidden_size, layers, steps, seq_len, text (server.core.limits)
        task = self._task(req)
        self.registry.check_room()  # refused now, not after the training: a full model store
        with self._lock:  # counts the jobs of every process (a race between two is possible)
            if self.store.unfinished() >= s.max_training_jobs:
                raise ApiError(
                    f"{s.max_training_jobs} training job(s) are already running; wait for one "
                    "to finish or cancel it.",
                    429,
                )
            job = Job(uuid.uuid4().hex[:12], req, task, store=self.store)
            every = req.snapshot_every or math.ceil(req.steps / (s.train_max_snapshots - 1))
            job.snapshot_every = max(1, every)
            job.history_every = max(1, math.ceil(req.steps / HISTORY_POINTS))
            self.jobs[job.id] = job
            job.share()
        self.registry.snapshots.prune(s.train_snapshot_jobs, protect=job.id)
        job.thread = threading.Thread(target=self._run, args=(job,), daemon=True)
        job.thread.start()
        return job

    def status(self, job_id: str) -> dict:
        """The status of a job run by any process on this data dir."""
        job = self.jobs.get(job_id)
        status = job.status() if job is not None else self.store.read(job_id)
        if status is None:
            raise ApiError(NO_JOB, 404)
        return status

    def _control(self, job_id: str, control: str, on: bool = True) -> dict:
        """Pass a control to the job's process (this one at once; another within a tick)."""
        status = self.status(job_id)
        if status["state"] in FINISHED:
            raise ApiError(f"The job has already finished ({status['state']}).", 409)
        self.store.request(job_id, control, on)
        job = self.jobs.get(job_id)
        if job is not None:
            if control == "pause":
                (job.pause.set if on else job.pause.clear)()
            elif control in ("stop", "cancel"):
                job.keep = control == "stop"
                job.stop.set()
                if job.state == "queued":
                    job.touch(state="cancelled")
            status = job.status()
        return status

    def pause(self, job_id: str) -> dict:
        return self._control(job_id, "pause")

    def resume(self, job_id: str) -> dict:
        return self._control(job_id, "pause", on=False)

    def stop(self, job_id: str) -> dict:
        """End the job now and save the model trained so far."""
        return self._control(job_id, "stop")

    def cancel(self, job_id: str) -> dict:
        """End the job now and keep nothing (its snapshots go too)."""
        status = self.status(job_id)
        if status["state"] in FINISHED:
            return status
        return self._control(job_id, "cancel")

    async def shutdown(self) -> None:
        """Stop every job, keeping what each learned (as the Stop button does)."""
        for job in self.jobs.values():
            job.keep = True
            job.stop.set()
        for job in self.jobs.values():
            if job.thread is not None:
                job.thread.join(timeout=5)
        self._closing.set()
        self._ticker.join(timeout=5)

    # -- the job's thread: it runs the training process and relays to and from it ----------

    def _spec(self, job: Job) -> Spec:
        req, s = job.request, self.settings
        return Spec(
            job_id=job.id,
            data_dir=str(s.data_dir),
            limits=self.registry.limits,
            task=req.task,
            text=req.text,
            cell=req.cell,
            hidden_size=req.hidden_size,
            layers=req.layers,
            steps=req.steps,
            seq_len=req.seq_len,
            lr=req.lr,
            seed=req.seed,
            snapshot_every=job.snapshot_every,
            nice=s.train_nice,
        )

    def _run(self, job: Job) -> None:
        try:
            self._supervise(job)
        except ApiError as e:  # e.g. the model store filled up while it trained: said, not logged
            job.touch(state="failed", error=str(e))
        except Exception as e:  # a job failing must not take the server down
            log.exception("training job %s failed", job.id)
            job.touch(state="failed", error=f"Training failed: {e}")

    def _supervise(self, job: Job) -> None:
        """Start the training process, pass it the controls, record what it reports."""
        if job.stop.is_set():
            job.touch(state="cancelled")  # stopped before it started: nothing learned
            return
        ctx = multiprocessing.get_context("spawn")
        here, there = ctx.Pipe()
        proc = ctx.Process(
            target=process.run, args=(self._spec(job), there), name=f"train-{job.id}", daemon=True
        )
        proc.start()
        there.close()
        job.touch(state="running", started=time.monotonic())
        per_update = recipe.tokens_per_update(job.task, TrainConfig(seq_len=job.request.seq_len))
        sent = {"pause": False, "stop": False}
        end = None
        try:
            while end is None:
                self._relay(job, here, sent)
                if not here.poll(RELAY_SECONDS):
                    if not proc.is_alive() and not here.poll():
                        raise ApiError("The training process stopped unexpectedly; start again.")
                    continue
                try:
                    msg = here.recv()
                except EOFError:
                    raise ApiError("The training process stopped unexpectedly.") from None
                end = self._on_message(job, msg, per_update, here)
        finally:
            here.close()
            proc.join(timeout=5)
            if proc.is_alive():
                proc.kill()
        stopped, step = end
        if stopped and not job.keep:
            self.registry.snapshots.remove_job(job.id)
            job.touch(state="cancelled", snapshots=[], eta_seconds=None, paused_since=None)
            return
        job.touch(stopped_early=stopped, step=step)
        self._save(job, snapshot_id(job.id, step))

    def _relay(self, job: Job, conn, sent: dict) -> None:
        """Pass the job's controls to its process (once each), and end a forgotten pause."""
        paused_for = time.monotonic() - job.paused_since if job.paused_since else 0.0
        if paused_for > self.settings.train_max_pause_seconds:
            job.keep = True
            job.stop.set()
        if job.stop.is_set() and not sent["stop"]:
            conn.send(("stop",))
            sent["stop"] = True
        if job.pause.is_set() != sent["pause"]:
            sent["pause"] = job.pause.is_set()
            conn.send(("pause",) if sent["pause"] else ("resume",))

    def _on_message(self, job: Job, msg: tuple, per_update: int, conn) -> tuple | None:
        """Record one report of the training process; ("end", ...) returns (stopped, step)."""
        kind = msg[0]
        if kind == "step":
            job.progress(msg[1], recipe.smoothed_loss(job.loss, msg[2], per_update))
        elif kind == "snapshot":
            _, step, snap_id, text = msg
            loss = job.loss if step and job.loss is not None and math.isfinite(job.loss) else None
            snap = {"id": snap_id, "step": step, "loss": loss, "sample": text}
            every = job.snapshot_every
            for dropped in job.add_snapshot(snap, self.settings.train_max_snapshots):
                self.registry.snapshots.remove(dropped)
            if job.snapshot_every != every:
                with contextlib.suppress(OSError):  # the process may have ended meanwhile
                    conn.send(("every", job.snapshot_every))
        elif kind == "paused":
            job.touch(state="paused", paused_since=time.monotonic(), eta_seconds=None)
        elif kind == "resumed":
            if job.paused_since is not None:
                job.paused_total += time.monotonic() - job.paused_since
            job.touch(state="running", paused_since=None)
        elif kind == "error":
            raise ApiError(msg[1], 500)
        elif kind == "end":
            return msg[1], msg[2]
        return None

    def _save(self, job: Job, final_snapshot: str) -> None:
        """The model as trained (the job's last snapshot) joins the registry as "trained"."""
        req, task = job.request, job.task
        final = self.registry.get(final_snapshot)
        if final is None:
            raise ApiError("The trained weights could not be read back; train again.")
        name = req.name or f"{req.cell}-{task.id}"
        steps = f"{job.step} steps" + (
            f", stopped early of {req.steps}" if job.stopped_early else ""
        )
        entry = self.registry.add(
            final.model,
            final.vocab,
            source="trained",
            name=name,
            description=f"You trained this {req.cell.upper()} ({req.layers} x {req.hidden_size} "
            f"hidden units, {steps}, chunks of {req.seq_len}): {task.description}",
            **recipe.metadata(task),
        )
        job.touch(state="done", model_id=entry.id, eta_seconds=0.0)
