"""LSTM cell, as torch.nn.LSTM (one layer), with an optional peephole variant.

Forward, for t = 0..T-1 (h_{-1}, c_{-1} = h0, c0); gates stacked i, f, g, o as in PyTorch:

    a_t = W_ih x_t + b_ih + W_hh h_{t-1} + b_hh        (4H,) = [a_i, a_f, a_g, a_o]
    i = σ(a_i)   f = σ(a_f)   g = tanh(a_g)   o = σ(a_o)
    c_t = f ⊙ c_{t-1} + i ⊙ g
    h_t = o ⊙ tanh(c_t)

Peephole (Gers & Schmidhuber; NOT in PyTorch): the gates also read the cell state,
a_i += w_ci ⊙ c_{t-1},  a_f += w_cf ⊙ c_{t-1},  a_o += w_co ⊙ c_t.

Backward (δh_t, δc_t = dL/dh_t, dL/dc_t arriving from outside and from step t+1):

    da_o = δh ⊙ tanh(c) ⊙ o(1-o)
    dc   = δc + δh ⊙ o ⊙ (1 - tanh²(c))   [+ da_o ⊙ w_co]     total dL/dc_t
    da_i = dc ⊙ g ⊙ i(1-i)    da_f = dc ⊙ c_{t-1} ⊙ f(1-f)    da_g = dc ⊙ i ⊙ (1-g²)
    dh_{t-1} = W_hhᵀ da      dc_{t-1} = dc ⊙ f   [+ da_i ⊙ w_ci + da_f ⊙ w_cf]
    dx_t = W_ihᵀ da,  dW_ih += da ⊗ x_t,  dW_hh += da ⊗ h_{t-1},  db += da

Shapes: x (T, I), h, c (T, H), W_ih (4H, I), W_hh (4H, H), b_ih, b_hh (4H,), w_c* (H,).
"""

import numpy as np

from engine.cells import flow
from engine.cells.base import Cell, Tape, project, sigmoid
from engine.cells.grads import SequenceGrads, StepGrads

PEEPHOLES = ("w_ci", "w_cf", "w_co")


def step_forward(x_t: np.ndarray, h_prev: np.ndarray, c_prev: np.ndarray, p: dict):
    """One step -> (h, c, cache). cache holds the gates and is also the step's record."""
    H = h_prev.shape[0]
    a = p["weight_ih"] @ x_t + p["bias_ih"] + p["weight_hh"] @ h_prev + p["bias_hh"]  # (4H,)
    a_i, a_f, a_g, a_o = a[:H], a[H : 2 * H], a[2 * H : 3 * H], a[3 * H :]
    peephole = "w_ci" in p
    if peephole:
        a_i = a_i + p["w_ci"] * c_prev
        a_f = a_f + p["w_cf"] * c_prev
    i, f, g = sigmoid(a_i), sigmoid(a_f), np.tanh(a_g)
    c = f * c_prev + i * g
    if peephole:
        a_o = a_o + p["w_co"] * c  # the output gate looks at the new cell state
    o = sigmoid(a_o)
    tanh_c = np.tanh(c)
    h = o * tanh_c
    cache = {"h": h, "c": c, "i": i, "f": f, "g": g, "o": o, "tanh_c": tanh_c, "c_prev": c_prev}
    return h, c, cache


def step_backward(dh: np.ndarray, dc_next: np.ndarray, cache: dict, p: dict):
    """One BPTT step -> (dh_prev, dc_prev, da (…, 4H), dc). dh, dc_next: (H,) or (k, H)."""
    i, f, g, o = cache["i"], cache["f"], cache["g"], cache["o"]
    tanh_c, c_prev = cache["tanh_c"], cache["c_prev"]
    da_o = dh * tanh_c * o * (1.0 - o)  # dL/da_o: h = o ⊙ tanh(c), σ' = σ(1-σ)
    dc = dc_next + dh * o * (1.0 - tanh_c**2)  # dL/dc_t: from step t+1 and through tanh(c_t)
    if "w_co" in p:
        dc = dc + da_o * p["w_co"]  # ... and through the output peephole
    da_i = dc * g * i * (1.0 - i)  # dL/da_i: c = f ⊙ c_prev + i ⊙ g
    da_f = dc * c_prev * f * (1.0 - f)  # dL/da_f
    da_g = dc * i * (1.0 - g**2)  # dL/da_g, tanh' = 1 - tanh²
    da = np.concatenate([da_i, da_f, da_g, da_o], axis=-1)  # (…, 4H) in PyTorch gate order
    dh_prev = da @ p["weight_hh"]  # dL/dh_{t-1} = W_hhᵀ da
    dc_prev = dc * f  # dL/dc_{t-1} through the forget gate
    if "w_ci" in p:
        dc_prev = dc_prev + da_i * p["w_ci"] + da_f * p["w_cf"]  # ... and through the peepholes
    return dh_prev, dc_prev, da, dc


