"""Training snapshots: a job's weights at one step, addressed as the model id "<job>@<step>".

A training job (server.training.jobs) copies its model every few steps into
`<data_dir>/snapshots/<job>/<step>.npz` (engine.storage, written to a temporary file and renamed
into place). Any process on the data dir (every server worker, every trace process) reads one
back on demand through its Registry, so a snapshot is traced, sampled, checked and downloaded
exactly as a model is: `{"model": "3f2a9c1e0b7d@120", ...}`. Snapshots never appear in
GET /api/models (the job's status lists them). The files stay after the job (and a restart)
until the job is one of more than `train_snapshot_jobs` newer ones, or its status file is a
week old (server.training.status prune).

Memory: the files, not the loaded models, are the store; each process keeps at most
CACHED loaded snapshots (least recently used dropped first).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import threading
from collections import OrderedDict
from pathlib import Path

from engine.model import SequenceModel
from engine.storage import save_model
from engine.tokenize import Vocabulary
from server.core.errors import ApiError
from server.models.limits import ModelLimits
from server.models.modelfile import open_model_file

SNAPSHOT_ID = re.compile(r"(?P<job>[0-9a-f]{12})@(?P<step>\d{1,9})")
CACHED = 8  # loaded snapshots kept per process
NO_SNAPSHOT = (
    "There is no such training snapshot: its job kept it no longer (a long job keeps every "
    "other one when it has too many) or its files were removed; pick another from the job."
)


def snapshot_id(job_id: str, step: int) -> str:
    return f"{job_id}@{step}"


def is_snapshot_id(model_id: str) -> bool:
    return "@" in model_id


class Snapshots:
    """The snapshot files under `<data_dir>/snapshots/`, and a few loaded ones."""

    def __init__(self, data_dir: Path, limits: ModelLimits):
        self.dir = Path(data_dir) / "snapshots"
        self.limits = limits
        self._cache: OrderedDict[str, tuple[int, object]] = OrderedDict()  # id -> (mtime, Entry)
        self._lock = threading.Lock()

    def path(self, model_id: str) -> Path | None:
        m = SNAPSHOT_ID.fullmatch(model_id)
        if m is None:
            return None
        return self.dir / m["job"] / f"{int(m['step'])}.npz"

    def get(self, model_id: str, make_entry) -> object | None:
        """The snapshot's Entry (built by `make_entry(id, path, checked, mtime)`), or None."""
        path = self.path(model_id)
        if path is None:
            return None
        try:
            mtime = path.stat().st_mtime_ns
        except OSError:
            return None
        with self._lock:
            hit = self._cache.get(model_id)
            if hit is not None and hit[0] == mtime:
                self._cache.move_to_end(model_id)
                return hit[1]
        try:
            checked = open_model_file(path, self.limits)
        except (ApiError, OSError):
            return None  # removed meanwhile, or not a file we wrote
        entry = make_entry(model_id, path, checked, mtime)
        with self._lock:
            self._cache[model_id] = (mtime, entry)
            while len(self._cache) > CACHED:
                self._cache.popitem(last=False)
        return entry

    def save(
        self,
        job_id: str,
        step: int,
        model: SequenceModel,
        vocab: Vocabulary,
        *,
        task: str,
        description: str,
        example: str,
        labels: list[str] | None = None,
    ) -> str:
        """Write the model's weights now as snapshot `<job>@<step>`; returns its id."""
        model_id = snapshot_id(job_id, step)
        path = self.path(model_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{step}.{os.getpid()}.tmp")
        try:
            with open(tmp, "wb") as f:
                save_model(
                    f,
                    model,
                    vocab=vocab,
                    task=task,
                    description=description,
                    extra={"example": example, "name": model_id}
                    | ({"labels": list(labels)} if labels else {}),
                )
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
        return model_id

    def remove(self, model_id: str) -> None:
        path = self.path(model_id)
        if path is not None:
            path.unlink(missing_ok=True)
        with self._lock:
            self._cache.pop(model_id, None)

    def remove_job(self, job_id: str) -> None:
        if re.fullmatch(r"[0-9a-f]{12}", job_id):
            shutil.rmtree(self.dir / job_id, ignore_errors=True)

    def prune(self, keep_jobs: int, protect: str | None = None) -> None:
        """Keep the snapshots of the `keep_jobs` most recent jobs (and of `protect`)."""
        if not self.dir.is_dir():
            return
        jobs = []
        for d in self.dir.iterdir():
            with contextlib.suppress(OSError):
                if d.is_dir():
                    jobs.append((d.stat().st_mtime, d.name))
        jobs.sort(reverse=True)
        for _, name in jobs[keep_jobs:]:
            if name != protect:
                self.remove_job(name)
