"""The hidden state's path in 2-D: PCA of a cell's h_t, fitted once per model on its own data.

PCA (``fit_pca``), on the N reference states X (N, H), centred:

    mu = mean_n X[n]                          (H,)
    X - mu = U S V^T                           (thin SVD)
    components = V^T[:k]                       (k, H), k = min(2, H); row j = the j-th axis
    explained_variance[j] = S[j]^2 / (N - 1)   (the sample variance along axis j; 0 if N = 1)
    explained_variance_ratio[j] = S[j]^2 / sum_i S[i]^2    (0 when every state is the same)
    point(h) = (h - mu) @ components^T         (k,)

The same as the eigendecomposition of the covariance (X - mu)^T (X - mu) / (N - 1): its
eigenvectors, by decreasing eigenvalue, are the components, its eigenvalues the variances.
Sign convention (an eigenvector's sign is arbitrary): each component is flipped so that its
largest entry in absolute value (the first, on a tie) is positive. A model therefore always gets
the same axes, and the same h always lands on the same point, whatever sentence is shown.
Rows beyond the rank of X - mu (fewer than k states) are zeros, with ratio 0.

The reference states (``reference_sequences``, then ``reference_states``): every h_t of the chosen
cell (layer, direction) over the model's own data, in this order of preference:

1. ``"task"``: the model's vocabulary and task name are exactly a built-in task's
   (engine/tasks.py; the demo models and the models trained on them from the page): that task's
   examples (a classifier: every sentence) or its training text (a language model: the text,
   one sequence);
2. ``"sample"``: a unidirectional next-token language model without known data: its example
   text followed by text the model generates itself from it (engine/sample.py, temperature 1,
   seed 0): the states it visits on text like its own;
3. ``"vocabulary"``: otherwise (an imported classifier, a bidirectional model): its example,
   then fixed pseudo-random sentences of its vocabulary's tokens (numpy seed 0, 8 tokens each).

One-to-one and one-to-many models read one token: each vocabulary token is one sequence (a
one-to-many model runs ``ONE_TO_MANY_STEPS`` steps from it). At most ``max_steps`` time steps
in all (evenly spaced examples, or the start of a text), so the cost is bounded.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.model import SequenceModel
from engine.sample import sample
from engine.tasks import BUILTIN, Task
from engine.tokenize import Vocabulary

ONE_TO_MANY_STEPS = 20  # steps a one-to-many model runs from each reference token
RANDOM_LENGTH = 8  # tokens in each pseudo-random reference sentence
SEED = 0


@dataclass
class Projection:
    """A fitted PCA: ``point(h) = (h - mean) @ components.T``."""

    mean: np.ndarray  # (H,)
    components: np.ndarray  # (k, H), orthonormal rows (zero rows beyond the rank)
    explained_variance: np.ndarray  # (k,)
    explained_variance_ratio: np.ndarray  # (k,)
    n: int  # reference states it was fitted on

    def transform(self, h: np.ndarray) -> np.ndarray:
        """(..., H) states -> (..., k) points."""
        return (np.asarray(h, dtype=np.float64) - self.mean) @ self.components.T


def fit_pca(X: np.ndarray, k: int = 2) -> Projection:
    """PCA of the rows of X (N, H), centred, by SVD, with the sign convention above."""
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[0] < 1 or X.shape[1] < 1:
        raise ValueError(f"fit_pca needs a (N, H) array with N, H >= 1, got shape {X.shape}")
    if not np.isfinite(X).all():
        raise ValueError("fit_pca: the states hold non-finite numbers")
    N, H = X.shape
    k = min(k, H)
    mean = X.mean(axis=0)  # (H,)
    _, S, Vt = np.linalg.svd(X - mean, full_matrices=False)  # S (r,), Vt (r, H), r = min(N, H)
    components = np.zeros((k, H))
    sv = np.zeros(k)
    r = min(k, Vt.shape[0])
    components[:r], sv[:r] = Vt[:r], S[:r]
    rank_tol = S.max(initial=0.0) * max(N, H) * np.finfo(float).eps
    for j in range(k):
        if sv[j] <= rank_tol:  # no variance along it: an arbitrary direction, not shown
            components[j], sv[j] = 0.0, 0.0
            continue
        big = int(np.argmax(np.abs(components[j])))
        if components[j, big] < 0:
            components[j] = -components[j]
    total = float(np.sum(S**2))
    variance = sv**2 / (N - 1) if N > 1 else np.zeros(k)
    ratio = sv**2 / total if total > 0 else np.zeros(k)
    return Projection(mean, components, variance, ratio, N)


@dataclass
class Reference:
    """The sequences a projection is fitted on, and where they come from."""

    sequences: list[np.ndarray]  # each (T,) token ids (NO_TOKEN: the zero vector)
    source: str  # "task" | "sample" | "vocabulary"
    description: str  # one sentence for the page
    steps: int | None = None  # one-to-many: steps run from each one-token sequence


def _builtin_task(vocab: Vocabulary, task_name: str | None) -> Task | None:
    for task in BUILTIN.values():
        if task.name == task_name and task.vocabulary() == vocab:
            return task
    return None


def _evenly(items: list, most: int) -> list:
    """At most `most` of the items, evenly spaced, first one kept (deterministic)."""
    if len(items) <= most:
        return items
    idx = np.linspace(0, len(items) - 1, max(1, most)).round().astype(int)
    return [items[i] for i in dict.fromkeys(idx.tolist())]


def _fit_budget(seqs: list[np.ndarray], max_steps: int) -> list[np.ndarray]:
    """Evenly spaced sequences within max_steps time steps in all (the first one cut to fit)."""
    mean_len = max(1.0, float(np.mean([len(s) for s in seqs])))
    chosen = _evenly(seqs, max(1, int(max_steps // mean_len)))
    out, used = [], 0
    for s in chosen:
        if used + len(s) > max_steps:
            if not out:
                out.append(s[:max_steps])
            break
        out.append(s)
        used += len(s)
    return out


def reference_sequences(
    model: SequenceModel,
    vocab: Vocabulary,
    task_name: str | None = None,
    example: str = "",
    max_steps: int = 4000,
) -> Reference:
    """The model's own data (module docstring), within max_steps time steps."""
    if max_steps < 1:
        raise ValueError("max_steps must be >= 1")
    cfg = model.config
    V = len(vocab)
    if cfg.setup in ("one-to-one", "one-to-many"):
        steps = ONE_TO_MANY_STEPS if cfg.setup == "one-to-many" else None
        per = steps or 1
        seqs = _evenly([np.array([i]) for i in range(V)], max(1, max_steps // per))
        what = f"each of the {len(seqs)} vocabulary tokens as the one input"
        return Reference(seqs, "vocabulary", what, steps)
    task = _builtin_task(vocab, task_name)
    if task is not None:
        if task.examples:
            seqs = [vocab.encode(text) for text, _ in task.examples]
            seqs = _fit_budget([s for s in seqs if len(s)], max_steps)
            what = f"the {len(seqs)} sentences of its training task ({task.id})"
        else:
            seqs = [vocab.encode(task.text)[:max_steps]]
            what = f"its training text ({task.id}, {len(seqs[0])} tokens)"
        return Reference(seqs, "task", what)
    start = vocab.lookup(vocab.tokenize(example)).ids if example else np.zeros(0, dtype=np.int64)
    start = start[:max_steps]
    lm = cfg.output_size == V and cfg.setup == "many-to-many" and cfg.loss == "ce"
    if lm and not cfg.bidirectional:
        prime = start if len(start) else np.array([0])
        n = max(0, max_steps - len(prime))
        new, _ = sample(model, prime.tolist(), n, temperature=1.0, seed=SEED) if n else ([], None)
        seq = np.concatenate([prime, np.asarray(new, dtype=np.int64)])
        what = f"its example and {n} tokens it generated from it (seed {SEED})"
        return Reference([seq], "sample", what)
    rng = np.random.default_rng(SEED)
    seqs = [start] if len(start) else []
    room = max_steps - len(start)
    count = room // RANDOM_LENGTH
    seqs += [rng.integers(0, V, RANDOM_LENGTH) for _ in range(count)]
    if not seqs:
        seqs = [rng.integers(0, V, min(RANDOM_LENGTH, max_steps))]
    what = f"its example and {count} random sentences of its vocabulary (seed {SEED})"
    return Reference(seqs, "vocabulary", what)


def reference_states(
    model: SequenceModel, ref: Reference, layer: int = -1, direction: int = 0
) -> np.ndarray:
    """(N, H): h_t of cell [layer][direction] at every step of every reference sequence."""
    L = model.config.num_layers
    if not -L <= layer < L:
        raise ValueError(f"layer must be in -{L}..{L - 1}, got {layer}")
    if direction not in range(model.config.num_directions):
        raise ValueError(f"direction must be in 0..{model.config.num_directions - 1}")
    rows = []
    for ids in ref.sequences:
        ids = np.asarray(ids, dtype=np.int64)
        run = model.forward(ids, steps=ref.steps)
        rows.append(run.tapes[layer][direction].h)  # (T, H); a reverse tape in its own time
    return np.concatenate(rows, axis=0)


def fit_model_projection(
    model: SequenceModel,
    vocab: Vocabulary,
    layer: int = -1,
    direction: int = 0,
    task_name: str | None = None,
    example: str = "",
    max_steps: int = 4000,
) -> tuple[Projection, Reference, np.ndarray]:
    """The projection of one cell's h, its reference, and the reference states' points (N, k)."""
    ref = reference_sequences(model, vocab, task_name, example, max_steps)
    X = reference_states(model, ref, layer, direction)
    proj = fit_pca(X)
    return proj, ref, proj.transform(X)


__all__ = [
    "Projection",
    "Reference",
    "fit_model_projection",
    "fit_pca",
    "reference_sequences",
    "reference_states",
]
