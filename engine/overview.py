"""The all-cells overview of a trace: a few numbers per layer, direction and step.

A trace carries the full per-step vectors of one cell (its `layer` and `direction`); the page
draws every cell of a stacked or bidirectional network, and colours the others from this
overview (contracts.md section 4, "overview"). Everything is in original time t, every list
indexed [layer][direction][t]; a reverse direction's tape runs backwards, so its rows are
flipped back here.

    forward (after the forward pass):   h_norm       ‖h_t‖
    backward (after BPTT):              dh_norm      ‖dL/dh_t‖, the total
                                        dh_in_norm   ‖the part from outside the cell‖: the
                                                     layer above (or the head), at the same t
                                        dh_next_norm ‖the part from the cell's next step‖:
                                                     t+1 (forward) or t-1 (reverse), through W_hh

dh = dh_in + dh_next (as vectors), so the two arrows the page draws into a cell in the backward
phase carry dh_in_norm (down from above) and dh_next_norm (from the right, or from the left in a
reverse direction). Clipping does not scale these: they are BPTT signals (as `backward[t].dh`).
"""

from __future__ import annotations

import numpy as np

Rows = list[list[list]]  # [layer][direction] -> (T,) list of floats (non-finite: None)


def _norms(a: np.ndarray, reverse: bool) -> list:
    """(T, H) in tape time -> (T,) row norms in original time, as plain floats (None if not
    finite)."""
    n = np.sqrt(np.einsum("th,th->t", a, a))  # (T,)
    if reverse:
        n = n[::-1]
    if np.isfinite(n).all():
        return n.tolist()
    return np.where(np.isfinite(n), n, None).tolist()


def forward_overview(run) -> dict:
    """{"h_norm": [layer][direction][t]} from a model run (engine.model.Run)."""
    return {
        "h_norm": [[_norms(tape.h, d == 1) for d, tape in enumerate(layer)] for layer in run.tapes]
    }


def backward_overview(res) -> dict:
    """{"dh_norm", "dh_in_norm", "dh_next_norm"}: [layer][direction][t] from a run.backward
    result (engine.model.Result)."""
    total, into, nxt = [], [], []
    for layer_grads, layer_in in zip(res.cells, res.dh_in, strict=True):
        total.append([_norms(g.dh, d == 1) for d, g in enumerate(layer_grads)])
        into.append([_norms(dh_in, d == 1) for d, dh_in in enumerate(layer_in)])
        nxt.append(
            [
                _norms(g.dh - dh_in, d == 1)
                for d, (g, dh_in) in enumerate(zip(layer_grads, layer_in, strict=True))
            ]
        )
    return {"dh_norm": total, "dh_in_norm": into, "dh_next_norm": nxt}


def live_h_norms(rec: dict) -> list[list]:
    """One model.step record -> [layer][0] ‖h_t‖: the overview's column for a live step."""
    return [[float(np.sqrt(np.dot(r["h"], r["h"])))] for [r] in rec["layers"]]
