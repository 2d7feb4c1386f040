"""Recursive neural network over a binary tree (Socher et al. 2011), with a softmax head.

Shapes: N nodes (post-order, root last; engine/tree_parse.py), H hidden size, V vocabulary size,
C classes.

Forward:

    leaf with word k:    h_n = tree.embedding[k]          (H,)  an unknown word: the zero vector
    internal node:       a_n = W [h_l; h_r] + b           W = tree.W (H, 2H), b = tree.b (H,)
                         h_n = tanh(a_n)
    every node:          logits_n = head.weight h_n + head.bias     (C,)
    loss:                L = Σ_n -log softmax(logits_n)[y_n] over the nodes with a label y_n
                         (by default the root only: Socher's head on the root)

Backward through structure, root first (reverse post-order), every node's gradient kept:

    dh_n  = head.weightᵀ (p_n - onehot(y_n))  [labelled nodes]  + (from its parent)
    da_n  = dh_n ⊙ (1 - h_n²)
    [dh_l; dh_r] += Wᵀ da_n
    dW = Σ_n da_n ⊗ [h_l; h_r],  db = Σ_n da_n,  d tree.embedding[k] += dh_leaf
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields

import numpy as np

from engine import heads
from engine.tokenize import NO_TOKEN
from engine.tree_parse import Node


@dataclass
class TreeConfig:
    vocab_size: int = 2  # V: words
    hidden_size: int = 8  # H: every node's vector (the word vectors too)
    num_classes: int = 2  # C: the head's outputs
    seed: int = 0  # initialisation seed

    def __post_init__(self) -> None:
        for f in fields(self):
            v = getattr(self, f.name)
            if isinstance(v, bool) or not isinstance(v, int | np.integer):
                raise ValueError(f"TreeConfig: {f.name} must be an integer, got {v!r}")
            if f.name != "seed" and v < 1:
                raise ValueError(f"TreeConfig: {f.name} must be positive, got {v}")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> TreeConfig:
        if not isinstance(d, dict):
            raise ValueError("TreeConfig: the config must be a JSON object")
        unknown = sorted(set(d) - {f.name for f in fields(cls)})
        if unknown:
            raise ValueError(f"TreeConfig: unknown fields {unknown}")
        return cls(**d)


class TreeNet:
    def __init__(self, config: TreeConfig):
        self.config = cfg = config
        rng = np.random.default_rng(cfg.seed)
        H = cfg.hidden_size
        k_W, k_head = 1.0 / math.sqrt(2 * H), 1.0 / math.sqrt(H)  # nn.Linear's bounds
        self.params: dict[str, np.ndarray] = {
            "tree.embedding": rng.standard_normal((cfg.vocab_size, H)) * 0.5,
            "tree.W": rng.uniform(-k_W, k_W, (H, 2 * H)),
            "tree.b": rng.uniform(-k_W, k_W, H),
            "head.weight": rng.uniform(-k_head, k_head, (cfg.num_classes, H)),
            "head.bias": rng.uniform(-k_head, k_head, cfg.num_classes),
        }

    def state_dict(self) -> dict[str, np.ndarray]:
        return {k: v.copy() for k, v in self.params.items()}

    def load_state_dict(self, sd: dict) -> None:
        unknown, missing = sorted(set(sd) - set(self.params)), sorted(set(self.params) - set(sd))
        if unknown or missing:
            raise ValueError(f"state dict mismatch: unexpected {unknown}, missing {missing}")
        for name, value in sd.items():
            if np.shape(value) != self.params[name].shape:
                raise ValueError(
                    f"{name}: shape {np.shape(value)}, expected {self.params[name].shape}"
                )
        for name, value in sd.items():
            self.params[name][...] = value

    def forward(self, nodes: list[Node], leaf_ids) -> TreeRun:
        """nodes: post-order (engine.tree_parse); leaf_ids: one id per leaf in word order
        (NO_TOKEN: a word the vocabulary does not know, read as the zero vector)."""
        leaf_ids = np.asarray(leaf_ids, dtype=np.int64).reshape(-1)
        leaves = [i for i, n in enumerate(nodes) if not n.children]
        if len(leaves) != leaf_ids.shape[0]:
            raise ValueError(f"{len(leaves)} leaves but {leaf_ids.shape[0]} word ids")
        if leaf_ids.size and (
            leaf_ids.min() < NO_TOKEN or leaf_ids.max() >= self.config.vocab_size
        ):
            raise ValueError("word ids outside the vocabulary")
        E, W, b = self.params["tree.embedding"], self.params["tree.W"], self.params["tree.b"]
        N, H = len(nodes), self.config.hidden_size
        h = np.zeros((N, H))
        ids = np.full(N, NO_TOKEN, dtype=np.int64)  # each leaf's word id
        by_word = {nodes[i].span[0]: i for i in leaves}
        for pos, i in sorted(by_word.items()):
            ids[i] = leaf_ids[pos]
        for n, node in enumerate(nodes):
            if not node.children:
                if ids[n] != NO_TOKEN:
                    h[n] = E[ids[n]]  # the word's vector
                continue
            left, right = node.children
            if left >= n or right >= n:
                raise ValueError("nodes must be in post-order (children before their parent)")
            # p = tanh(W [c_l; c_r] + b)
            h[n] = np.tanh(W @ np.concatenate([h[left], h[right]]) + b)
        logits = heads.linear_forward(h, self.params["head.weight"], self.params["head.bias"])
        return TreeRun(self, list(nodes), ids, h, logits, heads.softmax(logits))


@dataclass
class TreeResult:
    loss: float
    losses: np.ndarray  # (N,) 0 where a node has no label
    params: dict[str, np.ndarray]
    dh: np.ndarray  # (N, H) total dL/dh_n (from its own head and from its parent)
    dh_head: np.ndarray  # (N, H) the part from its own head
    dpre: np.ndarray  # (N, H) dL/da_n (0 for leaves)
    dlogits: np.ndarray  # (N, C)


@dataclass
class TreeRun:
    model: TreeNet
    nodes: list[Node]
    ids: np.ndarray  # (N,) a leaf's word id (NO_TOKEN for internal nodes and unknown words)
    h: np.ndarray  # (N, H)
    logits: np.ndarray  # (N, C)
    probs: np.ndarray  # (N, C)

    def targets_root(self, label: int) -> np.ndarray:
        """(N,) -1 everywhere but the root."""
        y = np.full(len(self.nodes), -1, dtype=np.int64)
        y[-1] = label
        return y

    def backward(self, targets) -> TreeResult:
        """targets (N,): a class per node, -1 for no loss (see targets_root)."""
        p = self.model.params
        y = np.asarray(targets, dtype=np.int64)
        losses, _ = heads.cross_entropy_forward(self.logits, y)
        dz = heads.cross_entropy_backward(self.probs, y)  # (N, C)
        dh_head, dWo, dbo = heads.linear_backward(dz, self.h, p["head.weight"])
        N, H = self.h.shape
        dh = dh_head.copy()
        dpre = np.zeros((N, H))
        W = p["tree.W"]
        dW, db = np.zeros_like(W), np.zeros(H)
        dE = np.zeros_like(p["tree.embedding"])
        for n in range(N - 1, -1, -1):  # parents before their children
            node = self.nodes[n]
            if not node.children:
                if self.ids[n] != NO_TOKEN:
                    dE[self.ids[n]] += dh[n]  # a word used twice gets both
                continue
            left, right = node.children
            da = dpre[n]
            np.multiply(dh[n], 1.0 - self.h[n] ** 2, out=da)  # da_n = dh_n ⊙ tanh'
            dW += np.outer(da, np.concatenate([self.h[left], self.h[right]]))  # da_n ⊗ [h_l; h_r]
            db += da
            dchild = W.T @ da  # (2H,) Wᵀ da_n
            dh[left] += dchild[:H]
            dh[right] += dchild[H:]
        grads = {
            "tree.embedding": dE,
            "tree.W": dW,
            "tree.b": db,
            "head.weight": dWo,
            "head.bias": dbo,
        }
        return TreeResult(float(losses.sum()), losses, grads, dh, dh_head, dpre, dz)
