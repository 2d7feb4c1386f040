"""One bag-of-words model (engine/bow.py) per ``.npz``: its four arrays and its description.

The archive holds "W", "b", "U", "c" (float64) and ``__metadata__``, UTF-8 JSON as a uint8 array:

    {"format": "unrolled-bow", "version": 1,
     "config": {"vocab_size", "hidden_size", "output_size", "seed"},
     "vocab": {...Vocabulary.to_dict()...}, "labels": [...],
     "arrays": {name: [shape...]}, "sha256": "<engine.storage.arrays_digest>", ...extras}

Loading (``np.load(allow_pickle=False)``) refuses with a ModelFileError anything else: not a
zip, unreadable or wrong metadata, a vocabulary or labels that do not match the config, missing
or extra arrays, another dtype or shape, a digest that differs.
"""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import numpy as np

from engine.bow import PARAM_NAMES, BagOfWords, BowConfig
from engine.storage import META_KEY, ModelFileError, arrays_digest, write_npz
from engine.tokenize import Vocabulary

FORMAT = "unrolled-bow"
VERSION = 1


@dataclass
class LoadedBow:
    model: BagOfWords
    vocab: Vocabulary
    labels: list[str]
    metadata: dict = field(default_factory=dict)  # everything stored, including extras


def save_bow(
    target: str | Path | BinaryIO,
    model: BagOfWords,
    vocab: Vocabulary,
    labels: list[str],
    extra: dict | None = None,
) -> None:
    """Write the model, its vocabulary and labels (and extra JSON fields) to one .npz."""
    arrays = {k: np.asarray(model.params[k], dtype=np.float64) for k in PARAM_NAMES}
    cfg = model.config
    meta = dict(extra or {})
    meta.update(
        format=FORMAT,
        version=VERSION,
        config={
            "vocab_size": cfg.vocab_size,
            "hidden_size": cfg.hidden_size,
            "output_size": cfg.output_size,
            "seed": cfg.seed,
        },
        vocab=vocab.to_dict(),
        labels=list(labels),
        arrays={k: list(a.shape) for k, a in arrays.items()},
        sha256=arrays_digest(arrays),
    )
    write_npz(target, arrays, meta)


def load_bow(source: str | Path | BinaryIO | bytes) -> LoadedBow:
    """Read a file written by save_bow; ModelFileError if it is not exactly one."""
    if isinstance(source, bytes | bytearray):
        source = io.BytesIO(source)
    name = str(source) if isinstance(source, str | Path) else "upload"

    def fail(msg: str) -> ModelFileError:
        return ModelFileError(f"{name}: {msg}")

    try:
        with np.load(source, allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
    except FileNotFoundError:
        raise
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, KeyError) as e:
        raise fail(f"not a readable model file ({type(e).__name__}: {e})") from e
    blob = arrays.pop(META_KEY, None)
    if blob is None or blob.dtype != np.uint8 or blob.ndim != 1:
        raise fail(f"no 1-D uint8 {META_KEY} array (not an Unrolled bag-of-words file)")
    try:
        meta = json.loads(blob.tobytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise fail(f"metadata is not valid JSON ({e})") from e
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise fail(f"metadata does not describe an {FORMAT!r} file")
    if meta.get("version") != VERSION:
        raise fail(f"unsupported version {meta.get('version')!r} (this build reads {VERSION})")
    try:
        config = BowConfig(**meta["config"])
        vocab = Vocabulary.from_dict(meta["vocab"])
        labels = [str(x) for x in meta["labels"]]
    except (KeyError, TypeError, ValueError) as e:
        raise fail(f"bad config, vocabulary or labels in metadata ({e})") from e
    if len(vocab) != config.vocab_size or len(labels) != config.output_size:
        raise fail("the vocabulary or the labels do not match the config's sizes")
    if meta.get("sha256") != arrays_digest(arrays):
        raise fail("checksum mismatch: the arrays were changed after saving (or are damaged)")
    shapes = config.shapes()
    if set(arrays) != set(shapes):
        raise fail(f"arrays must be exactly {sorted(shapes)}, got {sorted(arrays)}")
    model = BagOfWords(config)
    for key, shape in shapes.items():
        a = arrays[key]
        if a.dtype != np.float64 or a.shape != shape:
            raise fail(f"array {key} is {a.dtype} {a.shape}, expected float64 {shape}")
        model.params[key][...] = a
    return LoadedBow(model=model, vocab=vocab, labels=labels, metadata=meta)
