"""Training jobs: one thread each, at most `max_training_jobs` at once, cancellable.

A job trains with engine.train (which reports through callbacks), then saves the model through
the registry (engine.storage under the data dir), where it appears as source "trained" and
survives a restart. Job status lives in the process that runs it.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from dataclasses import dataclass, field

from engine.model import ModelConfig, SequenceModel
from engine.train import TrainConfig, train_examples, train_lm
from server.core import limits
from server.core.errors import ApiError
from server.core.schemas import TrainRequest
from server.core.settings import Settings
from server.models.registry import Registry
from server.training.tasks import BUILTIN, Task, text_task

log = logging.getLogger("unrolled")
FINISHED = ("done", "cancelled", "failed")


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
    changed: float = field(default_factory=time.monotonic)  # streams poll this

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
        for k, v in changes.items():
            setattr(self, k, v)
        self.changed = time.monotonic()


class Jobs:
    def __init__(self, settings: Settings, registry: Registry):
        self.settings = settings
        self.registry = registry
        self.jobs: dict[str, Job] = {}
        self._lock = threading.Lock()

    def running(self) -> int:
        return sum(j.state in ("queued", "running") for j in self.jobs.values())

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
        with self._lock:
            if self.running() >= s.max_training_jobs:
                raise ApiError(
                    f"{s.max_training_jobs} training job(s) are already running; wait for one "
                    "to finish or cancel it.",
                    429,
                )
            job = Job(uuid.uuid4().hex[:12], req, task)
            self.jobs[job.id] = job
        job.thread = threading.Thread(target=self._run, args=(job,), daemon=True)
        job.thread.start()
        return job

    def get(self, job_id: str) -> Job:
        job = self.jobs.get(job_id)
        if job is None:
            raise ApiError(
                "There is no training job with that id (it may have run on another worker, or "
                "before a restart).",
                404,
            )
        return job

    def cancel(self, job_id: str) -> Job:
        job = self.get(job_id)
        job.stop.set()
        if job.state == "queued":
            job.touch(state="cancelled")
        return job

    async def shutdown(self) -> None:
        for job in self.jobs.values():
            job.stop.set()
        for job in self.jobs.values():
            if job.thread is not None:
                job.thread.join(timeout=5)

    # -- the training thread --------------------------------------------------------------

    def _run(self, job: Job) -> None:
        req, task = job.request, job.task
        job.touch(state="running")
        try:
            vocab = task.vocabulary()
            classify = task.kind == "classify"
            cfg = ModelConfig(
                cell=req.cell,
                vocab_size=len(vocab),
                hidden_size=req.hidden_size,
                num_layers=req.layers,
                output_size=len(task.labels) if classify else len(vocab),
                setup="many-to-one" if classify else "many-to-many",
                seed=req.seed,
            )
            model = SequenceModel(cfg)
            train_cfg = TrainConfig(
                steps=req.steps,
                seq_len=25,
                optimizer="adam",
                lr=req.lr,
                seed=req.seed,
                sample_every=max(req.steps // 10, 20),
                sample_len=60,
            )

            # Loss per predicted token, smoothed: comparable across tasks and chunk lengths.
            per_update = 1 if classify else min(train_cfg.seq_len, len(task.text) - 1)

            def on_step(info: dict) -> None:
                loss = float(info["raw_loss"]) / per_update
                smooth = loss if job.loss is None else 0.9 * job.loss + 0.1 * loss
                job.touch(step=info["step"], loss=smooth, eta_seconds=info["eta"])

            def on_sample(text: str) -> None:
                job.touch(sample=text)

            if classify:
                result = train_examples(
                    model,
                    task.encoded_examples(vocab),
                    train_cfg,
                    on_step,
                    should_stop=job.stop.is_set,
                )
            else:
                result = train_lm(
                    model,
                    vocab.encode(task.text),
                    train_cfg,
                    on_step,
                    on_sample,
                    should_stop=job.stop.is_set,
                    decode=vocab.decode,
                )
            if result.stopped:
                job.touch(state="cancelled")
                return
            name = req.name or f"{req.cell}-{task.id}"
            entry = self.registry.add(
                model,
                vocab,
                source="trained",
                name=name,
                task="classify" if classify else f"next-{vocab.level}",
                description=f"You trained this {req.cell.upper()} ({req.hidden_size} hidden "
                f"units, {req.steps} steps): {task.description}",
                example=task.example,
                labels=task.labels,
            )
            job.touch(state="done", model_id=entry.id, eta_seconds=0.0)
        except Exception as e:  # a job failing must not take the server down
            log.exception("training job %s failed", job.id)
            job.touch(state="failed", error=f"Training failed: {e}")
