"""The bag-of-words companions (engine/bow.py) of recurrent demo models, and their answers.

Shipped in server/demo_models/bow/*.npz (engine/bow_storage.py; scripts/train_demos.py writes
them). Each names its companion, a recurrent demo model trained on the same data with the same
vocabulary, and records both models' accuracy on the same sentences ("evaluation"). The files
are read once, when the app starts; one that does not load is skipped with a log line.

``predict`` answers for one text with both models: the bag's input vector (which tokens, how
often), its label probabilities, and the companion's, from the same tokens.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine.bow_storage import LoadedBow, load_bow
from engine.storage import ModelFileError
from server.core.errors import ApiError
from server.core.paths import DEMO_MODELS_DIR
from server.models.registry import Registry

log = logging.getLogger("unrolled")
BOW_DIR = DEMO_MODELS_DIR / "bow"


@dataclass
class BowEntry:
    id: str
    loaded: LoadedBow

    @property
    def meta(self) -> dict:
        return self.loaded.metadata

    @property
    def companion(self) -> str:
        return str(self.meta.get("companion", ""))

    def summary(self) -> dict:
        cfg = self.loaded.model.config
        return {
            "id": self.id,
            "companion": self.companion,
            "description": str(self.meta.get("description", "")),
            "task": str(self.meta.get("task", "classify")),
            "labels": list(self.loaded.labels),
            "vocab_size": cfg.vocab_size,
            "hidden_size": cfg.hidden_size,
            "normalize": self.loaded.vocab.normalize,
            "example": str(self.meta.get("example", "")),
            "evaluation": self.meta.get("evaluation"),
        }


class BowModels:
    """The shipped bag-of-words models, by id (read once: they are part of the package)."""

    def __init__(self, folder: Path = BOW_DIR):
        self.entries: dict[str, BowEntry] = {}
        for path in sorted(folder.glob("*.npz")) if folder.is_dir() else []:
            try:
                loaded = load_bow(path)
            except (ModelFileError, OSError) as e:
                log.warning("bag-of-words file %s skipped: %s", path.name, e)
                continue
            model_id = str(loaded.metadata.get("id") or path.stem)
            self.entries[model_id] = BowEntry(model_id, loaded)

    def list(self) -> list[BowEntry]:
        return list(self.entries.values())

    def get(self, model_id: str) -> BowEntry:
        entry = self.entries.get(model_id)
        if entry is None:
            known = ", ".join(self.entries) or "none"
            raise ApiError(
                f"There is no bag-of-words model with that id (there are: {known}).", 404
            )
        return entry


def predict(entry: BowEntry, registry: Registry, text: str, max_tokens: int) -> dict:
    """Both models' answers for `text`: the bag (its input vector) and the companion's.

    ApiError 422 for a text with no token or more than max_tokens; 404 when the companion model
    is missing."""
    loaded = entry.loaded
    vocab, model = loaded.vocab, loaded.model
    enc = vocab.read(text)
    if len(enc) == 0:
        raise ApiError("The text has no word to read: type a sentence.", 422)
    if len(enc) > max_tokens:
        raise ApiError(
            f"The text has {len(enc)} tokens; at most {max_tokens} are read (setting max_tokens).",
            422,
        )
    fw = model.forward(enc.ids)
    used = np.flatnonzero(fw.x)
    out = {
        "model": entry.id,
        "text": text,
        "labels": list(loaded.labels),
        "vocab_size": model.config.vocab_size,
        "tokens": list(enc.tokens),
        "ids": [int(i) for i in enc.ids],
        "unknown": [bool(u) for u in enc.unknown],
        "seen_as": list(enc.seen),
        "bag": [{"id": int(i), "token": vocab.tokens[i], "count": int(fw.x[i])} for i in used],
        "probs": [float(p) for p in fw.p],
        "label": loaded.labels[int(fw.p.argmax())],
        "companion": _companion_answer(entry, registry, enc.ids),
    }
    return out


def _companion_answer(entry: BowEntry, registry: Registry, ids: np.ndarray) -> dict:
    """The recurrent companion's label probabilities for the same token ids."""
    other = registry.get(entry.companion)
    if other is None:
        raise ApiError(f"The companion model {entry.companion!r} is not available.", 404)
    if other.vocab.tokens != entry.loaded.vocab.tokens or not other.labels:
        raise ApiError(f"The companion model {entry.companion!r} reads other tokens.", 409)
    probs = other.model.forward(ids).probs[-1]
    return {
        "model": other.id,
        "cell": other.model.config.cell,
        "probs": [float(p) for p in probs],
        "label": other.labels[int(probs.argmax())],
    }
