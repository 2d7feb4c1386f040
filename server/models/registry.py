"""The models a user can pick: demo models shipped with the package, plus models trained or
imported by the user, kept as engine.storage files under `<data_dir>/models/`.

Every file is checked as an upload is (server.models.modelfile: array headers, metadata, sizes)
when it is first seen; one that fails is skipped with a log line, never served, so one bad file
cannot break the list for everyone. Writes go to a temporary file renamed into place
(os.replace), and temporary files left by a killed process are removed at start.

Every server process (uvicorn --workers) and trace process has its own Registry on the same
folder. Each list or lookup first stats `<data_dir>/models/` (one system call): when its mtime
changed, a model saved or removed by another process is picked up there and then.
"""

from __future__ import annotations

import logging
import os
import re
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from engine.model import SequenceModel
from engine.storage import LoadedModel, save_model
from engine.tasks import task_name
from engine.tokenize import Vocabulary
from server.core.errors import ApiError
from server.core.paths import DEMO_MODELS_DIR
from server.core.schemas import ModelDetail
from server.core.settings import Settings
from server.models.limits import ModelLimits
from server.models.metadata import StoredMetadata
from server.models.modelfile import CheckedModel, open_model_file
from server.models.snapshots import Snapshots, is_snapshot_id

log = logging.getLogger("unrolled")
_ID_SAFE = re.compile(r"[^a-z0-9]+")
TEMP_SUFFIX = ".tmp"  # ".<model id>.<pid>.tmp": hidden, and names the process writing it
# A folder changed twice within one tick of the file system's clock keeps the same mtime, so an
# mtime that was this recent when we scanned is not trusted: we scan again (as git does for its
# "racy" index entries). 2 s covers the coarsest clocks (FAT); ext4 and APFS tick in ms or ns.
RACY_SECONDS = 2.0


def slug(text: str, fallback: str = "model") -> str:
    s = _ID_SAFE.sub("-", text.lower()).strip("-")[:40]
    return s or fallback


@dataclass
class Entry:
    """One usable model: its file, its source, and the model itself."""

    id: str
    source: str  # "demo" | "trained" | "imported"
    path: Path
    loaded: LoadedModel
    stored: StoredMetadata
    version: int = 0  # file mtime: cached traces of an older file are not reused

    @property
    def model(self) -> SequenceModel:
        return self.loaded.model

    @property
    def kind(self) -> str:
        """ "sequence" (engine.model.SequenceModel), "seq2seq" or "tree" (engine.storage)."""
        return self.loaded.kind

    @property
    def vocab(self) -> Vocabulary:
        return self.loaded.vocab

    @property
    def target_vocab(self) -> Vocabulary | None:
        """An encoder–decoder's target vocabulary (with <bos> and <eos>); None otherwise."""
        return self.loaded.target_vocab

    @property
    def meta(self) -> dict:
        return self.loaded.metadata

    @property
    def labels(self) -> list[str] | None:
        return list(self.stored.labels) if self.stored.labels else None

    @property
    def task(self) -> str:
        if self.stored.task or self.kind != "sequence":
            return self.stored.task or self.kind
        return task_name(self.vocab.level, classify=bool(self.labels))

    def output_names(self) -> list[str]:
        """What the head's outputs are called: class labels or vocabulary tokens."""
        if self.kind == "seq2seq":
            return self.target_vocab.tokens
        return self.labels or self.vocab.tokens

    def summary(self) -> dict:
        cfg = self.model.config
        if self.kind == "tree":
            cell, layers, nonlinearity, example = "tree", 1, "tanh", self.stored.example
        else:
            cell, nonlinearity = cfg.cell, (cfg.nonlinearity if cfg.cell == "rnn" else None)
            layers = cfg.num_layers if self.kind == "sequence" else 1
            example = self.stored.example or "".join(self.vocab.tokens[:4])
        what = {"sequence": f"A {cell.upper()} model.", "seq2seq": "An encoder–decoder."}
        return {
            "id": self.id,
            "kind": self.kind,
            "cell": cell,
            "description": self.stored.description or what.get(self.kind, "A tree model."),
            "task": self.task,
            "vocab_kind": self.vocab.level,
            "vocab_size": len(self.vocab),
            "hidden_size": cfg.hidden_size,
            "num_layers": layers,
            "bidirectional": self.kind == "sequence" and cfg.bidirectional,
            "setup": cfg.setup if self.kind == "sequence" else self.kind,
            "steps": getattr(self.stored, "steps", None),
            "nonlinearity": nonlinearity,
            "attention": cfg.attention if self.kind == "seq2seq" else None,
            "peephole": self.kind == "sequence" and cfg.peephole,
            "source": self.source,
            "example": example,
        }

    def detail(self) -> dict:
        detail = {
            **self.summary(),
            "vocab": list(self.vocab.tokens),
            "labels": self.labels,
            "unk": self.vocab.unk,
            "normalize": self.vocab.normalize,
        }
        if self.kind == "seq2seq":
            detail["target_vocab"] = list(self.target_vocab.tokens)
            detail["target_vocab_kind"] = self.target_vocab.level
        return detail


