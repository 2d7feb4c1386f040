"""Input encodings: token ids or vectors -> the first layer's input rows x_t.

    one-hot:    x_t = e_{k_t}                    (T,) ids -> (T, V)   no parameters
    embedding:  x_t = E[k_t]                     (T,) ids -> (T, E)   E (V, E), like nn.Embedding
    vectors:    x_t given                        (T, I) -> (T, I)     no parameters

The id NO_TOKEN (-1) is a token the vocabulary does not know (and has no <unk> for): its x_t is
the zero vector in either encoding (the one-hot vector of nothing; a zero embedding row, not a
row of E), so the step still runs, on the recurrent state alone.

Backward of the embedding scatters dx_t into row k_t of dE (a row used twice gets both; a
NO_TOKEN step reads no row, and gives none).
"""

from __future__ import annotations

import numpy as np

from engine.tokenize import NO_TOKEN, one_hot

ENCODINGS = ("onehot", "embedding")


def as_ids(inputs: np.ndarray | list, vocab_size: int) -> np.ndarray:
    """Validate token ids (T,) for a vocabulary of `vocab_size` (NO_TOKEN allowed)."""
    ids = np.asarray(inputs)
    if ids.ndim != 1:
        raise ValueError(f"token inputs must be a 1-D sequence of ids, got shape {ids.shape}")
    if ids.size and not np.issubdtype(ids.dtype, np.integer):
        if not np.all(np.equal(np.mod(ids, 1), 0)):
            raise ValueError("token ids must be integers")
    ids = ids.astype(np.int64)
    if ids.size and (ids.min() < NO_TOKEN or ids.max() >= vocab_size):
        raise ValueError(
            f"token ids must lie in [0, {vocab_size}) (or be {NO_TOKEN}, no token), "
            f"got {ids.min()}..{ids.max()}"
        )
    return ids


def as_vectors(inputs: np.ndarray | list, input_size: int) -> np.ndarray:
    """Validate vector inputs (T, I)."""
    x = np.asarray(inputs, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] != input_size:
        raise ValueError(f"vector inputs must have shape (T, {input_size}), got {x.shape}")
    return x


def onehot_forward(ids: np.ndarray, vocab_size: int) -> np.ndarray:
    """(T,) ids -> (T, V); a NO_TOKEN row is all zeros."""
    return one_hot(ids, vocab_size)


def embedding_forward(ids: np.ndarray, E: np.ndarray) -> np.ndarray:
    """(T,) ids -> (T, E) rows of the embedding table; a NO_TOKEN row is all zeros."""
    known = ids != NO_TOKEN
    if known.all():
        return E[ids]
    x = np.zeros((ids.shape[0], E.shape[1]))
    x[known] = E[ids[known]]  # never E[-1]: that would be the last token's row
    return x


def embedding_backward(dx: np.ndarray, ids: np.ndarray, vocab_size: int) -> np.ndarray:
    """dx (T, E) -> dE (V, E): row k gets the sum of dx_t over the steps where k_t = k."""
    dE = np.zeros((vocab_size, dx.shape[1]))
    known = ids != NO_TOKEN
    np.add.at(dE, ids[known], dx[known])
    return dE
