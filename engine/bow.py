"""A bag-of-words feed-forward classifier: the model for which word order cannot matter.

Shapes: V vocabulary size, H hidden size, K number of labels.

    x = sum_t onehot(w_t)          (V,)  the counts of each token, order forgotten
    a = W x + b                    (H,)
    h = tanh(a)                    (H,)
    z = U h + c                    (K,)
    p = softmax(z)                 (K,)
    L = -log p[y]

Backward (the derivatives of L, from the top):

    dz = p - onehot(y)             (K,)
    dU = dz h^T,  dc = dz
    dh = U^T dz                    (H,)
    da = dh * (1 - h^2)            (H,)
    dW = da x^T,  db = da
    dx = W^T da                    (V,)   (for the finite-difference check)

"you are good" and "are you good" have the same x, so the same p: the model must give them
the same answer. Unknown tokens (NO_TOKEN, or an id the vocabulary gives to <unk>) count like
any other id; NO_TOKEN adds nothing to x.

Training (``train``): one example per update in a seeded order reshuffled every epoch, with
engine.optim's optimizers and global-norm clipping, as engine.train.train_examples does for the
recurrent models. Deterministic given the seeds.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from engine.heads import softmax
from engine.optim import clip_by_global_norm, make_optimizer
from engine.tokenize import NO_TOKEN

PARAM_NAMES = ("W", "b", "U", "c")


@dataclass(frozen=True)
class BowConfig:
    vocab_size: int  # V
    hidden_size: int  # H
    output_size: int  # O (labels)
    seed: int = 0  # initialisation seed

    def __post_init__(self) -> None:
        for name in ("vocab_size", "hidden_size", "output_size"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int | np.integer) or v < 1:
                raise ValueError(f"BowConfig: {name} must be a positive integer, got {v!r}")

    def shapes(self) -> dict[str, tuple[int, ...]]:
        V, H, K = self.vocab_size, self.hidden_size, self.output_size
        return {"W": (H, V), "b": (H,), "U": (K, H), "c": (K,)}


@dataclass
class BowForward:
    x: np.ndarray  # (V,) counts
    h: np.ndarray  # (H,)
    z: np.ndarray  # (K,) logits
    p: np.ndarray  # (K,) probabilities


class BagOfWords:
    """Parameters W (H, V), b (H,), U (K, H), c (K,); initialised like nn.Linear."""

    def __init__(self, config: BowConfig):
        self.config = cfg = config
        rng = np.random.default_rng(cfg.seed)
        kw, ku = 1.0 / np.sqrt(cfg.vocab_size), 1.0 / np.sqrt(cfg.hidden_size)
        self.params: dict[str, np.ndarray] = {
            "W": rng.uniform(-kw, kw, (cfg.hidden_size, cfg.vocab_size)),
            "b": rng.uniform(-kw, kw, cfg.hidden_size),
            "U": rng.uniform(-ku, ku, (cfg.output_size, cfg.hidden_size)),
            "c": rng.uniform(-ku, ku, cfg.output_size),
        }

    def bag(self, ids: Sequence[int] | np.ndarray) -> np.ndarray:
        """Token ids (T,) -> x (V,): how often each token occurs (NO_TOKEN adds nothing)."""
        ids = np.asarray(ids, dtype=np.int64).reshape(-1)
        V = self.config.vocab_size
        if ids.size and (ids.min() < NO_TOKEN or ids.max() >= V):
            raise ValueError(f"token ids must lie in [0, {V}) or be {NO_TOKEN}")
        return np.bincount(ids[ids != NO_TOKEN], minlength=V).astype(np.float64)

    def forward_vector(self, x: np.ndarray) -> BowForward:
        """x (V,) -> the forward pass (any real x: the finite-difference check perturbs it)."""
        P = self.params
        h = np.tanh(P["W"] @ x + P["b"])  # (H,)
        z = P["U"] @ h + P["c"]  # (K,)
        return BowForward(x=x, h=h, z=z, p=softmax(z[None])[0])

    def forward(self, ids: Sequence[int] | np.ndarray) -> BowForward:
        return self.forward_vector(self.bag(ids))

    def loss(self, fw: BowForward, y: int) -> float:
        return float(-np.log(fw.p[y]))

    def backward(self, fw: BowForward, y: int) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """dL/dparams and dL/dx for L = -log p[y] (the equations in the module docstring)."""
        P = self.params
        dz = fw.p.copy()
        dz[y] -= 1.0  # softmax + cross-entropy
        grads = {"U": np.outer(dz, fw.h), "c": dz}
        dh = P["U"].T @ dz  # (H,)
        da = dh * (1.0 - fw.h**2)  # through tanh
        grads["W"] = np.outer(da, fw.x)  # (H, V)
        grads["b"] = da
        return grads, P["W"].T @ da

    def predict(self, ids: Sequence[int] | np.ndarray) -> np.ndarray:
        """The label probabilities (K,) for a token sequence."""
        return self.forward(ids).p


@dataclass
class BowTrainConfig:
    steps: int = 10_000  # updates, one example each
    optimizer: str = "adam"  # "sgd" | "adagrad" | "adam"
    lr: float = 0.01
    clip_norm: float | None = 5.0  # global-norm clipping, as engine.train
    seed: int = 0  # example order


def train(
    model: BagOfWords,
    examples: Sequence[tuple[np.ndarray, int]],
    cfg: BowTrainConfig,
    on_step: Callable[[int, float], None] | None = None,
) -> float:
    """Train on (ids, label) examples; returns the mean loss of the last 1000 updates."""
    if not examples:
        raise ValueError("train needs at least one example")
    rng = np.random.default_rng(cfg.seed)
    opt = make_optimizer(cfg.optimizer, cfg.lr, 0.0)
    bags = [(model.bag(ids), int(y)) for ids, y in examples]
    order: list[int] = []
    recent: list[float] = []
    for step in range(cfg.steps):
        if not order:
            order = list(rng.permutation(len(bags)))
        x, y = bags[order.pop()]
        fw = model.forward_vector(x)
        grads, _ = model.backward(fw, y)
        if cfg.clip_norm is not None:
            clip_by_global_norm(grads, cfg.clip_norm)
        opt.step(model.params, grads)
        recent = [*recent[-999:], model.loss(fw, y)]
        if on_step is not None:
            on_step(step + 1, recent[-1])
    return float(np.mean(recent))


def accuracy(model: BagOfWords, examples: Sequence[tuple[np.ndarray, int]]) -> float:
    """The fraction of examples whose most probable label is theirs."""
    if not examples:
        raise ValueError("accuracy needs at least one example")
    hits = sum(int(model.predict(ids).argmax() == y) for ids, y in examples)
    return hits / len(examples)
