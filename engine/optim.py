"""Optimisers and gradient clipping over dicts of arrays (name -> array).

Clipping by global norm is PyTorch's clip_grad_norm_, formula and all (see clip_by_global_norm).
Optimisers update the parameter arrays in place, so every view of them (the model's flat dict,
the cells' own dicts) sees the new values.

    SGD + momentum:  v = mu v + g;          w -= lr v
    Adagrad:         m += g^2;               w -= lr g / sqrt(m + eps)      (as in min-char-rnn)
    Adam:            m = b1 m + (1-b1) g;    v = b2 v + (1-b2) g^2
                     w -= lr m_hat / (sqrt(v_hat) + eps),  m_hat = m/(1-b1^k), v_hat = v/(1-b2^k)
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

Arrays = dict[str, np.ndarray]


# -- clipping ------------------------------------------------------------------------------


def global_norm(grads: Arrays) -> float:
    """sqrt(sum over all arrays of sum of squares)."""
    return math.sqrt(sum(float(np.sum(g * g)) for g in grads.values()))


CLIP_EPS = 1e-6  # PyTorch's: clip_coef = max_norm / (total_norm + 1e-6)


class Clipping(NamedTuple):
    norm: float  # the global norm before clipping
    clipped: bool  # whether the gradients were scaled
    scale: float  # the factor they were scaled by (1.0 when not clipped)


def clip_by_global_norm(grads: Arrays, max_norm: float) -> Clipping:
    """Scale all gradients in place exactly as torch.nn.utils.clip_grad_norm_ does:

        clip_coef = max_norm / (total_norm + 1e-6),   g *= min(clip_coef, 1)

    The direction is kept (one common factor). The 1e-6 means a norm within 1e-6 below
    max_norm is scaled too (by a factor just under 1), as in PyTorch. A non-finite norm scales
    nothing and is returned as is: the caller decides what to do.
    """
    if max_norm <= 0:
        raise ValueError(f"max_norm must be positive, got {max_norm}")
    norm = global_norm(grads)
    if not math.isfinite(norm):
        return Clipping(norm, False, 1.0)
    coef = max_norm / (norm + CLIP_EPS)
    if coef >= 1.0:
        return Clipping(norm, False, 1.0)
    for g in grads.values():
        g *= coef
    return Clipping(norm, True, coef)


def clip_by_value(grads: Arrays, limit: float) -> bool:
    """Clamp every element to [-limit, limit] in place. Returns whether any element changed."""
    if limit <= 0:
        raise ValueError(f"clip value must be positive, got {limit}")
    changed = False
    for g in grads.values():
        if np.any(np.abs(g) > limit):
            changed = True
        np.clip(g, -limit, limit, out=g)
    return changed


# -- optimisers ----------------------------------------------------------------------------


class SGD:
    """Stochastic gradient descent with optional (heavy-ball) momentum."""

    def __init__(self, lr: float = 0.1, momentum: float = 0.0):
        self.lr, self.momentum = lr, momentum
        self.velocity: Arrays = {}

    def step(self, params: Arrays, grads: Arrays) -> None:
        for name, w in params.items():
            g = grads[name]
            if self.momentum:
                v = self.velocity.setdefault(name, np.zeros_like(w))
                v *= self.momentum
                v += g
                g = v
            w -= self.lr * g


class Adagrad:
    """Adagrad exactly as min-char-rnn: per-element learning rates shrink with past g^2."""

    def __init__(self, lr: float = 0.1, eps: float = 1e-8):
        self.lr, self.eps = lr, eps
        self.memory: Arrays = {}

    def step(self, params: Arrays, grads: Arrays) -> None:
        for name, w in params.items():
            g = grads[name]
            m = self.memory.setdefault(name, np.zeros_like(w))
            m += g * g
            w -= self.lr * g / np.sqrt(m + self.eps)


class Adam:
    """Adam with bias correction (Kingma & Ba, 2015)."""

    def __init__(
        self, lr: float = 1e-2, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8
    ):
        self.lr, self.beta1, self.beta2, self.eps = lr, beta1, beta2, eps
        self.m: Arrays = {}
        self.v: Arrays = {}
        self.k = 0

    def step(self, params: Arrays, grads: Arrays) -> None:
        self.k += 1
        c1 = 1.0 - self.beta1**self.k
        c2 = 1.0 - self.beta2**self.k
        for name, w in params.items():
            g = grads[name]
            m = self.m.setdefault(name, np.zeros_like(w))
            v = self.v.setdefault(name, np.zeros_like(w))
            m *= self.beta1
            m += (1.0 - self.beta1) * g
            v *= self.beta2
            v += (1.0 - self.beta2) * g * g
            w -= self.lr * (m / c1) / (np.sqrt(v / c2) + self.eps)


def make_optimizer(name: str, lr: float, momentum: float = 0.0) -> SGD | Adagrad | Adam:
    """Optimiser by name: "sgd" (with `momentum`), "adagrad" or "adam"."""
    if name == "sgd":
        return SGD(lr=lr, momentum=momentum)
    if name == "adagrad":
        return Adagrad(lr=lr)
    if name == "adam":
        return Adam(lr=lr)
    raise ValueError(f"optimizer must be one of ['adagrad', 'adam', 'sgd'], got {name!r}")
