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
        M[s:, s] = np.linalg.norm(rows_h[s:], axis=1)
        if s == 0:
            break
        dh_prev, dc_prev, *_ = tape._step_backward(s, rows_h[s:], live_c)
        rows_h[s:] = dh_prev
        if lstm:
            rows_c[s:] = dc_prev
    return M
