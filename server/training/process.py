"""The program a training process runs (server.training.jobs starts one per job, "spawn").

Training runs in a process of its own, at a lower CPU priority (os.nice(train_nice)), never in
the server's: a training step is thousands of small NumPy calls that would hold the server's
GIL, and its CPU would compete with the students' traces on equal terms. Here it holds neither.

The process builds the task's model (engine.recipe), trains it (engine.train) and writes the
snapshots itself (server.models.snapshots: every process reads them from the data dir). It
talks to the job's thread in the server over one duplex pipe:

    to the server    ("step", step, raw_loss)            after every update
                     ("snapshot", step, model_id, sample) after writing a snapshot
                     ("paused",) / ("resumed",)           when it stops / starts stepping
                     ("end", stopped, step)               the last message (the last step
                                                          always has a snapshot: the model)
                     ("error", sentence)                  instead of "end"
    from the server  ("pause",) ("resume",) ("stop",) ("every", n): the snapshot interval
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from engine import recipe
from engine.sample import sample
from engine.tasks import BUILTIN, text_task
from engine.train import TrainConfig
from server.models.limits import ModelLimits
from server.models.snapshots import Snapshots

SAMPLE_LEN = 60  # tokens in each snapshot's sample
PAUSE_POLL = 0.05  # seconds between looks at the pipe while paused


@dataclass
class Spec:
    """What a training process needs: picklable, no server objects."""

    job_id: str
    data_dir: str
    limits: ModelLimits
    task: str
    text: str | None
    cell: str
    hidden_size: int
    layers: int
    steps: int
    seq_len: int
    lr: float
    seed: int
    snapshot_every: int
    nice: int = 0


class _Controls:
    """The server's messages, read between steps."""

    def __init__(self, conn, every: int):
        self.conn = conn
        self.every = every
        self.paused = False
        self.stopped = False

    def read(self, timeout: float = 0.0) -> None:
        while self.conn.poll(timeout):
            timeout = 0.0
            msg = self.conn.recv()
            if msg[0] == "pause":
                self.paused = True
            elif msg[0] == "resume":
                self.paused = False
            elif msg[0] == "stop":
                self.stopped = True
            elif msg[0] == "every":
                self.every = int(msg[1])

    def should_stop(self) -> bool:
        self.read()
        if self.paused and not self.stopped:
            self.conn.send(("paused",))
            while self.paused and not self.stopped:
                self.read(PAUSE_POLL)
            self.conn.send(("resumed",))
        return self.stopped


def run(spec: Spec, conn) -> None:
    """The process's main: train, report, end with ("end", ...) or ("error", ...)."""
    try:
        if spec.nice and hasattr(os, "nice"):
            os.nice(spec.nice)
        _train(spec, conn)
    except Exception as e:  # said to the server, which marks the job failed
        conn.send(("error", f"Training failed: {type(e).__name__}: {e}"))
    finally:
        conn.close()


def _train(spec: Spec, conn) -> None:
    task = text_task(spec.text or "") if spec.task == "text" else BUILTIN[spec.task]
    vocab = task.vocabulary()
    model = recipe.build_model(task, spec.cell, spec.hidden_size, spec.layers, spec.seed)
    snapshots = Snapshots(Path(spec.data_dir), spec.limits)
    controls = _Controls(conn, spec.snapshot_every)
    taken: list[int] = []

    def snapshot(step: int) -> None:
        text = ""
        if not task.classify:
            first = vocab.encode(task.text)[:1]
            drawn, _ = sample(model, first, SAMPLE_LEN, 1.0, spec.seed + step)
            text = vocab.decode([int(first[0]), *drawn])
        model_id = snapshots.save(
            spec.job_id,
            step,
            model,
            vocab,
            task=task.name,
            description=f"Training job {spec.job_id} after {step} of {spec.steps} steps.",
            example=task.example,
            labels=task.labels,
        )
        taken.append(step)
        conn.send(("snapshot", step, model_id, text))

    def on_step(info: dict) -> None:
        step = info["step"]
        conn.send(("step", step, float(info["raw_loss"])))
        if step % controls.every == 0 or step == spec.steps:
            snapshot(step)

    snapshot(0)
    cfg = TrainConfig(
        steps=spec.steps, seq_len=spec.seq_len, optimizer="adam", lr=spec.lr, seed=spec.seed
    )
    result = recipe.train_task(
        task,
        spec.cell,
        spec.hidden_size,
        cfg,
        num_layers=spec.layers,
        seed=spec.seed,
        on_step=on_step,
        should_stop=controls.should_stop,
        model=model,
    ).result
    if taken[-1] != result.steps:
        snapshot(result.steps)  # stopped between snapshots: the model as it is now
    conn.send(("end", result.stopped, result.steps))
