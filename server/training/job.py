"""One training job's state: its progress, its loss curve, its snapshots, its controls.

The training thread writes it; the event loop reads `status()` (the GET /api/train/{job} body).
Lists are replaced, never edited in place, once a reader may hold them, so a status read while
the thread works is always whole.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass, field

from engine.tasks import Task
from server.core.schemas import TrainRequest
from server.training.status import FINISHED, StatusFiles

HISTORY_POINTS = 400  # loss-curve points kept: when full, every other one is dropped


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
    stopped_early: bool = False
    history: list[tuple[int, float]] = field(default_factory=list)
    history_every: int = 1  # a point every this many steps (doubles when the curve is full)
    snapshots: list[dict] = field(default_factory=list)  # {id, step, loss, sample}
    snapshot_every: int = 1
    # controls: stop ends the job (keep: save the model so far; else nothing is kept)
    stop: threading.Event = field(default_factory=threading.Event)
    keep: bool = False
    pause: threading.Event = field(default_factory=threading.Event)
    # time spent training: from `started`, minus the pauses
    started: float | None = None
    paused_total: float = 0.0
    paused_since: float | None = None
    ended: float | None = None  # when it finished: its time stops there
    thread: threading.Thread | None = None
    changed: float = field(default_factory=time.monotonic)
    shared: float = 0.0  # when the status was last written for other processes
    share_lock: threading.Lock = field(default_factory=threading.Lock)
    store: StatusFiles | None = None

    def elapsed(self) -> float:
        if self.started is None:
            return 0.0
        now = next((t for t in (self.ended, self.paused_since) if t is not None), time.monotonic())
        return max(0.0, now - self.started - self.paused_total)

    def status(self) -> dict:
        loss = self.loss if self.loss is None or self.loss == self.loss else None  # NaN -> None
        elapsed = self.elapsed()
        rate = self.step / elapsed if elapsed > 0 and self.step else None
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
            "elapsed_seconds": round(elapsed, 3),
            "steps_per_second": None if rate is None else round(rate, 2),
            "stopped_early": self.stopped_early,
            "history": list(self.history),
            "snapshots": list(self.snapshots),
        }

    def touch(self, **changes) -> None:
        new_state = changes.get("state", self.state) != self.state
        for k, v in changes.items():
            setattr(self, k, v)
        self.changed = time.monotonic()
        if self.state in FINISHED and self.ended is None:
            self.ended = self.changed
        if new_state:  # progress goes out with the next tick; a new state at once
            self.share()

    def share(self) -> None:
        """Write the status for the other processes (and as this process's heartbeat)."""
        if self.store is None:
            return
        with self.share_lock:
            self.shared = time.monotonic()
            self.store.write(self.status())

    # -- called by the training thread ----------------------------------------------------

    def progress(self, step: int, loss: float) -> None:
        """After update `step`: the loss, the curve, the ETA from the time spent training."""
        history = self.history
        if step % self.history_every == 0 or step == self.request.steps:
            if math.isfinite(loss):
                history = [*history, (step, round(loss, 6))]
            if len(history) > HISTORY_POINTS:
                history = [*history[:-1:2], history[-1]]
                self.history_every *= 2
        elapsed = self.elapsed()
        eta = elapsed / step * (self.request.steps - step) if step else None
        self.touch(step=step, loss=loss, history=history, eta_seconds=eta)

    def add_snapshot(self, snap: dict, limit: int) -> list[str]:
        """Record a snapshot; past `limit`, drop every other one (never the first or this
        one) and double the interval. Returns the ids dropped (their files go too)."""
        snaps = [*self.snapshots, snap]
        dropped: list[str] = []
        if len(snaps) > limit:
            kept = [*snaps[:-1:2], snaps[-1]]
            ids = {s["id"] for s in kept}
            dropped = [s["id"] for s in snaps if s["id"] not in ids]
            snaps = kept
            self.snapshot_every *= 2
        self.touch(snapshots=snaps, sample=snap["sample"] or self.sample)
        return dropped