def forward_sequence(x: np.ndarray, h0: np.ndarray, c0: np.ndarray, p: dict):
    """All T steps, plain LSTM -> (acts (T, …, 4H) in order i, f, o, g; c, tanh_c, h (T, …, H)).

    x (T, I), h0 and c0 (H,); or a batch of sequences side by side, x (T, B, I), h0 and c0
    (B, H) (engine/batch.py). Only W_hh h_{t-1} is sequential. Internally the gates are
    reordered i, f, o, g so the three sigmoids are one block, and σ(a) = ½ tanh(a/2) + ½ lets a
    single tanh call serve all four gates: the sigmoid rows of the weights are halved
    beforehand, which is exact in binary.
    """
    T, batch, H = x.shape[0], h0.shape[:-1], h0.shape[-1]
    order = np.r_[0 : 2 * H, 3 * H : 4 * H, 2 * H : 3 * H]  # PyTorch i, f, g, o -> i, f, o, g
    scale = np.r_[np.full(3 * H, 0.5), np.ones(H)]  # (4H,) halve the sigmoid pre-activations
    W_ih = p["weight_ih"][order] * scale[:, None]  # (4H, I)
    W_hhT = np.ascontiguousarray((p["weight_hh"][order] * scale[:, None]).T)  # (H, 4H)
    acts = project(x, W_ih)  # (T, …, 4H) every input projection at once; overwritten by activations
    acts += (p["bias_ih"] + p["bias_hh"])[order] * scale
    c_all, tanh_c, h_all = (np.empty((T, *batch, H)) for _ in range(3))
    # gates_i[t] views gate i of step t (…, H)
    gates_i, gates_f, gates_o, gates_g = np.moveaxis(acts.reshape(T, *batch, 4, H), -2, 0)
    z = np.empty((*batch, 4 * H))
    ig = np.empty((*batch, H))
    h, c = h0, c0
    for t in range(T):
        a = acts[t]
        np.dot(h, W_hhT, out=z)  # W_hh h_{t-1} (halved rows for σ)
        z += a
        np.tanh(z, out=a)
        s = a[..., : 3 * H]
        s *= 0.5
        s += 0.5  # i, f, o = σ(a)
        i, f, o, g = gates_i[t], gates_f[t], gates_o[t], gates_g[t]
        c_t = c_all[t]
        np.multiply(f, c, out=c_t)
        np.multiply(i, g, out=ig)
        c_t += ig  # c_t = f ⊙ c_{t-1} + i ⊙ g
        tc = tanh_c[t]
        np.tanh(c_t, out=tc)
        h = h_all[t]
        np.multiply(o, tc, out=h)  # h_t = o ⊙ tanh(c_t)
        c = c_t
    return acts, c_all, tanh_c, h_all


