"""Stacked and bidirectional plumbing over cell tapes.

Shapes: T steps, I the first layer's input size, H hidden size, D = H (unidirectional) or 2H
(bidirectional), L layers. Layer l's output is layer l+1's input:

    forward direction:  h^f_t = cell_f(x_t, h^f_{t-1}),             t = 0 .. T-1
    reverse direction:  h^r_t = cell_r(x_t, h^r_{t+1}),             t = T-1 .. 0
                        (the reverse cell runs on the reversed sequence; its tape is in its own
                        time, tape step k = original step T-1-k)
    output:             out_t = [h^f_t, h^r_t]   (T, 2H)  concatenated like PyTorch

Backward splits dL/dout_t into the two halves, runs each tape's backward (the reverse half is
flipped into the reverse tape's time), and adds the two grads.dx (flipping the reverse one
back) into dL/dx_t of the layer below.

Truncated BPTT (engine/cells/truncated_bptt.py), chunked: every layer and both directions cut
at the same boundaries of original time, [0, k), [k, 2k), ...: no gradient crosses a boundary
in any cell, while within a chunk it flows up and down the stack freely (PyTorch: detach every
layer's state every k steps). Sliding is defined per loss for one layer only: a stack would
send the layer below a gradient that has already travelled back in the layer above.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.cells import truncated_bptt

Cells = list[list]  # [layer][direction] -> cell
Tapes = list[list]  # [layer][direction] -> tape


def stack_forward(
    cells: Cells, x: np.ndarray, states: list[list]
) -> tuple[Tapes, np.ndarray, list[list]]:
    """Run all layers. x (T, I) -> tapes, top output (T, D), final states [layer][direction]."""
    tapes: Tapes = []
    finals: list[list] = []
    layer_in = x  # (T, I) then (T, D)
    for li, layer in enumerate(cells):
        fwd = layer[0].forward(layer_in, states[li][0])
        outs = [fwd.h]  # (T, H)
        layer_tapes = [fwd]
        if len(layer) == 2:
            rev = layer[1].forward(layer_in[::-1].copy(), states[li][1])
            outs.append(rev.h[::-1])  # back to original time
            layer_tapes.append(rev)
        tapes.append(layer_tapes)
        finals.append([t.final_state for t in layer_tapes])
        layer_in = np.concatenate(outs, axis=1) if len(outs) == 2 else outs[0]
    return tapes, layer_in, finals


@dataclass
class StackGrads:
    cells: list[list]  # [layer][direction] -> cell Grads
    dh_in: list[list]  # [layer][direction] -> (T, H) gradient entering h from outside the cell
    dx: np.ndarray  # (T, I) gradient w.r.t. the first layer's input
    dstate: list[list]  # [layer][direction] -> gradient w.r.t. the initial state


def stack_backward(
    tapes: Tapes,
    dtop: np.ndarray,
    truncate: int | None = None,
    dfinal: list[list] | None = None,
    truncate_mode: str = "chunked",
) -> StackGrads:
    """Backward through all layers. dtop (T, D) = dL/d(top output); dfinal: dL/d(final states).

    truncate=k, truncate_mode: truncated BPTT in every cell (see the module docstring)."""
    L = len(tapes)
    T = dtop.shape[0]
    k = truncated_bptt.check(truncate, truncate_mode)
    if k is not None and truncate_mode == "sliding" and L > 1 and k < T:
        raise ValueError(
            "sliding-window truncation is defined for one layer; a stacked model truncates in "
            "chunks (truncate_mode='chunked')"
        )
    cells: list[list] = [None] * L  # type: ignore[list-item]
    dh_in: list[list] = [None] * L  # type: ignore[list-item]
    dstate: list[list] = [None] * L  # type: ignore[list-item]
    d_out = dtop  # (T, D) gradient w.r.t. this layer's output
    for li in range(L - 1, -1, -1):
        layer = tapes[li]
        H = layer[0].h.shape[1]
        ext = [d_out[:, :H]]  # forward half, original time
        if len(layer) == 2:
            ext.append(d_out[:, H:][::-1].copy())  # reverse half, in the reverse tape's time
        grads = [
            tape.backward(
                np.ascontiguousarray(e),
                dstate=None if dfinal is None else dfinal[li][d],
                truncate=k,
                truncate_mode=truncate_mode,
                first_chunk=first_chunk(T, k, d),
            )
            for d, (tape, e) in enumerate(zip(layer, ext, strict=True))
        ]
        d_in = grads[0].dx
        if len(layer) == 2:
            d_in = d_in + grads[1].dx[::-1]  # both directions read the same x_t
        cells[li], dh_in[li] = grads, ext
        dstate[li] = [g.dstate for g in grads]
        d_out = d_in
    return StackGrads(cells=cells, dh_in=dh_in, dx=d_out, dstate=dstate)


def first_chunk(T: int, k: int | None, direction: int) -> int | None:
    """The first chunk's length in direction's own time (None: k), so that the reverse
    direction's chunks fall on the forward direction's boundaries."""
    if k is None or direction == 0:
        return None
    return truncated_bptt.reverse_first_chunk(T, k)
