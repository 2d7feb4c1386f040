"""BPTT one step at a time with the cells' readable step functions: plain and many sources.

``backward_steps`` is whole-sequence BPTT (optionally cut at chunk starts) through each cell's
``step_backward``; it is what the peephole LSTM runs, and the slow twin the tests hold each
cell's fast loop against. ``gradient_flow`` follows every step's gradient on its own: all the
sources alive at a step travel together as the rows of one (k, H) matrix, so each step is one
matrix product and the Python loop runs T times. (The plain LSTM has a faster one of its own,
in engine/cells/lstm.py.)
"""

import numpy as np

from engine.cells.grads import SequenceGrads


def backward_steps(tape, dh: np.ndarray, dh_T, dc_T, detach_at=()) -> SequenceGrads:
    """BPTT from T-1 down to 0, one ``tape.step_backward`` per step.

    dh (T, H): dL/dh_t from outside the cell; dh_T, dc_T: dL/d(final state). For s in
    `detach_at` the state entering step s is detached: nothing flows from step s into s-1.
    """
    T, H = dh.shape
    lstm = dc_T is not None
    cuts = frozenset(detach_at)
    dh_next = dh_T[None].copy()  # (1, H) dL/dh_t arriving from step t+1
    dc_next = dc_T[None].copy() if lstm else None
    dpre_ih = dpre_hh = None
    dh_tot = np.empty((T, H))
    dc_tot = np.empty((T, H)) if lstm else None
    for t in range(T - 1, -1, -1):
        dh_tot[t] = dh[t] + dh_next[0]  # δh_t: from outside + from step t+1
        step = tape.step_backward(t, dh_tot[t][None], dc_next)
        if dpre_ih is None:
            G = step.dpre_ih.shape[1]
            dpre_ih, dpre_hh = np.empty((T, G)), np.empty((T, G))
        dpre_ih[t], dpre_hh[t] = step.dpre_ih[0], step.dpre_hh[0]
        dh_next, dc_next = step.dh_prev, step.dc_prev
        if lstm:
            dc_tot[t] = step.dc[0]
        if t in cuts:  # a chunk starts here: its incoming state is detached
            dh_next = np.zeros_like(dh_next)
            dc_next = np.zeros_like(dc_next) if lstm else None
    return SequenceGrads(dpre_ih, dpre_hh, dh_tot, dc_tot, dh_next[0], dc_next[0] if lstm else None)


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
        M[s:, s] = row_norms(rows_h[s:])
        if s == 0:
            break
        step = tape.step_backward(s, rows_h[s:], live_c)
        rows_h[s:] = step.dh_prev
        if lstm:
            rows_c[s:] = step.dc_prev
    return M


def row_norms(a: np.ndarray) -> np.ndarray:
    """(k,) Euclidean norm of each row of a (k, H)."""
    return np.sqrt(np.einsum("kh,kh->k", a, a))
