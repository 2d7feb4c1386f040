"""What BPTT through step t sends back to the step before: the cell diagram's backward wires.

Each cell's step_backward (in its own module) ends with the gradient it passes to step t-1;
this module computes the same products for every step at once from a finished backward pass,
so a trace can show them. Shapes: T steps, H hidden size, G = gates·H; all (T, H).

    RNN    dh_{t-1} ← W_hhᵀ da_t                                     (rnn.step_backward)
    LSTM   dh_{t-1} ← W_hhᵀ [da_i, da_f, da_g, da_o]                  (lstm.step_backward)
           dc_{t-1} ← dc_t ⊙ f_t   [+ da_i ⊙ w_ci + da_f ⊙ w_cf]      (peephole)
    GRU    dh_{t-1} ← W_hhᵀ [da_r, da_z, r ⊙ da_n] + δh_t ⊙ z_t       (gru.step_backward)

δh_t, dc_t and da_t are the pass's totals at step t (Grads ``dh``, ``dc``, ``dpre_hh``), so
under full BPTT dh_{t-1} = (gradient from outside at t-1) + dh_prev[t], and for the LSTM
dc_{t-1} = dc_prev[t] + δh_{t-1} ⊙ o ⊙ (1 - tanh² c_{t-1}) [+ da_o ⊙ w_co]. Truncation is
the caller's: at a chunk start nothing is sent (see ``cut``).
"""

import numpy as np

from engine.cells.grads import Grads


def sent_back(tape, grads: Grads) -> tuple[np.ndarray, np.ndarray | None]:
    """(dh_prev (T, H), dc_prev (T, H) or None): row t is what step t sends to step t-1 (row 0
    goes to the initial state), in the tape's own time, before any truncation."""
    p = tape.params
    dh_prev = grads.dpre_hh @ p["weight_hh"]  # (T, G) @ (G, H): W_hhᵀ da_t, every step
    dc_prev = None
    if tape.kind == "gru":
        dh_prev += grads.dh * tape.gates["z"]  # h_t = (1 - z) ⊙ n + z ⊙ h_{t-1}: the z path
    if tape.kind == "lstm":
        dc_prev = grads.dc * tape.gates["f"]  # c_t = f ⊙ c_{t-1} + i ⊙ g
        if "w_ci" in p:
            H = tape.hidden_size
            da_i, da_f = grads.dpre_ih[:, :H], grads.dpre_ih[:, H : 2 * H]
            dc_prev += da_i * p["w_ci"] + da_f * p["w_cf"]  # the peepholes read c_{t-1}
    return dh_prev, dc_prev


def cut(a: np.ndarray | None, starts) -> np.ndarray | None:
    """`a` with the rows of the chunk starts zeroed: chunked truncation sends nothing back
    from a step whose incoming state was detached."""
    if a is None:
        return None
    a = a.copy()
    a[list(starts)] = 0.0
    return a
