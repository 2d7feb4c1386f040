"""One file per model: the parameters and their description in a single ``.npz``.

The archive holds every parameter under its model name ("rnn.weight_ih_l0", "head.weight", ...)
plus ``__metadata__``, a uint8 array of UTF-8 JSON:

    {"format": "unrolled-model", "version": 1,
     "config": {...ModelConfig...}, "vocab": {...Vocabulary.to_dict()...} | null,
     "task": "...", "description": "...",
     "arrays": {name: [shape...]}, "sha256": "<hex digest of the arrays>"}

Loading uses ``np.load(allow_pickle=False)`` and refuses, with a ModelFileError naming the
problem, anything that is not exactly such a file: not a zip, truncated, unreadable metadata, a
config that does not validate, missing or extra arrays, shapes that do not match the config, a
non-float64 array, or arrays whose digest differs from the recorded one (tampering).

The digest covers the arrays only, so a model loaded and saved again with new metadata (a
description, a vocabulary's ``normalize``) keeps it. A vocabulary saved before ``normalize``
existed loads without one (tokens looked up as typed).
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import numpy as np

from engine.model import ModelConfig, SequenceModel
from engine.tokenize import Vocabulary

FORMAT = "unrolled-model"
VERSION = 1
META_KEY = "__metadata__"


class ModelFileError(ValueError):
    """The file is not a valid Unrolled model file."""


@dataclass
class LoadedModel:
    model: SequenceModel
    vocab: Vocabulary | None
    task: str | None
    description: str
    metadata: dict = field(default_factory=dict)  # everything stored, including extras


def arrays_digest(arrays: dict[str, np.ndarray]) -> str:
    """sha256 over (name, dtype, shape, bytes) of every array, in name order."""
    h = hashlib.sha256()
    for name in sorted(arrays):
        a = np.ascontiguousarray(arrays[name])
        h.update(name.encode("utf-8") + b"\0")
        h.update(f"{a.dtype.str}{a.shape}".encode() + b"\0")
        h.update(a.tobytes())
    return h.hexdigest()


def save_model(
    target: str | Path | BinaryIO,
    model: SequenceModel,
    vocab: Vocabulary | None = None,
    task: str | None = None,
    description: str = "",
    extra: dict | None = None,
) -> None:
    """Write `model` (and its vocabulary, task, description, extra JSON fields) to one .npz."""
    arrays = {name: np.asarray(a, dtype=np.float64) for name, a in model.params.items()}
    meta = dict(extra or {})
    meta.update(
        format=FORMAT,
        version=VERSION,
        config=model.config.to_dict(),
        vocab=None if vocab is None else vocab.to_dict(),
        task=task,
        description=description,
        arrays={name: list(a.shape) for name, a in arrays.items()},
        sha256=arrays_digest(arrays),
    )
    blob = np.frombuffer(json.dumps(meta, ensure_ascii=False).encode("utf-8"), dtype=np.uint8)
    if isinstance(target, str | Path):
        with open(target, "wb") as f:  # np.savez would append ".npz" to a name without it
            np.savez(f, **arrays, **{META_KEY: blob})
    else:
        np.savez(target, **arrays, **{META_KEY: blob})


def load_model(source: str | Path | BinaryIO | bytes) -> LoadedModel:
    """Read a file written by save_model; raise ModelFileError if it is not one."""
    if isinstance(source, bytes | bytearray):
        source = io.BytesIO(source)
    name = str(source) if isinstance(source, str | Path) else "upload"
    try:
        with np.load(source, allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
    except FileNotFoundError:
        raise
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, KeyError) as e:
        # ValueError also covers pickled object arrays, refused by allow_pickle=False
        raise ModelFileError(f"{name}: not a readable model file ({type(e).__name__}: {e})") from e
    return _from_arrays(arrays, name)


def _from_arrays(arrays: dict[str, np.ndarray], name: str) -> LoadedModel:
    def fail(msg: str) -> ModelFileError:
        return ModelFileError(f"{name}: {msg}")

    blob = arrays.pop(META_KEY, None)
    if blob is None:
        raise fail(f"no {META_KEY} array (not an Unrolled model file)")
    if blob.dtype != np.uint8 or blob.ndim != 1:
        raise fail(f"{META_KEY} must be a 1-D uint8 array")
    try:
        meta = json.loads(blob.tobytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise fail(f"metadata is not valid JSON ({e})") from e
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise fail(f"metadata does not describe an {FORMAT!r} file")
    if meta.get("version") != VERSION:
        raise fail(f"unsupported version {meta.get('version')!r} (this build reads {VERSION})")
    try:
        config = ModelConfig.from_dict(meta["config"])
        vocab = None if meta.get("vocab") is None else Vocabulary.from_dict(meta["vocab"])
    except (KeyError, TypeError, ValueError) as e:
        raise fail(f"bad config or vocabulary in metadata ({e})") from e
    if vocab is not None and config.vocab_size is not None and len(vocab) != config.vocab_size:
        raise fail(f"vocabulary has {len(vocab)} tokens but the config says {config.vocab_size}")
    digest = meta.get("sha256")
    if digest != arrays_digest(arrays):
        raise fail(
            "checksum mismatch: the arrays were changed after saving (or the file is damaged)"
        )
    model = SequenceModel(config)
    expected = {k: v.shape for k, v in model.params.items()}
    missing = sorted(set(expected) - set(arrays))
    extra = sorted(set(arrays) - set(expected))
    if missing or extra:
        raise fail(f"arrays do not match the config: missing {missing}, unexpected {extra}")
    for key, shape in expected.items():
        a = arrays[key]
        if a.dtype != np.float64:
            raise fail(f"array {key} has dtype {a.dtype}, expected float64")
        if a.shape != shape:
            raise fail(f"array {key} has shape {a.shape}, the config needs {shape}")
    for key, a in arrays.items():
        model.params[key][...] = a  # in place: the cells share these arrays
    return LoadedModel(
        model=model,
        vocab=vocab,
        task=meta.get("task"),
        description=meta.get("description") or "",
        metadata=meta,
    )
