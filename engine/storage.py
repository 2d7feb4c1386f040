"""One file per model: the parameters and their description in a single ``.npz``.

The archive holds every parameter under its model name ("rnn.weight_ih_l0", "head.weight", ...)
plus ``__metadata__``, a uint8 array of UTF-8 JSON:

    {"format": "unrolled-model", "version": 1,
     "config": {...ModelConfig...}, "vocab": {...Vocabulary.to_dict()...} | null,
     "task": "...", "description": "...",
     "arrays": {name: [shape...]}, "sha256": "<hex digest of the arrays>"}

The model kind (``"kind"``) says which model the arrays belong to:

    absent or "sequence"   engine.model.SequenceModel, config = ModelConfig
    "seq2seq"              engine.seq2seq.Seq2Seq, config = Seq2SeqConfig; "vocab" is the
                           source vocabulary and "target_vocab" the target's (with <bos>, <eos>)
    "tree"                 engine.tree.TreeNet, config = TreeConfig; "vocab" is the words

Files written before the kind existed have none and load as SequenceModel files, unchanged; a
SequenceModel file is still written without it.

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
from engine.seq2seq import Seq2Seq
from engine.seq2seq_config import Seq2SeqConfig
from engine.tokenize import Vocabulary
from engine.tree import TreeConfig, TreeNet

FORMAT = "unrolled-model"
VERSION = 1
META_KEY = "__metadata__"
KINDS = {
    "sequence": (SequenceModel, ModelConfig),
    "seq2seq": (Seq2Seq, Seq2SeqConfig),
    "tree": (TreeNet, TreeConfig),
}  # kind -> (model class, config class)
AnyModel = SequenceModel | Seq2Seq | TreeNet


def kind_of(model: AnyModel) -> str:
    """The model kind a file of this model records ("sequence", "seq2seq" or "tree")."""
    for kind, (cls, _) in KINDS.items():
        if isinstance(model, cls):
            return kind
    raise TypeError(f"not a model this file format stores: {type(model).__name__}")


class ModelFileError(ValueError):
    """The file is not a valid Unrolled model file."""


@dataclass
class LoadedModel:
    model: AnyModel
    vocab: Vocabulary | None  # the source vocabulary of a seq2seq model
    task: str | None
    description: str
    metadata: dict = field(default_factory=dict)  # everything stored, including extras
    kind: str = "sequence"  # "sequence" | "seq2seq" | "tree"
    target_vocab: Vocabulary | None = None  # seq2seq only


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
    model: AnyModel,
    vocab: Vocabulary | None = None,
    task: str | None = None,
    description: str = "",
    extra: dict | None = None,
    target_vocab: Vocabulary | None = None,
) -> None:
    """Write `model` (and its vocabulary, task, description, extra JSON fields) to one .npz.
    A seq2seq model needs its target_vocab too."""
    arrays = {name: np.asarray(a, dtype=np.float64) for name, a in model.params.items()}
    meta = dict(extra or {})
    kind = kind_of(model)
    if kind != "sequence":
        meta["kind"] = kind
    if kind == "seq2seq":
        if target_vocab is None or len(target_vocab) != model.config.tgt_vocab_size:
            raise ValueError("a seq2seq model is saved with its target vocabulary")
        meta["target_vocab"] = target_vocab.to_dict()
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
    write_npz(target, arrays, meta)


def write_npz(target: str | Path | BinaryIO, arrays: dict, meta: dict) -> None:
    """The arrays and the metadata (JSON under META_KEY) as one .npz, to a path or a file."""
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
    kind = meta.get("kind", "sequence")
    if kind not in KINDS:
        raise fail(f"unknown model kind {kind!r} (this build reads {sorted(KINDS)})")
    model_class, config_class = KINDS[kind]
    try:
        config = config_class.from_dict(meta["config"])
        vocab = None if meta.get("vocab") is None else Vocabulary.from_dict(meta["vocab"])
        target_vocab = None
        if kind == "seq2seq":
            target_vocab = Vocabulary.from_dict(meta["target_vocab"])
    except (KeyError, TypeError, ValueError) as e:
        raise fail(f"bad config or vocabulary in metadata ({e})") from e
    expected_vocab = {"sequence": "vocab_size", "seq2seq": "src_vocab_size", "tree": "vocab_size"}
    size = getattr(config, expected_vocab[kind])
    if vocab is not None and size is not None and len(vocab) != size:
        raise fail(f"vocabulary has {len(vocab)} tokens but the config says {size}")
    if kind != "sequence" and vocab is None:
        raise fail(f"a {kind} model file needs its vocabulary")
    if target_vocab is not None and len(target_vocab) != config.tgt_vocab_size:
        raise fail(
            f"target vocabulary has {len(target_vocab)} tokens but the config says "
            f"{config.tgt_vocab_size}"
        )
    digest = meta.get("sha256")
    if digest != arrays_digest(arrays):
        raise fail(
            "checksum mismatch: the arrays were changed after saving (or the file is damaged)"
        )
    model = model_class(config)
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
        kind=kind,
        target_vocab=target_vocab,
    )
