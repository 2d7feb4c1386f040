"""Grads: the result of one BPTT pass, with each step's share of every parameter gradient.

Every weight gradient is a sum over steps of outer products,

    dW_ih = Σ_t da_t ⊗ x_t        dW_hh = Σ_t da_t^hh ⊗ h_{t-1}        db = Σ_t da_t

where da_t (G,) is dL/d(pre-activations) at step t (for GRU the hidden-side n block is r_t ⊙ da_n,
since n reads r ⊙ (W_hn h + b_hn)). Only the factors da_t, x_t, h_{t-1} are kept: memory stays
linear in T, a step's contribution is built on demand, and its norm is ||da_t||·||x_t||
(the Frobenius norm of an outer product is the product of the vector norms).

The cells' backward functions return their results as the two named tuples below.
"""

from typing import NamedTuple

import numpy as np


class StepGrads(NamedTuple):
    """BPTT through one step t for k gradient sources at once (the rows)."""

    dh_prev: np.ndarray  # (k, H) dL/dh_{t-1}
    dc_prev: np.ndarray | None  # (k, H) dL/dc_{t-1} (LSTM; else None)
    dpre_ih: np.ndarray  # (k, G) dL/d(pre-activations), input side
    dpre_hh: np.ndarray  # (k, G) the same, hidden side (differs from dpre_ih only for GRU)
    dc: np.ndarray | None  # (k, H) total dL/dc_t (LSTM; else None)


class SequenceGrads(NamedTuple):
    """BPTT through a whole sequence: what Grads is built from."""

    dpre_ih: np.ndarray  # (T, G) dL/d(pre-activations), input side
    dpre_hh: np.ndarray  # (T, G) the same, hidden side
    dh: np.ndarray  # (T, H) total dL/dh_t
    dc: np.ndarray | None  # (T, H) total dL/dc_t (LSTM; else None)
    dh0: np.ndarray  # (H,) dL/dh0
    dc0: np.ndarray | None  # (H,) dL/dc0 (LSTM; else None)


class Grads:
    """dL/d(everything) from one backward pass.

    params: name -> gradient summed over steps; dx (T, I); dstate: dL/dh0 or (dL/dh0, dL/dc0);
    dh (T, H) total dL/dh_t; dc (T, H) total dL/dc_t (LSTM, else None); dgates: name -> (T, H)
    dL/d(gate pre-activation). The factors of the weight gradients are public too:
    dpre_ih, dpre_hh (T, G), x (T, I), h_prev (T, H).
    """

    def __init__(self, tape, seq: SequenceGrads):
        H = tape.hidden_size
        self.dpre_ih = seq.dpre_ih  # (T, G) dL/d(pre-activation), input side
        self.dpre_hh = seq.dpre_hh  # (T, G) the same for the hidden side (differs only for GRU)
        self.x = tape.x  # (T, I)
        self.h_prev = tape.h_prev  # (T, H)
        self._diagonal = tape.diagonal_params()  # peephole: name -> (gate, multiplier (T, H))
        self._H = H
        self.dh = seq.dh
        self.dc = seq.dc
        self.dstate = seq.dh0 if seq.dc0 is None else (seq.dh0, seq.dc0)
        self.dgates = {
            name: seq.dpre_ih[:, k * H : (k + 1) * H] for k, name in enumerate(tape.dgate_names)
        }
        self.params = {
            "weight_ih": self.dpre_ih.T @ self.x,  # Σ_t da_t ⊗ x_t, one matrix product
            "weight_hh": self.dpre_hh.T @ self.h_prev,  # Σ_t da_t^hh ⊗ h_{t-1}
            "bias_ih": self.dpre_ih.sum(axis=0),
            "bias_hh": self.dpre_hh.sum(axis=0),
        }
        for name, (k, mult) in self._diagonal.items():
            self.params[name] = np.einsum("th,th->h", self._gate(k), mult)
        self.dx = self.dpre_ih @ tape.params["weight_ih"]  # (T, I) dL/dx_t

    def _gate(self, k: int) -> np.ndarray:
        return self.dpre_ih[:, k * self._H : (k + 1) * self._H]

    @property
    def T(self) -> int:
        return self.x.shape[0]

    def contribution(self, t: int) -> dict[str, np.ndarray]:
        """Step t's share of each parameter gradient (summing over t gives ``params``)."""
        T = self.T
        if not -T <= t < T:
            raise IndexError(f"step {t} out of range for T={T}")
        out = {
            "weight_ih": np.outer(self.dpre_ih[t], self.x[t]),
            "weight_hh": np.outer(self.dpre_hh[t], self.h_prev[t]),
            "bias_ih": self.dpre_ih[t].copy(),
            "bias_hh": self.dpre_hh[t].copy(),
        }
        for name, (k, mult) in self._diagonal.items():
            out[name] = self._gate(k)[t] * mult[t]
        return out

    def contribution_norms(self) -> dict[str, np.ndarray]:
        """name -> (T,) Frobenius norm of each step's contribution, without forming it."""
        n_ih = np.linalg.norm(self.dpre_ih, axis=1)  # (T,)
        n_hh = np.linalg.norm(self.dpre_hh, axis=1)  # (T,)
        out = {
            "weight_ih": n_ih * np.linalg.norm(self.x, axis=1),  # ||a ⊗ b|| = ||a||·||b||
            "weight_hh": n_hh * np.linalg.norm(self.h_prev, axis=1),
            "bias_ih": n_ih,
            "bias_hh": n_hh,
        }
        for name, (k, mult) in self._diagonal.items():
            out[name] = np.linalg.norm(self._gate(k) * mult, axis=1)
        return out