def _snapshot_entry(model_id: str, path: Path, checked: CheckedModel, mtime: int) -> Entry:
    return Entry(model_id, "snapshot", path, checked.loaded, checked.stored, mtime)


def _process_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    if os.name != "posix":
        return False  # os.kill(pid, 0) would end the process on Windows; assume it is gone
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # exists, owned by someone else
    return True


class Registry:
    """Demo models plus the user's models; thread-safe (training jobs add from threads)."""

    def __init__(
        self,
        data_dir: Path,
        demo_dir: Path = DEMO_MODELS_DIR,
        limits: ModelLimits | None = None,
    ):
        self.demo_dir = demo_dir
        self.user_dir = Path(data_dir) / "models"
        self.limits = limits or ModelLimits.from_settings(Settings.model_construct())
        self._entries: dict[str, Entry] = {}
        self._lock = threading.Lock()  # guards _entries
        self._scan_lock = threading.Lock()  # one scan at a time
        self._seen: tuple[int | None, float] | None = None  # (user dir mtime, when we scanned)
        self.problems: dict[Path, tuple[int, str]] = {}  # skipped files: (mtime, why), logged once
        self.snapshots = Snapshots(data_dir, self.limits)  # "<job>@<step>": a job's weights
        self.remove_stale_temp_files()
        self.rescan()

    def remove_stale_temp_files(self) -> None:
        """Temporary files of saves that never finished (the process was killed)."""
        if not self.user_dir.is_dir():
            return
        for tmp in self.user_dir.glob(f"*{TEMP_SUFFIX}"):
            pid = tmp.name.removesuffix(TEMP_SUFFIX).rsplit(".", 1)[-1]
            if pid.isdigit() and _process_alive(int(pid)):
                continue  # another worker is writing it right now
            tmp.unlink(missing_ok=True)
            log.info("removed %s, left by a save that did not finish", tmp.name)

    def _user_dir_mtime(self) -> int | None:
        try:
            return self.user_dir.stat().st_mtime_ns
        except FileNotFoundError:
            return None

    def refresh(self) -> None:
        """Rescan if another process may have saved or removed a model since our last scan."""
        seen, mtime = self._seen, self._user_dir_mtime()
        if seen is None or seen[0] != mtime or seen[1] - (mtime or 0) / 1e9 < RACY_SECONDS:
            self.rescan()

    def rescan(self) -> None:
        """Read the files added or changed since the last scan (by another worker process, or
        by hand) and forget the ones removed, or changed into files that do not validate."""
        with self._scan_lock:
            self._seen = (self._user_dir_mtime(), time.time())  # before listing: see refresh()
            found: list[tuple[Path, str]] = [
                (p, "demo") for p in sorted(self.demo_dir.glob("*.npz"))
            ]
            if self.user_dir.is_dir():
                found += [(p, "user") for p in sorted(self.user_dir.glob("*.npz"))]
            with self._lock:
                known = {e.path: e for e in self._entries.values()}
            for path, kind in found:
                try:
                    mtime = path.stat().st_mtime_ns
                except FileNotFoundError:
                    continue  # removed while we listed
                old = known.get(path)
                unchanged = old is not None and old.version == mtime
                if unchanged or self.problems.get(path, (None,))[0] == mtime:
                    continue
                entry = self._read(path, kind, mtime)
                with self._lock:
                    if old is not None:
                        self._entries.pop(old.id, None)
                    if entry is not None:
                        self._entries[entry.id] = entry
            present = {path for path, _ in found}
            with self._lock:
                for model_id, entry in list(self._entries.items()):
                    if entry.path not in present:
                        del self._entries[model_id]

    def _read(self, path: Path, kind: str, mtime: int) -> Entry | None:
        """The file's entry, or None (logged once) if it does not validate."""
        try:
            return self._open(path, kind, mtime)
        except (ApiError, OSError) as e:
            self.problems[path] = (mtime, str(e))
            log.warning("model file %s skipped: %s", path.name, e)
            return None

    def _open(self, path: Path, kind: str, mtime: int) -> Entry:
        checked = open_model_file(path, self.limits)
        stored = checked.stored
        if kind == "demo":
            source = "demo"
        elif stored.source in (None, "trained", "imported"):
            source = stored.source or "trained"
        else:
            raise ApiError("a user's model file may not call itself a demo")
        model_id = stored.id or path.stem
        with self._lock:
            holder = self._entries.get(model_id)
        if holder is not None and holder.path != path:
            raise ApiError(f"another file already has the id {model_id}")
        entry = Entry(model_id, source, path, checked.loaded, stored, mtime)
        ModelDetail.model_validate(entry.detail())  # what the API will answer for it
        return entry

    def list(self) -> list[Entry]:
        self.refresh()
        with self._lock:
            entries = list(self._entries.values())
        order = {"demo": 0, "trained": 1, "imported": 2}
        return sorted(entries, key=lambda e: (order.get(e.source, 3), e.id))

    def get(self, model_id: str) -> Entry | None:
        if is_snapshot_id(model_id):
            return self.snapshots.get(model_id, _snapshot_entry)
        self.refresh()
        with self._lock:
            entry = self._entries.get(model_id)
        if entry is None:
            self.rescan()  # also picks up a demo model copied in by hand
            with self._lock:
                entry = self._entries.get(model_id)
        return entry

    # -- the user's models: a quota, and atomic saves ---------------------------------------

    def _usage(self) -> tuple[int, int]:
        """(files, bytes) of the user's stored models, as on disk (every worker's)."""
        files = bytes_ = 0
        if self.user_dir.is_dir():
            for p in self.user_dir.glob("*.npz"):
                try:
                    bytes_ += p.stat().st_size
                except OSError:
                    continue
                files += 1
        return files, bytes_

    def check_room(self, new_bytes: int = 0) -> None:
        """ApiError 409 when one more model (of new_bytes) would pass the quota."""
        files, used = self._usage()
        if files + 1 > self.limits.max_user_models:
            raise ApiError(
                f"The server already keeps {files} trained and imported models, the most it "
                "keeps (setting max_user_models); none is deleted on its own. Ask whoever runs "
                "the server to remove some from its data folder, or to raise the limit.",
                409,
            )
        if used + new_bytes > self.limits.max_user_bytes:
            mb = self.limits.max_user_bytes // 1_000_000
            raise ApiError(
                f"The trained and imported models already use {used // 1_000_000} MB, and this "
                f"one would pass the {mb} MB the server keeps (setting max_user_models_mb); none "
                "is deleted on its own. Ask whoever runs the server to remove some from its "
                "data folder, or to raise the limit.",
                409,
            )

    def add(
        self,
        model: SequenceModel,
        vocab: Vocabulary,
        *,
        source: str,
        name: str,
        task: str,
        description: str,
        example: str = "",
        labels: list[str] | None = None,
        target_vocab: Vocabulary | None = None,
    ) -> Entry:
        """Save a user model under the data dir and make it available at once.

        ApiError 409 past the quota (nothing is written); 422 if what would be stored does not
        validate (nothing is kept)."""
        self.user_dir.mkdir(parents=True, exist_ok=True)
        model_id = f"{slug(name)}-{uuid.uuid4().hex[:6]}"
        path = self.user_dir / f"{model_id}.npz"
        extra = {"id": model_id, "source": source, "example": example, "name": name}
        if labels:
            extra["labels"] = labels
        tmp = self.user_dir / f".{model_id}.{os.getpid()}{TEMP_SUFFIX}"
        try:
            with open(tmp, "wb") as f:
                save_model(
                    f,
                    model,
                    vocab=vocab,
                    task=task,
                    description=description,
                    extra=extra,
                    target_vocab=target_vocab,
                )
                f.flush()
                os.fsync(f.fileno())  # the rename below must never expose half a file
            checked = open_model_file(tmp, self.limits)
            entry = Entry(model_id, source, path, checked.loaded, checked.stored)
            ModelDetail.model_validate(entry.detail())
            with self._lock:  # one check-and-rename at a time in this process
                self.check_room(tmp.stat().st_size)
                os.replace(tmp, path)  # atomic: another worker never sees half a file
        finally:
            tmp.unlink(missing_ok=True)
        entry.version = path.stat().st_mtime_ns
        with self._lock:
            self._entries[model_id] = entry
        return entry
