"""Arrays as the JSON of the encoder–decoder and tree traces: Python floats (a non-finite value
as null), norms, and the most likely outputs of a distribution (engine.trace_values' rules)."""

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


def row_norms(a: np.ndarray) -> np.ndarray:
    """(N, k) -> (N,) each row's norm."""
    return np.sqrt(np.einsum("ij,ij->i", a, a))


def per_row(columns: dict) -> list[dict]:
    """{field: (N, ...) array, or {name: (N, ...) array}} -> N dicts {field: row} (each array
    converted to lists once)."""
    n = None
    lists: dict = {}
    for field, a in columns.items():
        if isinstance(a, dict):
            lists[field] = {k: vec(v) for k, v in a.items()}
            sizes = [len(v) for v in lists[field].values()]
        else:
            lists[field] = vec(a)
            sizes = [len(lists[field])]
        for size in sizes:
            n = size if n is None else n
    out = []
    for i in range(n or 0):
        row = {}
        for field, v in lists.items():
            row[field] = {k: x[i] for k, x in v.items()} if isinstance(v, dict) else v[i]
        out.append(row)
    return out


def top_rows(P: np.ndarray, names: list[str], k: int) -> list[list[dict]]:
    """top_predictions of every row of P (N, O)."""
    k = max(0, min(int(k), P.shape[1]))
    order = np.argsort(-P, axis=1, kind="stable")[:, :k]
    ps = np.take_along_axis(P, order, axis=1).tolist()
    return [
        [{"index": i, "token": names[i], "p": p} for i, p in zip(oi, op, strict=True)]
        for oi, op in zip(order.tolist(), ps, strict=True)
    ]
