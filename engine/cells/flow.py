"""BPTT one step at a time, for many gradient sources at once: truncation and gradient flow.

Backpropagation is linear in the gradient that enters, so the gradient that enters at step t can
be followed on its own. Following every source separately costs T·k step-backwards; here all the
sources alive at a step travel together as the rows of one (k, H) matrix, so each step is one
matrix product and the Python loop runs T times.

Both functions use the cell's readable ``_step_backward`` (the pure step functions), not the fast
whole-sequence loop, so they also check one against the other in the tests.
"""

import numpy as np


def backward_by_steps(tape, dh: np.ndarray, dh_T, dc_T, window: int):
    """Truncated BPTT: the gradient entering at step t flows back through steps t..t-window+1.

    window >= T is ordinary BPTT (the slow, readable twin of each cell's fast loop).

    Returns the same tuple as ``tape._backward_full``:
    (dpre_ih (T, G), dpre_hh (T, G), dh (T, H), dc (T, H) or None, dh0, dc0).
    """
    T, H = dh.shape
    # with no truncation all sources share one row: their sum is what flows back
    full = window >= T
    k = 1 if full else window
    lstm = dc_T is not None
    # row (t mod k) carries source t's gradient; sources t > T-1 do not exist and stay zero
    rows_h = np.zeros((k, H))
    rows_c = np.zeros((k, H)) if lstm else None
    dpre_ih = dpre_hh = None
    dh_tot = np.empty((T, H))
    dc_tot = np.empty((T, H)) if lstm else None
    for s in range(T - 1, -1, -1):
        slot = s % k
        if full:
            rows_h[0] += dh[s] + (dh_T if s == T - 1 else 0.0)
            if lstm and s == T - 1:
                rows_c[0] += dc_T
        else:
            # source s+k ran out after step s+1; source s enters in its place
            rows_h[slot] = dh[s] + (dh_T if s == T - 1 else 0.0)
            if lstm:
                rows_c[slot] = dc_T if s == T - 1 else 0.0
        dh_tot[s] = rows_h.sum(axis=0)
        rows_h, rows_c, d_ih, d_hh, dc_s = tape._step_backward(s, rows_h, rows_c)
        if dpre_ih is None:
            G = d_ih.shape[1]
            dpre_ih, dpre_hh = np.empty((T, G)), np.empty((T, G))
        dpre_ih[s] = d_ih.sum(axis=0)
        dpre_hh[s] = d_hh.sum(axis=0)
        if lstm:
            dc_tot[s] = dc_s.sum(axis=0)
    # the rows left are sources 0..k-1, exactly those whose window contains step 0
    dh0 = rows_h.sum(axis=0)
    dc0 = rows_c.sum(axis=0) if lstm else None
    return dpre_ih, dpre_hh, dh_tot, dc_tot, dh0, dc0


def gradient_flow(tape, dh: np.ndarray) -> np.ndarray:
    """(T, T) M[t, s] = ||dL_t/dh_s|| (s <= t), L_t's gradient entering at h_t as dh[t].

    For LSTM the gradient travels through both h and c; M reports the h part.
    """
    if tape.kind == "lstm" and not tape.peephole:
        return _lstm_gradient_flow(tape, dh)
    T, H = dh.shape
    lstm = tape.c is not None
    M = np.zeros((T, T))
    rows_h = np.zeros((T, H))  # row t: dL_t/dh_s while walking back over s
    rows_c = np.zeros((T, H)) if lstm else None
    for s in range(T - 1, -1, -1):
        rows_h[s] = dh[s]
        live_c = None
        if lstm:
            rows_c[s] = 0.0
            live_c = rows_c[s:]
        M[s:, s] = _row_norms(rows_h[s:])
        if s == 0:
            break
        dh_prev, dc_prev, *_ = tape._step_backward(s, rows_h[s:], live_c)
        rows_h[s:] = dh_prev
        if lstm:
            rows_c[s:] = dc_prev
    return M


def _row_norms(a: np.ndarray) -> np.ndarray:
    return np.sqrt(np.einsum("kh,kh->k", a, a))


def _lstm_gradient_flow(tape, dh: np.ndarray) -> np.ndarray:
    """gradient_flow for a plain LSTM with lstm.step_backward's element-wise factors computed
    for all steps at once (they depend on the step, not on the source), so that each step
    back is a few (k, H) products and one matrix product:

        dc_t = dc_{t+1}·f_{t+1} + dh_t ⊙ o_t ⊙ (1 - tanh²c_t)
        da_t = [dc_t ⊙ g i (1-i), dc_t ⊙ c_{t-1} f (1-f), dc_t ⊙ i (1-g²), dh_t ⊙ tanh c_t o (1-o)]
        dh_{t-1} = da_t W_hh
    """
    T, H = dh.shape
    i, f, g, o = (tape.gates[n] for n in ("i", "f", "g", "o"))  # (T, H) each
    tanh_c = tape._tanh_c
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
        M[s:, s] = _row_norms(h_)
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
