"""Training jobs: one thread each, at most `max_training_jobs` at once, cancellable.

A job trains by engine.recipe (the demo models' recipe; engine.train reports through
callbacks), then saves the model through the registry (engine.storage under the data dir),
where it appears as source "trained" and survives a restart. Job status is shared with every
server process through the data dir (server.training.status): any worker answers
GET /api/train/{job}, streams /ws/train/{job} and cancels with DELETE, whichever worker runs
the job.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from dataclasses import dataclass, field

from engine import recipe
from engine.tasks import BUILTIN, Task, text_task
from engine.train import TrainConfig
from server.core import limits
from server.core.errors import ApiError
from server.core.schemas import TrainRequest
from server.core.settings import Settings
from server.models.registry import Registry
from server.training.status import FINISHED, HEARTBEAT_SECONDS, StatusFiles

log = logging.getLogger("unrolled")
SHARE_EVERY = 0.2  # seconds between writes of a running job's progress for other processes


@dataclass
class Job:
    id: str
    request: TrainRequest
    task: Task
    state: str = "queued"
    step: int = 0
    loss: float | None = None
    sample: str | None = None
    eta_seconds: float | None = None
    model_id: str | None = None
    error: str | None = None
    stop: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None
    changed: float = field(default_factory=time.monotonic)
    shared: float = 0.0  # when the status was last written for other processes
    share_lock: threading.Lock = field(default_factory=threading.Lock)
    store: StatusFiles | None = None

    def status(self) -> dict:
        loss = self.loss if self.loss is None or self.loss == self.loss else None  # NaN -> None
        return {
            "id": self.id,
            "state": self.state,
            "step": self.step,
            "steps": self.request.steps,
            "loss": loss,
            "sample": self.sample,
            "eta_seconds": None if self.eta_seconds is None else round(self.eta_seconds, 2),
            "model_id": self.model_id,
            "error": self.error,
        }

    def touch(self, **changes) -> None:
        new_state = changes.get("state", self.state) != self.state
        for k, v in changes.items():
            setattr(self, k, v)
        self.changed = time.monotonic()
        if new_state:  # progress goes out with the next tick; a new state at once
            self.share()

    def share(self) -> None:
        """Write the status for the other processes (and as this process's heartbeat)."""
        if self.store is None:
            return
        with self.share_lock:
            self.shared = time.monotonic()
            self.store.write(self.status())


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
        """Share this process's progress, prove it alive, and pass on cancels from others."""
        while not self._closing.wait(SHARE_EVERY):
            for job in self._unfinished_here():
                if self.store.cancel_requested(job.id):
                    job.stop.set()
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
        limits.check(req, s)  # hidden_size, layers, steps, text (server.core.limits)
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
            self.jobs[job.id] = job
            job.share()
        job.thread = threading.Thread(target=self._run, args=(job,), daemon=True)
        job.thread.start()
        return job

    def status(self, job_id: str) -> dict:
        """The status of a job run by any process on this data dir."""
        job = self.jobs.get(job_id)
        status = job.status() if job is not None else self.store.read(job_id)
        if status is None:
            raise ApiError(
                "There is no training job with that id (it may have been before a restart).", 404
            )
        return status

    def cancel(self, job_id: str) -> dict:
        """Stop a job; another process's job stops at its next tick (within SHARE_EVERY)."""
        job = self.jobs.get(job_id)
        if job is None:
            status = self.status(job_id)
            if status["state"] not in FINISHED:
                self.store.request_cancel(job_id)
            return status
        job.stop.set()
        if job.state == "queued":
            job.touch(state="cancelled")
        return job.status()

    async def shutdown(self) -> None:
        for job in self.jobs.values():
            job.stop.set()
        for job in self.jobs.values():
            if job.thread is not None:
                job.thread.join(timeout=5)
        self._closing.set()
        self._ticker.join(timeout=5)

    # -- the training thread --------------------------------------------------------------

    def _run(self, job: Job) -> None:
        req, task = job.request, job.task
        job.touch(state="running")
        try:
            train_cfg = TrainConfig(
                steps=req.steps,
                seq_len=25,
                optimizer="adam",
                lr=req.lr,
                seed=req.seed,
                sample_every=max(req.steps // 10, 20),
                sample_len=60,
            )
            per_update = recipe.tokens_per_update(task, train_cfg)

            def on_step(info: dict) -> None:
                smooth = recipe.smoothed_loss(job.loss, info["raw_loss"], per_update)
                job.touch(step=info["step"], loss=smooth, eta_seconds=info["eta"])

            def on_sample(text: str) -> None:
                job.touch(sample=text)

            trained = recipe.train_task(
                task,
                req.cell,
                req.hidden_size,
                train_cfg,
                num_layers=req.layers,
                seed=req.seed,
                on_step=on_step,
                on_sample=on_sample,
                should_stop=job.stop.is_set,
            )
            result = trained.result
            if result.stopped:
                job.touch(state="cancelled")
                return
            name = req.name or f"{req.cell}-{task.id}"
            entry = self.registry.add(
                trained.model,
                trained.vocab,
                source="trained",
                name=name,
                description=f"You trained this {req.cell.upper()} ({req.hidden_size} hidden "
                f"units, {req.steps} steps): {task.description}",
                **recipe.metadata(task),
            )
            job.touch(state="done", model_id=entry.id, eta_seconds=0.0)
        except ApiError as e:  # e.g. the model store filled up while it trained: said, not logged
            job.touch(state="failed", error=str(e))
        except Exception as e:  # a job failing must not take the server down
            log.exception("training job %s failed", job.id)
            job.touch(state="failed", error=f"Training failed: {e}")
