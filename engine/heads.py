"""Output head and losses; each forward sits beside its backward.

Shapes: T steps that have an output, D the size of the top layer's output (H, or 2H when
bidirectional), O the output size.

    linear:         y_t = W h_t + b                      W (O, D), b (O,)
    softmax CE:     p_t = softmax(y_t),  L_t = -log p_t[k_t]      dL_t/dy_t = p_t - onehot(k_t)
    squared error:  L_t = sum_j (y_tj - target_tj)^2             dL_t/dy_t = 2 (y_t - target_t)

The squared error is summed, not averaged and not halved, so that it equals PyTorch's
``mse_loss(..., reduction="sum")``. Steps without a target carry no loss: target -1 for
cross-entropy, a row of NaN for squared error.
"""

from __future__ import annotations

import numpy as np

LOSSES = ("ce", "mse")


# -- linear --------------------------------------------------------------------------------


def linear_forward(h: np.ndarray, W: np.ndarray, b: np.ndarray) -> np.ndarray:
    """y = h W^T + b. h (T, D) -> y (T, O)."""
    return h @ W.T + b


def linear_backward(
    dy: np.ndarray, h: np.ndarray, W: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """dy (T, O) -> dh (T, D), dW (O, D), db (O,)."""
    dh = dy @ W  # dL/dh_t = W^T dy_t
    dW = dy.T @ h  # sum_t dy_t h_t^T
    db = dy.sum(axis=0)  # sum_t dy_t
    return dh, dW, db


# -- softmax cross-entropy -----------------------------------------------------------------


def softmax(y: np.ndarray) -> np.ndarray:
    """Row-wise softmax, shifted by the row maximum so that exp never overflows."""
    z = y - y.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def cross_entropy_forward(y: np.ndarray, targets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Logits y (T, O), targets (T,) ints (-1 = no loss) -> losses (T,), probs (T, O)."""
    targets = np.asarray(targets, dtype=np.int64)
    _check_targets_ce(targets, y.shape)
    p = softmax(y)
    # log p computed from the shifted logits (log-sum-exp) stays finite where p underflows to 0.
    z = y - y.max(axis=-1, keepdims=True)
    log_p = z - np.log(np.exp(z).sum(axis=-1, keepdims=True))
    has = targets >= 0
    losses = np.zeros(y.shape[0])
    losses[has] = -log_p[np.nonzero(has)[0], targets[has]]
    return losses, p


def cross_entropy_backward(p: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """probs (T, O), targets (T,) -> dL/dy (T, O) = p - onehot(target), zero where no target."""
    targets = np.asarray(targets, dtype=np.int64)
    has = targets >= 0
    dy = p.copy()
    dy[np.nonzero(has)[0], targets[has]] -= 1.0
    dy[~has] = 0.0
    return dy


def softmax_backward(dp: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Gradient through p = softmax(y): dL/dy = p * (dp - sum(dp * p)). Rows independent."""
    return p * (dp - (dp * p).sum(axis=-1, keepdims=True))


def _check_targets_ce(targets: np.ndarray, shape: tuple[int, ...]) -> None:
    if targets.shape != (shape[0],):
        raise ValueError(f"targets must have shape ({shape[0]},), got {targets.shape}")
    if targets.size and (targets.min() < -1 or targets.max() >= shape[1]):
        raise ValueError(
            f"targets must lie in [-1, {shape[1]}), got {targets.min()}..{targets.max()}"
        )


# -- squared error -------------------------------------------------------------------------


def mse_forward(y: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Outputs y (T, O), targets (T, O) floats (NaN row = no loss) -> losses (T,)."""
    targets = np.asarray(targets, dtype=np.float64)
    if targets.shape != y.shape:
        raise ValueError(f"targets must have shape {y.shape}, got {targets.shape}")
    has = ~np.isnan(targets).any(axis=-1)
    losses = np.zeros(y.shape[0])
    diff = y[has] - targets[has]
    losses[has] = (diff**2).sum(axis=-1)
    return losses


def mse_backward(y: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """dL/dy (T, O) = 2 (y - target), zero where no target."""
    targets = np.asarray(targets, dtype=np.float64)
    has = ~np.isnan(targets).any(axis=-1)
    dy = np.zeros_like(y)
    dy[has] = 2.0 * (y[has] - targets[has])
    return dy


# -- dispatch ------------------------------------------------------------------------------


def loss_forward(loss: str, y: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Per-step losses (T,) of `loss` ("ce" or "mse")."""
    if loss == "ce":
        return cross_entropy_forward(y, targets)[0]
    if loss == "mse":
        return mse_forward(y, targets)
    raise ValueError(f"loss must be one of {LOSSES}, got {loss!r}")


def loss_backward(loss: str, y: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """dL/dy (T, O) for `loss`, where L is the sum of the per-step losses."""
    if loss == "ce":
        return cross_entropy_backward(softmax(y), targets)
    if loss == "mse":
        return mse_backward(y, targets)
    raise ValueError(f"loss must be one of {LOSSES}, got {loss!r}")


def has_target(loss: str, targets: np.ndarray) -> np.ndarray:
    """Boolean (T,): which steps carry a loss."""
    if loss == "ce":
        return np.asarray(targets) >= 0
    return ~np.isnan(np.asarray(targets, dtype=np.float64)).any(axis=-1)
