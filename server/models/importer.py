"""Models trained elsewhere (PyTorch): an .npz of arrays under PyTorch's names -> a SequenceModel.

The file holds `weight_ih_l0`, `weight_hh_l0`, `bias_ih_l0`, `bias_hh_l0` (more layers: `_l1`;
bidirectional: `_reverse`; any module prefix such as `rnn.` or `lstm.`), optionally an output
layer (one 2-D `*.weight` (O, D) with its `*.bias` (O,)), optionally an embedding
(`embedding.weight` (V, E)), and optionally `vocab` / `labels` (arrays of strings, or JSON text).
Loaded with np.load(allow_pickle=False): a pickle inside is refused, never run. Files written by
engine.storage (Unrolled's own format) are accepted as they are.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from dataclasses import dataclass

import numpy as np

from engine.cells.state_dict import parse_key
from engine.model import ModelConfig, SequenceModel
from engine.storage import META_KEY, LoadedModel, ModelFileError, load_model
from engine.tokenize import UNK, Vocabulary
from engine.torch_import import recurrent_layout
from server.core.schemas import check_text

_EMBEDDING = re.compile(r"^(?:.*\.)?(embedding|embed|emb|encoder|embeddings)\.weight$")
MAX_HIDDEN = 2048
MAX_VOCAB = 50_000
NOT_NPZ = "The file could not be read as an .npz (a zip of .npy arrays, as numpy.savez writes)."


class ImportProblem(ValueError):
    """The upload cannot become a model; the message says why, for a person."""


@dataclass
class Imported:
    model: SequenceModel
    vocab: Vocabulary
    labels: list[str] | None
    notes: list[str]


def read_npz(data: bytes, max_unpacked: int) -> dict[str, np.ndarray]:
    """Arrays of an .npz, refusing pickles and archives that unpack to more than max_unpacked."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            unpacked = sum(i.file_size for i in zf.infolist())
    except zipfile.BadZipFile as e:
        raise ImportProblem("The file is not an .npz archive (np.savez writes one).") from e
    if unpacked > max_unpacked:
        raise ImportProblem(f"The archive unpacks to {unpacked} bytes; at most {max_unpacked}.")
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            return {k: npz[k] for k in npz.files}
    except ValueError as e:
        if "pickle" in str(e).lower():
            raise ImportProblem(
                "The file holds Python objects (pickles), which are never loaded; save plain "
                "arrays (numpy arrays, strings as a unicode array or JSON)."
            ) from e
        raise ImportProblem(NOT_NPZ) from e
    except (OSError, EOFError, KeyError, zipfile.BadZipFile) as e:
        raise ImportProblem(NOT_NPZ) from e


def strings(value: np.ndarray | str | None, what: str) -> list[str] | None:
    """A list of strings from a unicode array, JSON text (str, 0-d or uint8 array), or None."""
    if value is None:
        return None
    if isinstance(value, np.ndarray):
        if value.dtype.kind == "U" and value.ndim == 1:
            items = [str(v) for v in value]
        elif value.dtype.kind == "U" and value.ndim == 0:
            items = _json_list(str(value), what)
        elif value.dtype == np.uint8 and value.ndim == 1:
            items = _json_list(value.tobytes().decode("utf-8", "replace"), what)
        else:
            raise ImportProblem(f"{what} must be an array of strings or JSON text.")
    else:
        items = _json_list(value, what)
    if not items:
        raise ImportProblem(f"{what} is empty.")
    if len(items) > MAX_VOCAB:
        raise ImportProblem(f"{what} has {len(items)} entries; at most {MAX_VOCAB}.")
    for item in items:
        if not isinstance(item, str) or not item:
            raise ImportProblem(f"{what} entries must be non-empty strings.")
        try:
            check_text(item, what)
        except ValueError as e:
            raise ImportProblem(str(e)) from e
    if len(set(items)) != len(items):
        raise ImportProblem(f"{what} has duplicate entries.")
    return items


def _json_list(text: str, what: str) -> list:
    try:
        items = json.loads(text)
    except json.JSONDecodeError as e:
        raise ImportProblem(f"{what} is not a JSON array of strings ({e.msg}).") from e
    if not isinstance(items, list):
        raise ImportProblem(f"{what} must be a JSON array of strings.")
    return items


def from_unrolled_file(data: bytes) -> LoadedModel:
    try:
        return load_model(data)
    except ModelFileError as e:
        raise ImportProblem(str(e)) from e


