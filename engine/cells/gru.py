"""GRU cell, as torch.nn.GRU (one layer); gates stacked r, z, n as in PyTorch.

Forward, for t = 0..T-1 (h_{-1} = h0):

    r = σ(W_ir x + b_ir + W_hr h_{t-1} + b_hr)                 reset gate
    z = σ(W_iz x + b_iz + W_hz h_{t-1} + b_hz)                 update gate
    m = W_hn h_{t-1} + b_hn                                      hidden part of the candidate
    n = tanh(W_in x + b_in + r ⊙ m)                              candidate
    h_t = (1 - z) ⊙ n + z ⊙ h_{t-1}

Backward (δh_t = dL/dh_t from outside plus from step t+1):

    da_n = δh ⊙ (1 - z) ⊙ (1 - n²)           pre-activation of n
    da_z = δh ⊙ (h_{t-1} - n) ⊙ z(1-z)
    da_r = da_n ⊙ m ⊙ r(1-r)
    dm   = da_n ⊙ r                            the hidden side of n is scaled by r
    dh_{t-1} = W_hhᵀ [da_r, da_z, dm] + δh ⊙ z
    dW_ih += [da_r, da_z, da_n] ⊗ x_t,  dW_hh += [da_r, da_z, dm] ⊗ h_{t-1}

Shapes: x (T, I), h (T, H), W_ih (3H, I), W_hh (3H, H), b_ih, b_hh (3H,).
"""

import numpy as np

from engine.cells.base import Cell, Tape, project, sigmoid
from engine.cells.grads import SequenceGrads, StepGrads


def step_forward(x_t: np.ndarray, h_prev: np.ndarray, p: dict):
    """One step -> (h, cache). cache holds the gates and is also the step's record."""
    H = h_prev.shape[0]
    ax = p["weight_ih"] @ x_t + p["bias_ih"]  # (3H,) input side
    ah = p["weight_hh"] @ h_prev + p["bias_hh"]  # (3H,) hidden side
    r = sigmoid(ax[:H] + ah[:H])
    z = sigmoid(ax[H : 2 * H] + ah[H : 2 * H])
    m = ah[2 * H :]  # W_hn h + b_hn
    n = np.tanh(ax[2 * H :] + r * m)
    h = (1.0 - z) * n + z * h_prev
    return h, {"h": h, "r": r, "z": z, "n": n, "m": m, "h_prev": h_prev}


def step_backward(dh: np.ndarray, cache: dict, p: dict):
    """One BPTT step -> (dh_prev, da_ih, da_hh), both (…, 3H). dh: (H,) or (k, H)."""
    r, z, n, m, h_prev = cache["r"], cache["z"], cache["n"], cache["m"], cache["h_prev"]
    da_n = dh * (1.0 - z) * (1.0 - n**2)  # dL/da_n: h = (1-z) ⊙ n + …, tanh' = 1 - n²
    da_z = dh * (h_prev - n) * z * (1.0 - z)  # dL/da_z: ∂h/∂z = h_{t-1} - n, σ' = σ(1-σ)
    dm = da_n * r  # dL/dm: a_n = … + r ⊙ m
    da_r = da_n * m * r * (1.0 - r)  # dL/da_r
    da_ih = np.concatenate([da_r, da_z, da_n], axis=-1)  # (…, 3H) input-side pre-activations
    da_hh = np.concatenate([da_r, da_z, dm], axis=-1)  # (…, 3H) hidden-side pre-activations
    dh_prev = da_hh @ p["weight_hh"] + dh * z  # dL/dh_{t-1}: through the gates + the z path
    return dh_prev, da_ih, da_hh


def forward_sequence(x: np.ndarray, h0: np.ndarray, p: dict):
    """All T steps -> (gates (T, …, 3, H) r, z, n; m (T, …, H); h (T, …, H)).

    x (T, I) and h0 (H,); or a batch of sequences side by side, x (T, B, I) and h0 (B, H)
    (engine/batch.py). Only W_hh h_{t-1} is sequential. σ(a) = ½ tanh(a/2) + ½, with the r and
    z rows of the weights halved beforehand (exact in binary) so r and z share one tanh call.
    """
    T, batch, H = x.shape[0], h0.shape[:-1], h0.shape[-1]
    scale = np.r_[np.full(2 * H, 0.5), np.ones(H)]  # (3H,) halve the sigmoid pre-activations
    ax = project(x, p["weight_ih"] * scale[:, None])  # (T, …, 3H) every input projection at once
    ax += p["bias_ih"] * scale
    W_hhT = np.ascontiguousarray((p["weight_hh"] * scale[:, None]).T)  # (H, 3H)
    b_hh = p["bias_hh"] * scale
    gates = np.empty((T, *batch, 3, H))
    ah = np.empty((T, *batch, 3 * H))  # hidden side; its n block is m_t = W_hn h_{t-1} + b_hn
    h_all = np.empty((T, *batch, H))
    ax_rz = ax[..., : 2 * H].reshape(T, *batch, 2, H)  # (T, …, 2, H) views
    ah_rz = ah[..., : 2 * H].reshape(T, *batch, 2, H)
    ax_n, m_all = ax[..., 2 * H :], ah[..., 2 * H :]  # (T, …, H) views
    gates_r, gates_z, gates_n = np.moveaxis(gates, -2, 0)  # (T, …, H) views
    h = h0
    for t in range(T):
        a_h = ah[t]
        np.dot(h, W_hhT, out=a_h)
        a_h += b_hh
        rz = gates[t, ..., :2, :]  # (…, 2, H) a view
        np.add(ax_rz[t], ah_rz[t], out=rz)
        np.tanh(rz, out=rz)
        rz *= 0.5
        rz += 0.5  # r, z = σ(a)
        r, z, n = gates_r[t], gates_z[t], gates_n[t]
        np.multiply(r, m_all[t], out=n)
        n += ax_n[t]
        np.tanh(n, out=n)  # n = tanh(W_in x + b_in + r ⊙ m)
        h_t = h_all[t]
        np.subtract(h, n, out=h_t)
        h_t *= z
        h_t += n  # h_t = n + z ⊙ (h_{t-1} - n)
        h = h_t
    return gates, m_all, h_all


