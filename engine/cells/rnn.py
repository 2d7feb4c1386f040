"""Elman RNN cell, as torch.nn.RNN (one layer).

Forward, for t = 0..T-1 (h_{-1} = h0):

    a_t = W_ih x_t + b_ih + W_hh h_{t-1} + b_hh        pre-activation   (H,)
    h_t = act(a_t)                                     act = tanh | relu

Backward (δh_t = dL/dh_t from outside plus from step t+1):

    da_t      = δh_t ⊙ act'(a_t)        tanh' = 1 - h_t²;  relu' = [a_t > 0]
    dh_{t-1} += W_hhᵀ da_t
    dx_t      = W_ihᵀ da_t,   dW_ih += da_t ⊗ x_t,   dW_hh += da_t ⊗ h_{t-1},   db += da_t

Shapes: x (T, I), h (T, H), W_ih (H, I), W_hh (H, H), b_ih, b_hh (H,).
"""

import numpy as np

from engine.cells.base import Cell, Tape, project
from engine.cells.grads import SequenceGrads, StepGrads


def step_forward(x_t: np.ndarray, h_prev: np.ndarray, p: dict, nonlinearity: str = "tanh"):
    """One step -> (h, cache). cache is also the step's record."""
    pre = p["weight_ih"] @ x_t + p["bias_ih"] + p["weight_hh"] @ h_prev + p["bias_hh"]  # (H,)
    h = np.tanh(pre) if nonlinearity == "tanh" else np.maximum(pre, 0.0)
    return h, {"h": h, "pre": pre, "x": x_t, "h_prev": h_prev}


def step_backward(dh: np.ndarray, cache: dict, p: dict, nonlinearity: str = "tanh"):
    """One BPTT step -> (dh_prev, dpre). dh may carry a leading batch of sources, (k, H)."""
    if nonlinearity == "tanh":
        dpre = dh * (1.0 - cache["h"] ** 2)  # dL/da = dL/dh · tanh'(a)
    else:
        dpre = dh * (cache["pre"] > 0)  # dL/da = dL/dh · relu'(a)
    dh_prev = dpre @ p["weight_hh"]  # dL/dh_{t-1} = W_hhᵀ da
    return dh_prev, dpre


def forward_sequence(x: np.ndarray, h0: np.ndarray, p: dict, nonlinearity: str):
    """All T steps -> (pre (T, …, H), h (T, …, H)); only W_hh h_{t-1} is computed step by step.

    x (T, I) and h0 (H,); or a batch of sequences side by side, x (T, B, I) and h0 (B, H)
    (engine/batch.py)."""
    T, batch, H = x.shape[0], h0.shape[:-1], h0.shape[-1]
    pre = project(x, p["weight_ih"])  # (T, …, H) all input projections in one product
    pre += p["bias_ih"] + p["bias_hh"]
    W_hhT = np.ascontiguousarray(p["weight_hh"].T)  # (H, H) so h @ W_hhT is W_hh h
    h_all = np.empty((T, *batch, H))
    hz = np.empty((*batch, H))
    act = np.tanh if nonlinearity == "tanh" else None
    h = h0
    for t in range(T):
        a = pre[t]
        np.dot(h, W_hhT, out=hz)  # W_hh h_{t-1}
        a += hz  # a_t
        h = h_all[t]
        if act is not None:
            act(a, out=h)
        else:
            np.maximum(a, 0.0, out=h)
    return pre, h_all


def backward_sequence(tape: "RNNTape", dh_ext: np.ndarray, dh_T: np.ndarray, detach_at=()):
    """Whole-sequence BPTT -> SequenceGrads; no gradient flows back out of a step in detach_at."""
    T, H = dh_ext.shape
    if tape.nonlinearity == "tanh":
        dact = 1.0 - tape.h * tape.h  # (T, H) tanh'(a_t) for every step at once
    else:
        dact = (tape.pre > 0).astype(np.float64)  # relu'(a_t)
    W_hh = tape.params["weight_hh"]  # (H, H)
    cuts = frozenset(detach_at)
    dpre = np.empty((T, H))
    dh_tot = np.empty((T, H))
    dh_next = dh_T.copy()  # dL/dh_{T-1} from after the sequence
    for t in range(T - 1, -1, -1):
        dh = dh_tot[t]
        np.add(dh_ext[t], dh_next, out=dh)  # δh_t: from outside + from step t+1
        da = dpre[t]
        np.multiply(dh, dact[t], out=da)  # da_t = δh_t ⊙ act'(a_t)
        np.dot(da, W_hh, out=dh_next)  # dL/dh_{t-1} = W_hhᵀ da_t
        if t in cuts:
            dh_next[:] = 0.0  # truncated BPTT: h_{t-1} entered this chunk detached
    return SequenceGrads(dpre, dpre, dh_tot, None, dh_next, None)


class RNN(Cell):
    """Elman RNN cell: h_t = act(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh), act = tanh | relu."""

    kind = "rnn"
    n_gates = 1
    gate_names = ()
    dgate_names = ("pre",)

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        seed: int | None = None,
        nonlinearity: str = "tanh",
    ):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
        self.nonlinearity = nonlinearity
        super().__init__(input_size, hidden_size, seed)

    batchable = True  # forward_arrays runs a batch of sequences too (engine/batch.py)

    def forward_arrays(self, x, h0, c0):
        """forward_sequence's arrays: one sequence, or a batch (T, B, …)."""
        return forward_sequence(x, h0, self.params, self.nonlinearity)

    def tape(self, x, h0, c0, arrays, params=None) -> "RNNTape":
        """The tape of one sequence from its forward_arrays (params: a snapshot to share)."""
        pre, h = arrays
        return RNNTape(self, x, h0, None, h, pre=pre, params=params)

    def _forward(self, x, h0, c0):
        return self.tape(x, h0, c0, self.forward_arrays(x, h0, c0))

    def _step(self, x_t, h, c):
        h, cache = step_forward(x_t, h, self.params, self.nonlinearity)
        return h, {"h": h, "pre": cache["pre"], "gates": {}}


class RNNTape(Tape):
    def __init__(self, cell: RNN, *args, **kwargs):
        super().__init__(cell, *args, **kwargs)
        self.nonlinearity = cell.nonlinearity

    def backward_sequence(self, dh, dh_T, dc_T, detach_at=()):
        return backward_sequence(self, dh, dh_T, detach_at)

    def step_backward(self, t, dh, dc):
        cache = {"h": self.h[t], "pre": self.pre[t]}
        dh_prev, dpre = step_backward(dh, cache, self.params, self.nonlinearity)
        return StepGrads(dh_prev, None, dpre, dpre, None)