def build(
    arrays: dict[str, np.ndarray],
    *,
    cell: str | None,
    vocab_tokens: list[str] | None,
    vocab_kind: str,
    labels: list[str] | None,
) -> Imported:
    """Infer the architecture from the arrays' names and shapes and load them."""
    notes: list[str] = []
    vocab_tokens = vocab_tokens or strings(arrays.pop("vocab", None), "vocab")
    labels = labels or strings(arrays.pop("labels", None), "labels")
    arrays.pop("vocab", None)
    arrays.pop("labels", None)
    if vocab_tokens is None:
        raise ImportProblem("No vocabulary: add a 'vocab' array to the file or a vocab form field.")
    for name, a in arrays.items():
        if a.dtype.kind not in "fiu":
            raise ImportProblem(f"Array {name!r} is not numeric ({a.dtype}).")
        if not np.isfinite(a).all():
            raise ImportProblem(f"Array {name!r} holds NaN or infinite values.")

    try:
        layout = recurrent_layout(arrays)  # refuses proj_size & co. in a sentence
    except ValueError as e:
        raise ImportProblem(str(e)) from e
    if cell and cell != layout.cell:
        raise ImportProblem(
            f"The weights are those of a {layout.cell.upper()}, not of a {cell.upper()}."
        )
    H = layout.hidden_size
    if H > MAX_HIDDEN:
        raise ImportProblem(f"Hidden size {H} is larger than {MAX_HIDDEN}.")
    D = H * (2 if layout.bidirectional else 1)
    recurrent = {k: v for k, v in arrays.items() if parse_key(k)}
    n_in = layout.input_size

    rest = {k: v for k, v in arrays.items() if k not in recurrent}
    embedding = [k for k in rest if _EMBEDDING.match(k) and rest[k].ndim == 2]
    if len(embedding) > 1:
        raise ImportProblem(f"Several embeddings: {embedding}; keep one.")
    head_w = [
        k
        for k in rest
        if k.endswith("weight")
        and k not in embedding
        and rest[k].ndim == 2
        and rest[k].shape[1] == D
    ]
    if len(head_w) > 1:
        raise ImportProblem(f"Several possible output layers: {head_w}; keep one.")
    unused = sorted(
        set(rest) - set(embedding) - set(head_w) - {w[: -len("weight")] + "bias" for w in head_w}
    )
    if unused:
        raise ImportProblem(f"Arrays the model has no place for: {unused[:10]}.")

    unk = UNK if UNK in vocab_tokens else None
    try:
        vocab = Vocabulary(vocab_tokens, level=vocab_kind, unk=unk)
    except ValueError as e:
        raise ImportProblem("vocab: the tokens must be distinct, non-empty strings.") from e
    V = len(vocab)
    sd = dict(recurrent)
    encoding, embed_size = "onehot", None
    if embedding:
        E = rest[embedding[0]]
        if E.shape != (V, n_in):
            raise ImportProblem(
                f"{embedding[0]} has shape {E.shape}; with {V} tokens and "
                f"weight_ih_l0 reading {n_in} inputs it must be ({V}, {n_in})."
            )
        encoding, embed_size = "embedding", n_in
        sd["embedding.weight"] = E
    elif n_in != V:
        raise ImportProblem(
            f"weight_ih_l0 reads {n_in} inputs but the vocabulary has {V} tokens "
            "(one-hot inputs need the same number; or add the embedding)."
        )
    if head_w:
        W = rest[head_w[0]]
        b = rest.get(head_w[0][: -len("weight")] + "bias", np.zeros(W.shape[0]))
        if b.shape != (W.shape[0],):
            raise ImportProblem(f"The output bias has shape {b.shape}; expected ({W.shape[0]},).")
        sd["head.weight"], sd["head.bias"] = W, b
        n_out = W.shape[0]
    else:
        n_out = len(labels) if labels else V
        notes.append("The file has no output layer: predictions come from a random one.")
    if labels and n_out != len(labels):
        raise ImportProblem(
            f"The output layer has {n_out} outputs but {len(labels)} labels were given."
        )
    if not labels and n_out != V:
        raise ImportProblem(
            f"The output layer has {n_out} outputs and the vocabulary {V} tokens: "
            "for a classifier, give its labels."
        )
    cfg = ModelConfig(
        cell=layout.cell,
        vocab_size=V,
        input_encoding=encoding,
        embed_size=embed_size,
        hidden_size=H,
        num_layers=layout.num_layers,
        bidirectional=layout.bidirectional,
        output_size=n_out,
        setup="many-to-one" if labels else "many-to-many",
        peephole=layout.peephole,
    )
    model = SequenceModel(cfg)
    try:
        model.load_state_dict(sd, strict=bool(head_w))
    except ValueError as e:
        raise ImportProblem(f"The arrays do not fit together: {e}") from e
    return Imported(model, vocab, labels, notes)


def is_unrolled_file(arrays: dict[str, np.ndarray]) -> bool:
    return META_KEY in arrays
