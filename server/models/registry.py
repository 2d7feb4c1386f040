"""The models a user can pick: demo models shipped with the package, plus models trained or
imported by the user, kept as engine.storage files under `<data_dir>/models/`.

Files are read lazily (the list needs only their metadata, which is read once and cached). Each
file's extra metadata may hold `id`, `source`, `example`, `labels` and `name`.

Every server process (uvicorn --workers) and trace process has its own Registry on the same
folder. Each list or lookup first stats `<data_dir>/models/` (one system call): when its mtime
changed, a model saved or removed by another process is picked up there and then.
"""

from __future__ import annotations

import re
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from engine.model import SequenceModel
from engine.storage import LoadedModel, load_model, save_model
from engine.tasks import task_name
from engine.tokenize import Vocabulary
from server.core.paths import DEMO_MODELS_DIR

_ID_SAFE = re.compile(r"[^a-z0-9]+")
# A folder changed twice within one tick of the file system's clock keeps the same mtime, so an
# mtime that was this recent when we scanned is not trusted: we scan again (as git does for its
# "racy" index entries). 2 s covers the coarsest clocks (FAT); ext4 and APFS tick in ms or ns.
RACY_SECONDS = 2.0


def slug(text: str, fallback: str = "model") -> str:
    s = _ID_SAFE.sub("-", text.lower()).strip("-")[:40]
    return s or fallback


@dataclass
class Entry:
    """One usable model: its file, its source, and (once loaded) the model itself."""

    id: str
    source: str  # "demo" | "trained" | "imported"
    path: Path
    loaded: LoadedModel
    version: int = 0  # file mtime: cached traces of an older file are not reused

    @property
    def model(self) -> SequenceModel:
        return self.loaded.model

    @property
    def vocab(self) -> Vocabulary:
        return self.loaded.vocab

    @property
    def meta(self) -> dict:
        return self.loaded.metadata

    @property
    def labels(self) -> list[str] | None:
        labels = self.meta.get("labels")
        return list(labels) if labels else None

    @property
    def task(self) -> str:
        return self.loaded.task or task_name(self.vocab.level, classify=bool(self.labels))

    def output_names(self) -> list[str]:
        """What the head's outputs are called: class labels or vocabulary tokens."""
        return self.labels or self.vocab.tokens

    def summary(self) -> dict:
        cfg = self.model.config
        return {
            "id": self.id,
            "cell": cfg.cell,
            "description": self.loaded.description or f"A {cfg.cell.upper()} model.",
            "task": self.task,
            "vocab_kind": self.vocab.level,
            "vocab_size": len(self.vocab),
            "hidden_size": cfg.hidden_size,
            "num_layers": cfg.num_layers,
            "bidirectional": cfg.bidirectional,
            "nonlinearity": cfg.nonlinearity if cfg.cell == "rnn" else None,
            "source": self.source,
            "example": self.meta.get("example") or "".join(self.vocab.tokens[:4]),
        }

    def detail(self) -> dict:
        return {
            **self.summary(),
            "vocab": list(self.vocab.tokens),
            "labels": self.labels,
            "setup": self.model.config.setup,
            "unk": self.vocab.unk,
        }


class Registry:
    """Demo models plus the user's models; thread-safe (training jobs add from threads)."""

    def __init__(self, data_dir: Path, demo_dir: Path = DEMO_MODELS_DIR):
        self.demo_dir = demo_dir
        self.user_dir = Path(data_dir) / "models"
        self._entries: dict[str, Entry] = {}
        self._lock = threading.Lock()  # guards _entries
        self._scan_lock = threading.Lock()  # one scan at a time
        self._seen: tuple[int | None, float] | None = None  # (user dir mtime, when we scanned)
        self._unreadable: dict[Path, int] = {}  # path -> mtime: not read again until it changes
        self.problems: list[str] = []  # files that could not be read (logged, not fatal)
        self.rescan()

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
        by hand) and forget the ones removed."""
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
                if unchanged or self._unreadable.get(path) == mtime:
                    continue
                entry = self._read(path, kind, mtime)
                if entry is not None:
                    with self._lock:
                        self._entries[entry.id] = entry
            present = {path for path, _ in found}
            with self._lock:
                for model_id, entry in list(self._entries.items()):
                    if entry.path not in present:
                        del self._entries[model_id]

    def _read(self, path: Path, kind: str, mtime: int) -> Entry | None:
        try:
            loaded = load_model(path)
        except (ValueError, OSError) as e:
            problem = f"{path.name}: {e}"
        else:
            if loaded.vocab is not None:
                source = "demo" if kind == "demo" else loaded.metadata.get("source", "trained")
                model_id = loaded.metadata.get("id") or path.stem
                return Entry(model_id, source, path, loaded, mtime)
            problem = f"{path.name}: no vocabulary (vector models are not served)"
        self._unreadable[path] = mtime
        self.problems.append(problem)
        return None

    def list(self) -> list[Entry]:
        self.refresh()
        with self._lock:
            entries = list(self._entries.values())
        order = {"demo": 0, "trained": 1, "imported": 2}
        return sorted(entries, key=lambda e: (order.get(e.source, 3), e.id))

    def get(self, model_id: str) -> Entry | None:
        self.refresh()
        with self._lock:
            entry = self._entries.get(model_id)
        if entry is None:
            self.rescan()  # also picks up a demo model copied in by hand
            with self._lock:
                entry = self._entries.get(model_id)
        return entry

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
    ) -> Entry:
        """Save a user model under the data dir and make it available at once."""
        self.user_dir.mkdir(parents=True, exist_ok=True)
        model_id = f"{slug(name)}-{uuid.uuid4().hex[:6]}"
        path = self.user_dir / f"{model_id}.npz"
        extra = {"id": model_id, "source": source, "example": example, "name": name}
        if labels:
            extra["labels"] = labels
        tmp = path.with_suffix(".tmp")
        save_model(tmp, model, vocab=vocab, task=task, description=description, extra=extra)
        tmp.replace(path)  # atomic: another worker never sees half a file
        loaded = load_model(path)
        entry = Entry(model_id, source, path, loaded, path.stat().st_mtime_ns)
        with self._lock:
            self._entries[model_id] = entry
        return entry