def backward_sequence(
    tape: "LSTMTape", dh_ext: np.ndarray, dh_T: np.ndarray, dc_T: np.ndarray, detach_at=()
) -> SequenceGrads:
    """Whole-sequence BPTT, plain LSTM; no gradient flows back out of a step in detach_at.

    Every factor that does not depend on the incoming gradient is computed for all steps first,
    so the loop is: δh, δc, four gate gradients in two products, one matrix-vector product.
    """
    T, H = dh_ext.shape
    i, f, g, o = (tape.gates[k] for k in "ifgo")
    tanh_c, c_prev = tape.tanh_c, tape.c_prev
    # da_{i,f,g} = dc ⊙ P[:, :3];  da_o = δh ⊙ P[:, 3]   (PyTorch order i, f, g, o)
    P = np.empty((T, 4, H))
    P[:, 0] = g * i * (1.0 - i)  # ∂c/∂a_i = g ⊙ σ'(a_i)
    P[:, 1] = c_prev * f * (1.0 - f)  # ∂c/∂a_f = c_{t-1} ⊙ σ'(a_f)
    P[:, 2] = i * (1.0 - g * g)  # ∂c/∂a_g = i ⊙ tanh'(a_g)
    P[:, 3] = tanh_c * o * (1.0 - o)  # ∂h/∂a_o = tanh(c) ⊙ σ'(a_o)
    dh_to_dc = o * (1.0 - tanh_c * tanh_c)  # (T, H) ∂h_t/∂c_t
    f = np.ascontiguousarray(f)  # ∂c_t/∂c_{t-1}
    W_hh = tape.params["weight_hh"]  # (4H, H)
    da = np.empty((T, 4, H))
    da_flat = da.reshape(T, 4 * H)
    dh_tot, dc_tot = np.empty((T, H)), np.empty((T, H))
    cuts = frozenset(detach_at)
    dh_next, dc_next = dh_T.copy(), dc_T.copy()  # gradient from after the sequence
    for t in range(T - 1, -1, -1):
        dh = dh_tot[t]
        np.add(dh_ext[t], dh_next, out=dh)  # δh_t: outside + step t+1
        dc = dc_tot[t]
        np.multiply(dh, dh_to_dc[t], out=dc)
        dc += dc_next  # dL/dc_t: through h_t + from step t+1
        d = da[t]
        np.multiply(P[t, :3], dc, out=d[:3])  # da_i, da_f, da_g
        np.multiply(P[t, 3], dh, out=d[3])  # da_o
        np.dot(da_flat[t], W_hh, out=dh_next)  # dL/dh_{t-1} = W_hhᵀ da_t
        np.multiply(dc, f[t], out=dc_next)  # dL/dc_{t-1} = dc_t ⊙ f_t
        if t in cuts:  # truncated BPTT: (h_{t-1}, c_{t-1}) entered this chunk detached
            dh_next[:] = 0.0
            dc_next[:] = 0.0
    return SequenceGrads(da_flat, da_flat, dh_tot, dc_tot, dh_next, dc_next)


def gradient_flow_sequence(tape: "LSTMTape", dh: np.ndarray) -> np.ndarray:
    """Tape.gradient_flow for a plain LSTM: (T, T) M[t, s] = ||dL_t/dh_s||, every source its
    own row. step_backward's element-wise factors depend on the step, not on the source, so
    they are computed for all steps first and each step back is a few (k, H) products and one
    matrix product:

        dc_t = dc_{t+1}·f_{t+1} + dh_t ⊙ o_t ⊙ (1 - tanh²c_t)
        da_t = [dc_t ⊙ g i (1-i), dc_t ⊙ c_{t-1} f (1-f), dc_t ⊙ i (1-g²), dh_t ⊙ tanh c_t o (1-o)]
        dh_{t-1} = W_hhᵀ da_t
    """
    T, H = dh.shape
    i, f, g, o = (tape.gates[n] for n in ("i", "f", "g", "o"))  # (T, H) each
    tanh_c = tape.tanh_c
    to_c = o * (1.0 - tanh_c**2)  # (T, H) dh_t -> dc_t
    gate_factors = (g * i * (1.0 - i), tape.c_prev * f * (1.0 - f), i * (1.0 - g**2))
    to_a_o = tanh_c * o * (1.0 - o)  # (T, H) dh_t -> da_o
    W = tape.params["weight_hh"]  # (4H, H)
    M = np.zeros((T, T))
    rows_h = np.zeros((T, H))  # row t: dL_t/dh_s while walking back over s
    rows_c = np.zeros((T, H))
    da = np.empty((T, 4 * H))
    for s in range(T - 1, -1, -1):
        rows_h[s] = dh[s]
        rows_c[s] = 0.0
        h_, c_ = rows_h[s:], rows_c[s:]
        M[s:, s] = flow.row_norms(h_)
        if s == 0:
            break
        dc = c_ + h_ * to_c[s]  # (k, H)
        a = da[s:]
        for q, factor in enumerate(gate_factors):
            np.multiply(dc, factor[s], out=a[:, q * H : (q + 1) * H])
        np.multiply(h_, to_a_o[s], out=a[:, 3 * H :])
        np.matmul(a, W, out=h_)
        np.multiply(dc, f[s], out=c_)
    return M


