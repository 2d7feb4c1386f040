"""Training jobs: one thread each, at most `max_training_jobs` at once; pause, resume, stop.

A job trains by engine.recipe (the demo models' recipe; engine.train reports through
callbacks): Adam over chunks of `seq_len` tokens, the hidden state carried from chunk to chunk
(truncated BPTT). Every `snapshot_every` steps (and at step 0 and the last step) it copies the
weights as a snapshot (server.models.snapshots, model id "<job>@<step>") with a sample drawn
from them, so a page can trace one sentence through training time. At the end (or when
stopped, keeping what it learned) it saves the model through the registry (engine.storage under
the data dir), where it appears as source "trained" and survives a restart; a cancelled job
keeps nothing.

The thread is not the event loop: NumPy's large products release the GIL, and a trace is
computed in a trace process, so students' traces do not wait for a training step
(bench/health_under_load.py --train measures it). Job status is shared with every server
process through the data dir (server.training.status): any worker answers GET
/api/train/{job}, streams /ws/train/{job} and pauses, resumes, stops or cancels it, whichever
worker runs it.
"""

from __future__ import annotations

import logging
import math
import threading
import time
import uuid

from engine import recipe
from engine.sample import sample
from engine.tasks import BUILTIN, Task, text_task
from engine.train import TrainConfig
from server.core import limits
from server.core.errors import ApiError
from server.core.schemas import TrainRequest
from server.core.settings import Settings
from server.models.registry import Registry
from server.training.job import HISTORY_POINTS, Job
from server.training.status import FINISHED, HEARTBEAT_SECONDS, StatusFiles

log = logging.getLogger("unrolled")
SHARE_EVERY = 0.2  # seconds between writes of a running job's progress for other processes
SAMPLE_LEN = 60  # characters (tokens) in each snapshot's sample
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
        for job in self.jobs.values():
            job.stop.set()
        for job in self.jobs.values():
            if job.thread is not None:
                job.thread.join(timeout=5)
        self._closing.set()
        self._ticker.join(timeout=5)

    # -- the training thread --------------------------------------------------------------

    def _snapshot(self, job: Job, model, vocab, step: int) -> None:
        """Copy the weights now as snapshot <job>@<step>, with a sample drawn from them."""
        task, req = job.task, job.request
        text = ""
        if not task.classify:
            first = vocab.encode(task.text)[:1]
            drawn, _ = sample(model, first, SAMPLE_LEN, 1.0, req.seed + step)
            text = vocab.decode([int(first[0]), *drawn])
        snap_id = self.registry.snapshots.save(
            job.id,
            step,
            model,
            vocab,
            task=task.name,
            description=f"Training job {job.id} after {step} of {req.steps} steps.",
            example=task.example,
        )
        loss = job.loss if step and job.loss is not None and math.isfinite(job.loss) else None
        snap = {"id": snap_id, "step": step, "loss": loss, "sample": text}
        for dropped in job.add_snapshot(snap, self.settings.train_max_snapshots):
            self.registry.snapshots.remove(dropped)

    def _run(self, job: Job) -> None:
        req, task = job.request, job.task
        job.touch(state="running", started=time.monotonic())
        try:
            train_cfg = TrainConfig(
                steps=req.steps, seq_len=req.seq_len, optimizer="adam", lr=req.lr, seed=req.seed
            )
            per_update = recipe.tokens_per_update(task, train_cfg)
            vocab = task.vocabulary()
            model = recipe.build_model(task, req.cell, req.hidden_size, req.layers, req.seed)
            self._snapshot(job, model, vocab, 0)

            def on_step(info: dict) -> None:
                step = info["step"]
                job.progress(step, recipe.smoothed_loss(job.loss, info["raw_loss"], per_update))
                if step % job.snapshot_every == 0 or step == req.steps:
                    self._snapshot(job, model, vocab, step)

            def should_stop() -> bool:
                job.wait_while_paused(self.settings.train_max_pause_seconds)
                return job.stop.is_set()

            trained = recipe.train_task(
                task,
                req.cell,
                req.hidden_size,
                train_cfg,
                num_layers=req.layers,
                seed=req.seed,
                on_step=on_step,
                should_stop=should_stop,
                model=model,
            )
            if trained.result.stopped and not job.keep:
                self.registry.snapshots.remove_job(job.id)
                job.touch(state="cancelled", snapshots=[], eta_seconds=None)
                return
            if trained.result.stopped:
                if not job.snapshots or job.snapshots[-1]["step"] != job.step:
                    self._snapshot(job, model, vocab, job.step)
                job.touch(stopped_early=True)
            self._save(job, trained)
        except ApiError as e:  # e.g. the model store filled up while it trained: said, not logged
            job.touch(state="failed", error=str(e))
        except Exception as e:  # a job failing must not take the server down
            log.exception("training job %s failed", job.id)
            job.touch(state="failed", error=f"Training failed: {e}")

    def _save(self, job: Job, trained) -> None:
        req, task = job.request, job.task
        name = req.name or f"{req.cell}-{task.id}"
        steps = f"{job.step} steps" + (
            f", stopped early of {req.steps}" if job.stopped_early else ""
        )
        entry = self.registry.add(
            trained.model,
            trained.vocab,
            source="trained",
            name=name,
            description=f"You trained this {req.cell.upper()} ({req.layers} x {req.hidden_size} "
            f"hidden units, {steps}, chunks of {req.seq_len}): {task.description}",
            **recipe.metadata(task),
        )
        job.touch(state="done", model_id=entry.id, eta_seconds=0.0)
