"""Training the encoder–decoder and the tree network: Adam on the summed gradients of small
batches, clipped by global norm, seeded (the same call gives the same weights)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from engine.optim import Adam, clip_by_global_norm
from engine.seq2seq import Seq2Seq
from engine.seq2seq_tasks import phrase_labels, tree_of
from engine.tokenize import Vocabulary
from engine.tree import TreeNet


def _step(opt: Adam, params: dict, grads: dict, clip: float) -> None:
    clip_by_global_norm(grads, clip)
    opt.step(params, grads)


def train_seq2seq(
    model: Seq2Seq,
    pairs: list[tuple[str, str]],
    src_vocab: Vocabulary,
    tgt_vocab: Vocabulary,
    steps: int,
    batch: int = 8,
    lr: float = 5e-3,
    clip: float = 5.0,
    seed: int = 0,
    report: Callable[[int, float], None] | None = None,
) -> float:
    """`steps` updates, each on `batch` pairs drawn at random; returns the last batch's mean
    loss per target token. report(step, that loss) every 100 steps."""
    rng = np.random.default_rng(seed)
    data = [(src_vocab.encode(s), tgt_vocab.encode(t)) for s, t in pairs]
    opt = Adam(lr=lr)
    per_token = float("nan")
    for step in range(steps):
        grads = {k: np.zeros_like(v) for k, v in model.params.items()}
        loss = tokens = 0.0
        for i in rng.integers(0, len(data), batch):
            src, tgt = data[i]
            res = model.forward(src, tgt).backward()
            for k, g in res.params.items():
                grads[k] += g
            loss += res.loss
            tokens += len(tgt) + 1
        _step(opt, model.params, grads, clip)
        per_token = loss / tokens
        if report is not None and step % 100 == 0:
            report(step, per_token)
    return per_token


def train_tree(
    model: TreeNet,
    phrases: list[tuple[str, int]],
    vocab: Vocabulary,
    steps: int,
    batch: int = 16,
    lr: float = 1e-2,
    clip: float = 5.0,
    seed: int = 0,
) -> float:
    """Every node with the adjective carries its phrase label (engine.seq2seq_tasks)."""
    rng = np.random.default_rng(seed)
    data = []
    for text, _ in phrases:
        nodes, ids = tree_of(text, vocab)
        data.append((nodes, ids, phrase_labels(nodes)))
    opt = Adam(lr=lr)
    mean = float("nan")
    for _ in range(steps):
        grads = {k: np.zeros_like(v) for k, v in model.params.items()}
        loss = 0.0
        for i in rng.integers(0, len(data), batch):
            nodes, ids, y = data[i]
            res = model.forward(nodes, ids).backward(y)
            for k, g in res.params.items():
                grads[k] += g
            loss += res.loss
        _step(opt, model.params, grads, clip)
        mean = loss / batch
    return mean
