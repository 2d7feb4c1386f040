"""Arrays as the JSON of the encoder–decoder and tree traces: Python floats (a non-finite value
as null), norms, and the most likely outputs of a distribution (engine.trace's rules)."""

from __future__ import annotations

import numpy as np


def vec(a) -> list:
    """Array -> (nested) lists of Python floats, non-finite values as None."""
    a = np.asarray(a, dtype=np.float64)
    if np.isfinite(a).all():
        return a.tolist()
    return np.where(np.isfinite(a), a, None).tolist()


rows = vec  # a (T, n) array -> T lists


def norm(a) -> float:
    """Frobenius norm."""
    a = np.ravel(np.asarray(a, dtype=np.float64))
    return float(np.sqrt(a @ a))


def top_predictions(p: np.ndarray, names: list[str], k: int) -> list[dict]:
    """The k most likely outputs, {"index", "token", "p"}; ties keep the lower index first."""
    k = max(0, min(int(k), p.shape[0]))
    order = np.argsort(-p, kind="stable")[:k]
    return [{"index": int(i), "token": names[i], "p": float(p[i])} for i in order]
