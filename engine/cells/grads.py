"""Grads: the result of one BPTT pass, with each step's share of every parameter gradient.

Every weight gradient is a sum over steps of outer products,

    dW_ih = Σ_t da_t ⊗ x_t        dW_hh = Σ_t da_t^hh ⊗ h_{t-1}        db = Σ_t da_t

where da_t (G,) is dL/d(pre-activations) at step t (for GRU the hidden-side n block is r_t ⊙ da_n,
since n reads r ⊙ (W_hn h + b_hn)). Only the factors da_t, x_t, h_{t-1} are kept: memory stays
linear in T, a step's contribution is built on demand, and its norm is ||da_t||·||x_t||
(the Frobenius norm of an outer product is the product of the vector norms).
"""

import numpy as np


class Grads:
    """dL/d(everything) from one backward pass.

    params: name -> gradient summed over steps; dx (T, I); dstate: dL/dh0 or (dL/dh0, dL/dc0);
    dh (T, H) total dL/dh_t; dc (T, H) total dL/dc_t (LSTM, else None); dgates: name -> (T, H)
    dL/d(gate pre-activation).
    """

    def __init__(self, tape, dpre_ih, dpre_hh, dh, dc, dh0, dc0):
        H = tape.hidden_size
        self._dpre_ih = dpre_ih  # (T, G) dL/d(pre-activation), input side
        self._dpre_hh = dpre_hh  # (T, G) the same for the hidden side (differs only for GRU)
        self._x = tape.x  # (T, I)
        self._h_prev = tape.h_prev  # (T, H)
        self._diagonal = tape._diagonal_params()  # peephole: name -> (gate, multiplier (T, H))
        self._H = H
        self.dh = dh
        self.dc = dc
        self.dstate = dh0 if dc0 is None else (dh0, dc0)
        self.dgates = {
            name: dpre_ih[:, k * H : (k + 1) * H] for k, name in enumerate(tape.dgate_names)
        }
        self.params = {
            "weight_ih": dpre_ih.T @ self._x,  # Σ_t da_t ⊗ x_t, one matrix product
            "weight_hh": dpre_hh.T @ self._h_prev,  # Σ_t da_t^hh ⊗ h_{t-1}
            "bias_ih": dpre_ih.sum(axis=0),
            "bias_hh": dpre_hh.sum(axis=0),
        }
        for name, (k, mult) in self._diagonal.items():
            self.params[name] = np.einsum("th,th->h", self._gate(k), mult)
        self.dx = dpre_ih @ tape.params["weight_ih"]  # (T, I) dL/dx_t

    def _gate(self, k: int) -> np.ndarray:
        return self._dpre_ih[:, k * self._H : (k + 1) * self._H]

    @property
    def T(self) -> int:
        return self._x.shape[0]

    def contribution(self, t: int) -> dict[str, np.ndarray]:
        """Step t's share of each parameter gradient (summing over t gives ``params``)."""
        T = self.T
        if not -T <= t < T:
            raise IndexError(f"step {t} out of range for T={T}")
        out = {
            "weight_ih": np.outer(self._dpre_ih[t], self._x[t]),
            "weight_hh": np.outer(self._dpre_hh[t], self._h_prev[t]),
            "bias_ih": self._dpre_ih[t].copy(),
            "bias_hh": self._dpre_hh[t].copy(),
        }
        for name, (k, mult) in self._diagonal.items():
            out[name] = self._gate(k)[t] * mult[t]
        return out

    def contribution_norms(self) -> dict[str, np.ndarray]:
        """name -> (T,) Frobenius norm of each step's contribution, without forming it."""
        n_ih = np.linalg.norm(self._dpre_ih, axis=1)  # (T,)
        n_hh = np.linalg.norm(self._dpre_hh, axis=1)  # (T,)
        out = {
            "weight_ih": n_ih * np.linalg.norm(self._x, axis=1),  # ||a ⊗ b|| = ||a||·||b||
            "weight_hh": n_hh * np.linalg.norm(self._h_prev, axis=1),
            "bias_ih": n_ih,
            "bias_hh": n_hh,
        }
        for name, (k, mult) in self._diagonal.items():
            out[name] = np.linalg.norm(self._gate(k) * mult, axis=1)
        return out
