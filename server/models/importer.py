"""Models trained elsewhere (PyTorch): an .npz of arrays under PyTorch's names -> a SequenceModel.

The file holds `weight_ih_l0`, `weight_hh_l0`, `bias_ih_l0`, `bias_hh_l0` (more layers: `_l1`;
bidirectional: `_reverse`; any module prefix such as `rnn.` or `lstm.`), optionally an output
layer (one 2-D `*.weight` (O, D) with its `*.bias` (O,)), optionally an embedding
(`embedding.weight` (V, E)), and optionally `vocab` / `labels` (arrays of strings, or JSON text).
An RNN state dict does not say which nonlinearity it was trained with: the caller must say
(`nonlinearity`, or a `nonlinearity` string array in the file, which scripts/pt_to_npz.py writes).
The arrays come from server.models.archive (headers checked first) or server.models.torch_files.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

import numpy as np

from engine.cells.state_dict import parse_key
from engine.model import ModelConfig, SequenceModel
from engine.tokenize import UNK, Vocabulary
from engine.torch_import import recurrent_layout
from server.core.errors import ApiError
from server.core.schemas import check_text
from server.models.limits import ModelLimits, check_size

_EMBEDDING = re.compile(r"^(?:.*\.)?(embedding|embed|emb|encoder|embeddings)\.weight$")
NONLINEARITIES = ("tanh", "relu")


@dataclass
class Imported:
    model: SequenceModel
    vocab: Vocabulary
    labels: list[str] | None
    notes: list[str]


def strings(value: np.ndarray | str | None, what: str, max_items: int) -> list[str] | None:
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
            raise ApiError(f"{what} must be an array of strings or JSON text.")
    else:
        items = _json_list(value, what)
    if not items:
        raise ApiError(f"{what} is empty.")
    if len(items) > max_items:
        raise ApiError(f"{what} has {len(items)} entries; at most {max_items}.")
    for item in items:
        if not isinstance(item, str) or not item:
            raise ApiError(f"{what} entries must be non-empty strings.")
        try:
            check_text(item, what)
        except ValueError as e:
            raise ApiError(str(e)) from e
    if len(set(items)) != len(items):
        raise ApiError(f"{what} has duplicate entries.")
    return items


def _json_list(text: str, what: str) -> list:
    try:
        items = json.loads(text)
    except json.JSONDecodeError as e:
        raise ApiError(f"{what} is not a JSON array of strings ({e.msg}).") from e
    if not isinstance(items, list):
        raise ApiError(f"{what} must be a JSON array of strings.")
    return items


def build(
    arrays: dict[str, np.ndarray],
    *,
    cell: str | None,
    vocab_tokens: list[str] | None,
    vocab_kind: str,
    labels: list[str] | None,
    nonlinearity: str | None,
    limits: ModelLimits,
) -> Imported:
    """Infer the architecture from the arrays' names and shapes and load them."""
    notes: list[str] = []
    most = limits.max_vocab
    vocab_tokens = vocab_tokens or strings(arrays.pop("vocab", None), "vocab", most)
    labels = labels or strings(arrays.pop("labels", None), "labels", most)
    arrays.pop("vocab", None)
    arrays.pop("labels", None)
    in_file = _nonlinearity_in_file(arrays.pop("nonlinearity", None))
    if vocab_tokens is None:
        raise ApiError("No vocabulary: add a 'vocab' array to the file or a vocab form field.")
    for name, a in arrays.items():
        if a.dtype.kind not in "fiu":
            raise ApiError(f"Array {name!r} is not numeric ({a.dtype}).")
        if not np.isfinite(a).all():
            raise ApiError(f"Array {name!r} holds NaN or infinite values.")

    try:
        layout = recurrent_layout(arrays)  # refuses proj_size & co. in a sentence
    except ValueError as e:
        raise ApiError(str(e)) from e
    if cell and cell != layout.cell:
        raise ApiError(
            f"The weights are those of a {layout.cell.upper()}, not of a {cell.upper()}."
        )
    nonlinearity = _choose_nonlinearity(layout.cell, nonlinearity, in_file)
    H, n_in = layout.hidden_size, layout.input_size
    D = H * (2 if layout.bidirectional else 1)
    recurrent = {k: v for k, v in arrays.items() if parse_key(k)}

    rest = {k: v for k, v in arrays.items() if k not in recurrent}
    embedding = [k for k in rest if _EMBEDDING.match(k) and rest[k].ndim == 2]
    if len(embedding) > 1:
        raise ApiError(f"The file has {len(embedding)} embeddings; keep one.")
    head_w = [
        k
        for k in rest
        if k.endswith("weight")
        and k not in embedding
        and rest[k].ndim == 2
        and rest[k].shape[1] == D
    ]
    if len(head_w) > 1:
        raise ApiError(f"The file has {len(head_w)} possible output layers; keep one.")
    unused = sorted(
        set(rest) - set(embedding) - set(head_w) - {w[: -len("weight")] + "bias" for w in head_w}
    )
    if unused:
        raise ApiError(
            f"The file has {len(unused)} array(s) the model has no place for: only PyTorch's "
            "nn.RNN/LSTM/GRU weights, one embedding and one output layer are read."
        )

    unk = UNK if UNK in vocab_tokens else None
    try:
        vocab = Vocabulary(vocab_tokens, level=vocab_kind, unk=unk)
    except ValueError as e:
        raise ApiError("vocab: the tokens must be distinct, non-empty strings.") from e
    V = len(vocab)
    sd = dict(recurrent)
    encoding, embed_size = "onehot", None
    if embedding:
        E = rest[embedding[0]]
        if E.shape != (V, n_in):
            raise ApiError(
                f"{embedding[0]} has shape {E.shape}; with {V} tokens and "
                f"weight_ih_l0 reading {n_in} inputs it must be ({V}, {n_in})."
            )
        encoding, embed_size = "embedding", n_in
        sd["embedding.weight"] = E
    elif n_in != V:
        raise ApiError(
            f"weight_ih_l0 reads {n_in} inputs but the vocabulary has {V} tokens "
            "(one-hot inputs need the same number; or add the embedding)."
        )
    if head_w:
        W = rest[head_w[0]]
        b = rest.get(head_w[0][: -len("weight")] + "bias", np.zeros(W.shape[0]))
        if b.shape != (W.shape[0],):
            raise ApiError(f"The output bias has shape {b.shape}; expected ({W.shape[0]},).")
        sd["head.weight"], sd["head.bias"] = W, b
        n_out = W.shape[0]
    else:
        n_out = len(labels) if labels else V
        notes.append("The file has no output layer: predictions come from a random one.")
    if labels and n_out != len(labels):
        raise ApiError(f"The output layer has {n_out} outputs but {len(labels)} labels were given.")
    if not labels and n_out != V:
        raise ApiError(
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
        nonlinearity=nonlinearity,
        peephole=layout.peephole,
    )
    check_size(cfg, limits)  # before SequenceModel allocates it (a missing head is built)
    model = SequenceModel(cfg)
    try:
        model.load_state_dict(sd, strict=bool(head_w))
    except ValueError as e:
        raise ApiError(f"The arrays do not fit together: {e}") from e
    return Imported(model, vocab, labels, notes)


def _nonlinearity_in_file(value: np.ndarray | None) -> str | None:
    if value is None:
        return None
    if value.dtype.kind != "U" or value.size != 1 or str(value.reshape(())) not in NONLINEARITIES:
        raise ApiError("The file's 'nonlinearity' array must be the text 'tanh' or 'relu'.")
    return str(value.reshape(()))


def _choose_nonlinearity(cell: str, chosen: str | None, in_file: str | None) -> str:
    """An RNN's nonlinearity must be stated: its weights look the same either way."""
    if cell != "rnn":
        return "tanh"  # LSTM and GRU have no choice to make (ignored if given)
    if chosen and in_file and chosen != in_file:
        raise ApiError(
            f"The file says its RNN uses {in_file} but the form says {chosen}: choose one."
        )
    if not (chosen or in_file):
        raise ApiError(
            "nonlinearity is required for an RNN state dict: its weights do not say whether "
            "it was trained with tanh or relu. Choose the one its nn.RNN used "
            '(nonlinearity="tanh" is PyTorch\'s default).'
        )
    return chosen or in_file
