"""Training-job status shared by every server process on one data dir (uvicorn --workers).

The process running a job writes its status to `<data_dir>/jobs/<id>.json` (atomically: a
temporary file, then os.replace, so a reader never sees half of one) whenever it changes, and at
least every HEARTBEAT_SECONDS while the job is unfinished. Any process reads it from there. A
control from another process is an empty file the training process looks for every tick:
`<id>.cancel` (stop, keep nothing), `<id>.stop` (stop, keep the model trained so far) and
`<id>.pause` (paused while it exists; resuming removes it). An unfinished job whose file has not
been written for STALE_SECONDS ran in a process that died: it reads as "failed", with a sentence
saying so.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import time
from pathlib import Path

log = logging.getLogger("unrolled")

FINISHED = ("done", "cancelled", "failed")
CONTROLS = ("cancel", "stop", "pause")  # the control files' suffixes
HEARTBEAT_SECONDS = 1.0
STALE_SECONDS = 5.0  # five missed heartbeats
KEEP_SECONDS = 7 * 24 * 3600  # finished jobs' files are removed after a week, at startup
_JOB_ID = re.compile(r"[0-9a-f]{12}")  # uuid4().hex[:12]; anything else is not a job of ours


class StatusFiles:
    """One JSON file per job under `<data_dir>/jobs/`."""

    def __init__(self, data_dir: Path):
        self.dir = Path(data_dir) / "jobs"

    def _path(self, job_id: str, suffix: str = ".json") -> Path | None:
        return self.dir / f"{job_id}{suffix}" if _JOB_ID.fullmatch(job_id) else None

    def write(self, status: dict) -> None:
        """Save a job's status (the owning process only), stamped with the time: its heartbeat."""
        path = self._path(status["id"])
        self.dir.mkdir(parents=True, exist_ok=True)
        data = json.dumps({**status, "heartbeat": time.time()}).encode()
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        try:
            tmp.write_bytes(data)
            os.replace(tmp, path)
            if status["state"] in FINISHED:
                for control in CONTROLS:
                    self._path(status["id"], f".{control}").unlink(missing_ok=True)
        except OSError as e:  # a full disk must not stop the training; the next write retries
            log.warning("could not save the status of training job %s: %s", status["id"], e)

    def read(self, job_id: str) -> dict | None:
        """A job's status as any process sees it; None if there is no such job."""
        path = self._path(job_id)
        try:
            status = json.loads(path.read_bytes()) if path else None
        except (FileNotFoundError, json.JSONDecodeError):
            return None
        if not isinstance(status, dict):
            return None
        heartbeat = status.pop("heartbeat", 0.0)
        silent = time.time() - heartbeat
        if status.get("state") not in FINISHED and silent > STALE_SECONDS:
            status.update(
                state="failed",
                eta_seconds=None,
                error=f"The server process running this job stopped {silent:.0f} s ago, so "
                "the job stopped with it; start it again.",
            )
        return status

    def unfinished(self) -> int:
        """Jobs running now in any process (not counting those of dead processes)."""
        if not self.dir.is_dir():
            return 0
        recent = time.time() - STALE_SECONDS  # a file older than that is finished or stale
        count = 0
        for path in self.dir.glob("*.json"):
            with contextlib.suppress(OSError):
                if path.stat().st_mtime >= recent:
                    status = self.read(path.stem)
                    count += status is not None and status["state"] not in FINISHED
        return count

    def request(self, job_id: str, control: str, on: bool = True) -> None:
        """Ask the process running the job to `control` it (or, with on=False, withdraw it)."""
        path = self._path(job_id, f".{control}")
        if path is None:
            return
        if on:
            self.dir.mkdir(parents=True, exist_ok=True)
            path.touch()
        else:
            path.unlink(missing_ok=True)

    def requested(self, job_id: str, control: str) -> bool:
        path = self._path(job_id, f".{control}")
        return path is not None and path.exists()

    def request_cancel(self, job_id: str) -> None:
        self.request(job_id, "cancel")

    def cancel_requested(self, job_id: str) -> bool:
        return self.requested(job_id, "cancel")

    def prune(self) -> None:
        """Remove the files of jobs that finished (or whose process died) long ago."""
        if not self.dir.is_dir():
            return
        cutoff = time.time() - KEEP_SECONDS
        for path in self.dir.iterdir():
            with contextlib.suppress(OSError):
                if path.stat().st_mtime < cutoff:
                    path.unlink()
