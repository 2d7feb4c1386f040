"""The backward half of a trace (contracts.md section 4): BPTT from a build_forward result.

``build_backward(fwd)`` runs the model's BPTT from the forward pass engine/trace.py kept, and
writes, for the trace's layer and direction, each step's gradients (dh, dc, dgates), what the
cell diagram shows (the gradient entering h_t, what step t sends back, dL/dx_t), each step's
parameter-gradient shares and the running norm of dW_hh, and the whole model's overview.
engine/trace.py's docstring has the conventions (clipping, the reverse direction, truncation).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from engine import layers, overview
from engine.cells import truncated_bptt
from engine.cells.sent_back import cut, sent_back
from engine.trace_values import Rows, floats, frobenius, number, reads_one_hot, row_norms

if TYPE_CHECKING:
    from engine.trace import Forward


def running_norms(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(T,) ||Σ_{s >= t} a_s ⊗ b_s|| for a (T, G), b (T, H): the running weight_hh gradient.

    One (G, H) sum is kept and each step's outer product added to it, from the last step down
    (the plain loop's order, so the same sums): it stays in cache, where stacking every step's
    (G, H) product first (T·G·H numbers) did not, and took twice as long.
    """
    T, G = a.shape
    H = b.shape[1]
    out = np.empty(T)
    S = np.zeros((G, H))  # Σ_{s >= t} a_s ⊗ b_s
    c = np.empty((G, H))
    flat = S.reshape(-1)
    for t in range(T - 1, -1, -1):
        np.multiply(a[t][:, None], b[t], out=c)  # step t's contribution
        S += c
        out[t] = np.dot(flat, flat)
    return np.sqrt(out)


def build_backward(fwd: Forward, rows: Rows | None = None) -> dict:
    """BPTT for a build_forward result: {"backward", "grad_norms", "global_norm", "clipped",
    "grad_flow", "overview_backward"}; `rows` cuts the per-step vectors (see the module's
    docstring)."""
    layer, direction, truncate = fwd.layer, fwd.direction, fwd.truncate
    rows = rows or floats
    run = fwd.run
    T = run.x.shape[0]
    mode = fwd.truncate_mode
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        res = run.backward(fwd.targets, truncate=truncate, clip=fwd.clip, truncate_mode=mode)
        flow_matrix = None
        if fwd.flow:
            flow_matrix = run.tapes[layer][direction].gradient_flow(
                res.dh_in[layer][direction],
                truncate=truncate,
                truncate_mode=mode,
                first_chunk=layers.first_chunk(T, truncate, direction),
            )
        g = res.cells[layer][direction]
        scale = res.clip_scale
        order = fwd.order()
        dh = rows(g.dh[order])
        dh_norm = floats(row_norms(g.dh)[order])
        dc = None if g.dc is None else rows(g.dc[order])
        dgates = {n: rows(v[order]) for n, v in g.dgates.items()}
        contrib = {n: floats(v[order] * scale) for n, v in g.contribution_norms().items()}
        # step s's weight_hh share is dpre_hh[s] ⊗ h_prev[s] (GRU: r ⊙ da_n on the n block)
        running = floats(running_norms(g.dpre_hh, g.h_prev)[order] * scale)
        grad_norms = {n: number(frobenius(v) * scale) for n, v in g.params.items()}
        sends = diagram_sends(fwd, g, res.dh_in[layer][direction], rows)
        grads_overview = overview.backward_overview(res)
        grad_flow = None
        if flow_matrix is not None:
            grad_flow = rows(flow_matrix[::-1, ::-1] if direction == 1 else flow_matrix)
    backward = []
    for t in range(T):
        frame = {"t": t, "dh": dh[t], "dh_norm": dh_norm[t]}
        if dc is not None:
            frame["dc"] = dc[t]
        frame["dgates"] = {n: v[t] for n, v in dgates.items()}
        for name, col in sends.items():
            frame[name] = col[t]
        frame["contrib_norms"] = {n: v[t] for n, v in contrib.items()}
        frame["dW_hh_running_norm"] = running[t]
        backward.append(frame)
    return {
        "backward": backward,
        "grad_norms": grad_norms,
        "global_norm": number(res.global_norm),
        "clipped": bool(res.clipped),
        "grad_flow": grad_flow,
        "overview_backward": grads_overview,
    }


def diagram_sends(fwd: Forward, g, dh_in: np.ndarray, rows: Rows) -> dict[str, list]:
    """backward[t]'s cell-diagram fields: the gradient entering h_t from outside, what step t
    sends back to the previous state (engine/cells/sent_back.py; zero at a chunk start, null
    under a sliding window, where each loss's window ends elsewhere), and dL/dx_t."""
    tape = fwd.run.tapes[fwd.layer][fwd.direction]
    order = fwd.order()
    T = len(order)
    k, mode = fwd.truncate, fwd.truncate_mode
    dh_prev, dc_prev = sent_back(tape, g)
    if k is not None and k < T and mode == "chunked":
        first = layers.first_chunk(T, k, fwd.direction)
        starts = [a for a, _ in truncated_bptt.chunks(T, k, first)[1:]]
        dh_prev, dc_prev = cut(dh_prev, starts), cut(dc_prev, starts)
    sliding = k is not None and k < T and mode == "sliding"
    out = {"dh_in": rows(dh_in[order])}
    out["dh_prev"] = [None] * T if sliding else rows(dh_prev[order])
    if dc_prev is not None:
        out["dc_prev"] = [None] * T if sliding else rows(dc_prev[order])
    if not reads_one_hot(fwd.model, fwd.layer):
        out["dx"] = rows(g.dx[order])
    out["dx_norm"] = floats(row_norms(g.dx)[order])
    return out