class LSTM(Cell):
    """LSTM cell with PyTorch's parameters and gate order (i, f, g, o).

    ``peephole=True`` adds w_ci, w_cf, w_co (H,): a_i += w_ci ⊙ c_{t-1}, a_f += w_cf ⊙ c_{t-1},
    a_o += w_co ⊙ c_t (Gers & Schmidhuber). PyTorch has no peephole LSTM; this variant is checked
    against finite differences only, and runs the step-by-step (slower) path.
    """

    kind = "lstm"
    n_gates = 4
    gate_names = ("i", "f", "g", "o")
    dgate_names = ("i", "f", "g", "o")
    has_cell_state = True

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        seed: int | None = None,
        peephole: bool = False,
    ):
        self.peephole = bool(peephole)
        super().__init__(input_size, hidden_size, seed)

    def param_shapes(self) -> dict[str, tuple[int, ...]]:
        shapes = super().param_shapes()
        if self.peephole:
            shapes.update({name: (self.hidden_size,) for name in PEEPHOLES})
        return shapes

    @property
    def batchable(self) -> bool:
        """Can forward_arrays run a batch of sequences (engine/batch.py)? Not with peepholes."""
        return not self.peephole

    def forward_arrays(self, x, h0, c0):
        """The plain LSTM's forward_sequence arrays: one sequence, or a batch (T, B, …)."""
        return forward_sequence(x, h0, c0, self.params)

    def tape(self, x, h0, c0, arrays, params=None) -> "LSTMTape":
        """The tape of one sequence from its forward_arrays (params: a snapshot to share)."""
        acts, c, tanh_c, h = arrays
        H = self.hidden_size
        gates = {k: acts[:, j * H : (j + 1) * H] for j, k in enumerate("ifog")}
        gates = {k: gates[k] for k in self.gate_names}  # PyTorch order for the reader
        return LSTMTape(self, x, h0, c0, h, c, gates, tanh_c, params=params)

    def _forward(self, x, h0, c0):
        if not self.peephole:
            return self.tape(x, h0, c0, self.forward_arrays(x, h0, c0))
        T, H = x.shape[0], self.hidden_size
        out = {k: np.empty((T, H)) for k in ("h", "c", "i", "f", "g", "o", "tanh_c")}
        h, c = h0, c0
        for t in range(T):
            h, c, cache = step_forward(x[t], h, c, self.params)
            for k, arr in out.items():
                arr[t] = cache[k]
        gates = {k: out[k] for k in self.gate_names}
        return LSTMTape(self, x, h0, c0, out["h"], out["c"], gates, out["tanh_c"])

    def _step(self, x_t, h, c):
        h, c, cache = step_forward(x_t, h, c, self.params)
        rec = {k: cache[k] for k in ("h", "c", *self.gate_names)}
        rec["gates"] = {k: cache[k] for k in self.gate_names}
        return (h, c), rec


class LSTMTape(Tape):
    def __init__(self, cell: LSTM, x, h0, c0, h, c, gates, tanh_c, params=None):
        super().__init__(cell, x, h0, c0, h, c, gates, params=params)
        self.peephole = cell.peephole
        self.tanh_c = tanh_c  # (T, H) kept for backward

    def backward_sequence(self, dh, dh_T, dc_T, detach_at=()):
        if self.peephole:
            return flow.backward_steps(self, dh, dh_T, dc_T, detach_at)
        return backward_sequence(self, dh, dh_T, dc_T, detach_at)

    def step_backward(self, t, dh, dc):
        cache = {k: self.gates[k][t] for k in self.gate_names}
        cache["tanh_c"] = self.tanh_c[t]
        cache["c_prev"] = self.c[t - 1] if t > 0 else self.c0
        dh_prev, dc_prev, da, dc_tot = step_backward(dh, dc, cache, self.params)
        return StepGrads(dh_prev, dc_prev, da, da, dc_tot)

    def flow_matrix(self, dh):
        if self.peephole:
            return super().flow_matrix(dh)
        return gradient_flow_sequence(self, dh)

    def diagonal_params(self):
        if not self.peephole:
            return {}
        return {"w_ci": (0, self.c_prev), "w_cf": (1, self.c_prev), "w_co": (3, self.c)}
