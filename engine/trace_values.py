"""How a trace writes numbers and ids as plain data (the rules of engine/trace.py's docstring).

Non-finite numbers (inf/NaN from exploding weights) become None; a token id the model read as
the zero vector becomes None; whole arrays are converted at once (no Python loop per number).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from engine.model import SequenceModel
from engine.tokenize import NO_TOKEN


def floats(a) -> list:
    """Array -> nested lists of Python floats, non-finite values as None."""
    a = np.asarray(a, dtype=np.float64)
    if np.isfinite(a).all():
        return a.tolist()
    return np.where(np.isfinite(a), a, None).tolist()


Rows = Callable[[np.ndarray], list]  # a (T, n) array -> its T rows, as they go in the frames


def shown_id(i) -> int | None:
    """A token id as the trace shows it: None for NO_TOKEN (the zero vector was read)."""
    i = int(i)
    return None if i == NO_TOKEN else i


def number(x) -> float | None:
    x = float(x)
    return x if np.isfinite(x) else None


def frobenius(a: np.ndarray) -> float:
    """Frobenius norm; einsum, because np.linalg.norm's BLAS dot is slow on small arrays."""
    a = np.ravel(a)
    return float(np.sqrt(np.einsum("i,i->", a, a)))


def row_norms(a: np.ndarray) -> np.ndarray:
    """(T,) Euclidean norm of each row of a (T, H)."""
    return np.sqrt(np.einsum("th,th->t", a, a))


def reads_one_hot(model: SequenceModel, layer: int) -> bool:
    """Does the cell at `layer` read one-hot tokens (then the trace gives their ids, not x)?"""
    cfg = model.config
    return layer == 0 and cfg.vocab_size is not None and cfg.input_encoding == "onehot"
