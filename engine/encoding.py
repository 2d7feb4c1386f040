"""Input encodings: token ids or vectors -> the first layer's input rows x_t.

    one-hot:    x_t = e_{k_t}                    (T,) ids -> (T, V)   no parameters
    embedding:  x_t = E[k_t]                     (T,) ids -> (T, E)   E (V, E), like nn.Embedding
    vectors:    x_t given                        (T, I) -> (T, I)     no parameters

Backward of the embedding scatters dx_t into row k_t of dE (a row used twice gets both).
"""

from __future__ import annotations

import numpy as np

from engine.tokenize import one_hot

ENCODINGS = ("onehot", "embedding")


def as_ids(inputs: np.ndarray | list, vocab_size: int) -> np.ndarray:
    """Validate token ids (T,) for a vocabulary of `vocab_size`."""
    ids = np.asarray(inputs)
    if ids.ndim != 1:
        raise ValueError(f"token inputs must be a 1-D sequence of ids, got shape {ids.shape}")
    if ids.size and not np.issubdtype(ids.dtype, np.integer):
        if not np.all(np.equal(np.mod(ids, 1), 0)):
            raise ValueError("token ids must be integers")
    ids = ids.astype(np.int64)
    if ids.size and (ids.min() < 0 or ids.max() >= vocab_size):
        raise ValueError(f"token ids must lie in [0, {vocab_size}), got {ids.min()}..{ids.max()}")
    return ids


def as_vectors(inputs: np.ndarray | list, input_size: int) -> np.ndarray:
    """Validate vector inputs (T, I)."""
    x = np.asarray(inputs, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] != input_size:
        raise ValueError(f"vector inputs must have shape (T, {input_size}), got {x.shape}")
    return x


def onehot_forward(ids: np.ndarray, vocab_size: int) -> np.ndarray:
    """(T,) ids -> (T, V)."""
    return one_hot(ids, vocab_size)


def embedding_forward(ids: np.ndarray, E: np.ndarray) -> np.ndarray:
    """(T,) ids -> (T, E) rows of the embedding table."""
    return E[ids]


def embedding_backward(dx: np.ndarray, ids: np.ndarray, vocab_size: int) -> np.ndarray:
    """dx (T, E) -> dE (V, E): row k gets the sum of dx_t over the steps where k_t = k."""
    dE = np.zeros((vocab_size, dx.shape[1]))
    np.add.at(dE, ids, dx)
    return dE