def backward_sequence(tape: "GRUTape", dh_ext: np.ndarray, dh_T: np.ndarray, detach_at=()):
    """Whole-sequence BPTT -> SequenceGrads; no gradient flows back out of a step in detach_at.

    Every pre-activation gradient is δh_t times a factor known from the forward pass, so the
    factors are computed for all steps first and the loop is two products and a matrix-vector.
    """
    T, H = dh_ext.shape
    r, z, n = (tape.gates[k] for k in "rzn")
    m, h_prev = tape.m, tape.h_prev
    dn_factor = (1.0 - z) * (1.0 - n * n)  # (T, H) ∂h/∂a_n
    Q = np.empty((T, 3, H))  # da_hh = δh ⊙ Q
    Q[:, 0] = dn_factor * m * r * (1.0 - r)  # ∂h/∂a_r
    Q[:, 1] = (h_prev - n) * z * (1.0 - z)  # ∂h/∂a_z
    Q[:, 2] = dn_factor * r  # ∂h/∂m
    z = np.ascontiguousarray(z)
    W_hh = tape.params["weight_hh"]  # (3H, H)
    da_hh = np.empty((T, 3, H))
    da_hh_flat = da_hh.reshape(T, 3 * H)
    dh_tot = np.empty((T, H))
    direct = np.empty(H)
    cuts = frozenset(detach_at)
    dh_next = dh_T.copy()
    for t in range(T - 1, -1, -1):
        dh = dh_tot[t]
        np.add(dh_ext[t], dh_next, out=dh)  # δh_t: outside + step t+1
        np.multiply(Q[t], dh, out=da_hh[t])  # da_r, da_z, dm
        np.dot(da_hh_flat[t], W_hh, out=dh_next)  # W_hhᵀ [da_r, da_z, dm]
        np.multiply(dh, z[t], out=direct)
        dh_next += direct  # + δh ⊙ z: the path that skips the gates
        if t in cuts:
            dh_next[:] = 0.0  # truncated BPTT: h_{t-1} entered this chunk detached
    da_ih = da_hh.copy()
    da_ih[:, 2] = dh_tot * dn_factor  # da_n
    return SequenceGrads(da_ih.reshape(T, 3 * H), da_hh_flat, dh_tot, None, dh_next, None)


class GRU(Cell):
    """GRU cell with PyTorch's parameters and gate order (r, z, n)."""

    kind = "gru"
    n_gates = 3
    gate_names = ("r", "z", "n")
    dgate_names = ("r", "z", "n")

    batchable = True  # forward_arrays runs a batch of sequences too (engine/batch.py)

    def forward_arrays(self, x, h0, c0):
        """forward_sequence's arrays: one sequence, or a batch (T, B, …)."""
        return forward_sequence(x, h0, self.params)

    def tape(self, x, h0, c0, arrays, params=None) -> "GRUTape":
        """The tape of one sequence from its forward_arrays (params: a snapshot to share)."""
        gates, m, h = arrays
        named = {k: gates[:, j] for j, k in enumerate(self.gate_names)}  # (T, H) each
        return GRUTape(self, x, h0, None, h, gates=named, m=m, params=params)

    def _forward(self, x, h0, c0):
        return self.tape(x, h0, c0, self.forward_arrays(x, h0, c0))

    def _step(self, x_t, h, c):
        h, cache = step_forward(x_t, h, self.params)
        rec = {k: cache[k] for k in ("h", *self.gate_names)}
        rec["gates"] = {k: cache[k] for k in self.gate_names}
        return h, rec


class GRUTape(Tape):
    def __init__(self, cell: GRU, *args, m: np.ndarray, **kwargs):
        super().__init__(cell, *args, **kwargs)
        self.m = m  # (T, H) W_hn h_{t-1} + b_hn, needed for dL/dr

    def backward_sequence(self, dh, dh_T, dc_T, detach_at=()):
        return backward_sequence(self, dh, dh_T, detach_at)

    def step_backward(self, t, dh, dc):
        cache = {k: self.gates[k][t] for k in self.gate_names}
        cache["m"] = self.m[t]
        cache["h_prev"] = self.h[t - 1] if t > 0 else self.h0
        dh_prev, da_ih, da_hh = step_backward(dh, cache, self.params)
        return StepGrads(dh_prev, None, da_ih, da_hh, None)
