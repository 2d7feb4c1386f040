"""Finite-difference checks of the gradients the trace reports.

Hidden state (quantity "h"): the analytic value is the trace's total dL/dh_t[u] (the backward
records' ``dh`` of the chosen layer/direction at step t, same targets (engine/targets.py) and
truncation as engine.trace.build_trace). The numeric value nudges that one number *after* step
t has computed it and reruns everything downstream of it, with the engine's own cells and head:

    numeric = (L(h_t[u] + ε) − L(h_t[u] − ε)) / 2ε

"Downstream" is the layer above (or the head) at step t and the recurrence from t+1 on (s < t
for the reverse direction); the LSTM's c_t is left as it was. Quantity "c" (LSTM) nudges c_t[u]
before h_t = o_t ⊙ tanh(c_t) reads it, which is what the total dL/dc_t of the backward records
measures (through h_t, the output peephole if any, and c_{t+1}).

Parameters: the analytic value is ``run.backward(...).params[name][index]`` and the numeric one
nudges that weight in place and reruns ``model.forward``; the weight is restored bit for bit.

rel_error = |a − n| / max(|a|, |n|, 1e-8): relative where the gradient is visible, absolute
below 1e-8, so a unit that does not touch the loss (both values ~0, the difference rounding
noise) does not show as a failure. ε = 1e-5 (about the cube root of float64's machine epsilon)
balances the central difference's O(ε²) error against rounding in L (~1e-16·|L|/ε); the two
then usually agree to 1e-7 or better.
"""

from __future__ import annotations

import numpy as np

from engine import heads
from engine.model import SequenceModel
from engine.targets import targets_for
from engine.trace import checked_layer

REL_FLOOR = 1e-8  # below this the error is absolute (see the module docstring)


def rel_error(a: float, n: float) -> float:
    """|a − n| / max(|a|, |n|, REL_FLOOR)."""
    return float(abs(a - n) / max(abs(a), abs(n), REL_FLOOR))


def _loss(model: SequenceModel, outputs: np.ndarray, targets: np.ndarray) -> float:
    """The model's loss, for ce written so that a loss near 0 keeps its relative precision."""
    if model.config.loss != "ce":
        return float(heads.loss_forward(model.config.loss, outputs, targets).sum())
    # -log p_k = m + log(1 + sum_{j != argmax} e^{z_j - m}) - z_k with m = max z: log1p, unlike
    # log(sum e^{z_j - m}) ~ log(1.00001), does not round away a confident model's tiny loss
    # (and with it the finite difference of a well-trained classifier).
    has = targets >= 0
    z = outputs[has]  # (n, O)
    top = z.argmax(axis=1)
    m = z[np.arange(len(z)), top]
    e = np.exp(z - m[:, None])
    e[np.arange(len(z)), top] = 0.0
    k = targets[has]
    return float((m - z[np.arange(len(z)), k] + np.log1p(e.sum(axis=1))).sum())


def _notes(truncate: int | None, mode: str, clip: float | None, T: int, what: str) -> list[str]:
    notes = []
    if truncate is not None and truncate < T:
        rule = (
            f"no gradient crosses the chunk boundaries every {truncate} steps"
            if mode == "chunked"
            else f"each loss's gradient stops {truncate} steps back"
        )
        notes.append(
            f"truncate={truncate} ({mode}): the analytic value is the truncated-BPTT gradient "
            f"({rule}), which deliberately leaves out the paths across the cut; the finite "
            f"difference is the true derivative, so they differ unless k >= T ({T})."
        )
    if clip is not None:
        if what == "param":
            notes.append(
                f"clip={clip}: the analytic value is after global-norm clipping (scaled when the "
                "norm exceeds clip); the finite difference is the unclipped derivative."
            )
        else:
            notes.append(
                f"clip={clip}: global-norm clipping rescales the parameter gradients after BPTT; "
                "it does not change dh or dc, so it does not affect this check."
            )
    return notes


def _result(quantity: str, a: float, lp: float, lm: float, eps: float, loss: float, notes):
    n = (lp - lm) / (2 * eps)
    out = {
        "quantity": quantity,
        "analytic": float(a),
        "numeric": float(n),
        "rel_error": rel_error(a, n),
        "loss": float(loss),
    }
    if notes:
        out["note"] = " ".join(notes)
    return out


# -- hidden state ----------------------------------------------------------------------------


def _nudge_state(cell, tape, k: int, seq: np.ndarray, unit: int, delta: float, quantity: str):
    """The state after tape step k with h_k[u] (or c_k[u]) moved by delta -> (state, h_k)."""
    h = tape.h[k].copy()  # (H,)
    if cell.kind != "lstm":
        h[unit] += delta
        return h, h.copy()
    c = tape.c[k].copy()
    if quantity == "h":
        h[unit] += delta
        return (h, c), h
    c[unit] += delta
    o = tape.gates["o"][k][unit]
    p = cell.params
    if "w_co" in p:  # the output gate reads c_t: recompute its pre-activation
        H = cell.hidden_size
        r = 3 * H + unit  # row of a_o[u] (gate order i, f, g, o)
        a_o = (
            p["weight_ih"][r] @ seq[k]
            + p["bias_ih"][r]
            + p["weight_hh"][r] @ tape.h_prev[k]
            + p["bias_hh"][r]
            + p["w_co"][unit] * c[unit]
        )
        o = 1.0 / (1.0 + np.exp(-a_o))
    h[unit] = o * np.tanh(c[unit])
    return (h, c), h


def _direction_h(cell, layer_in, state0, k, unit, delta, quantity, reverse):
    """h (T, H) in original time of one direction with the nudge at its own step k."""
    seq = layer_in[::-1].copy() if reverse else layer_in  # (T, I) in the cell's own time
    first = cell.forward(seq[: k + 1], state0)
    state, h_k = _nudge_state(cell, first, k, seq, unit, delta, quantity)
    hs = [first.h[:k], h_k[None]]
    if k + 1 < seq.shape[0]:
        hs.append(cell.forward(seq[k + 1 :], state).h)
    h = np.concatenate(hs)  # (T, H)
    return h[::-1] if reverse else h


def _stack_loss(model, run, targets, layer, direction, t, unit, delta, quantity) -> float:
    """Loss with one hidden (or cell) value nudged, rerun from that point on."""
    T = run.x.shape[0]
    layer_in = run.x  # (T, I), then (T, D)
    for li, cells in enumerate(model.cells):
        outs = []
        for d, cell in enumerate(cells):
            tape = run.tapes[li][d]
            if li < layer or (li == layer and d != direction):
                h = tape.h if d == 0 else tape.h[::-1]  # not downstream: as in the run
            elif li == layer:
                k = t if d == 0 else T - 1 - t
                h = _direction_h(
                    cell, layer_in, run.initial_state[li][d], k, unit, delta, quantity, d == 1
                )
            else:
                seq = layer_in[::-1].copy() if d else layer_in
                h = cell.forward(seq, run.initial_state[li][d]).h
                h = h[::-1] if d else h
            outs.append(h)
        layer_in = np.concatenate(outs, axis=1) if len(outs) == 2 else outs[0]
    W, b = model.params["head.weight"], model.params["head.bias"]
    return _loss(model, heads.linear_forward(layer_in[run.out_idx], W, b), targets)


def _jordan_loss(model, run, targets, t, unit, delta, quantity) -> float:
    """Jordan: y_t feeds step t+1, so the rerun goes one step at a time (as engine.jordan)."""
    cell, cfg = model.cells[0][0], model.config
    W, b = model.params["head.weight"], model.params["head.bias"]
    T, n_in = run.x.shape
    s, y_prev = run.initial_state[0][0], run.initial_state.y
    z = np.zeros((T, W.shape[0]))  # (T, O)
    for step in range(T):
        u = np.concatenate([run.x[step], y_prev])[None]  # (1, I + O)
        tape = cell.forward(u, s)
        s, h = tape.final_state, tape.h[0]
        if step == t:
            s, h = _nudge_state(cell, tape, 0, u, unit, delta, quantity)
        z[step] = heads.linear_forward(h, W, b)
        y_prev = heads.softmax(z[step][None])[0] if cfg.loss == "ce" else z[step]
    return _loss(model, z[run.out_idx], targets)


def check_hidden(
    model: SequenceModel,
    inputs,
    targets,
    t: int,
    unit: int,
    layer: int = -1,
    direction: int = 0,
    state=None,
    truncate: int | None = None,
    eps: float = 1e-5,
    quantity: str = "h",
    clip: float | None = None,
    steps: int | None = None,
    truncate_mode: str = "chunked",
) -> dict:
    """dL/dh_t[unit] (or dL/dc_t[unit], quantity "c") of one layer/direction: the trace's value
    against a central difference. Returns {quantity, analytic, numeric, rel_error, loss[, note]}."""
    cfg = model.config
    layer = checked_layer(model, layer, direction)
    if quantity not in ("h", "c") or (quantity == "c" and cfg.cell != "lstm"):
        raise ValueError('quantity must be "h" (or "c" for an LSTM)')
    if not 0 <= unit < cfg.hidden_size:
        raise ValueError(f"unit must be in 0..{cfg.hidden_size - 1}, got {unit}")
    run = model.forward(inputs, state, steps=steps)
    T = run.x.shape[0]
    if not 0 <= t < T:
        raise ValueError(f"t must be in 0..{T - 1}, got {t}")
    tg = targets_for(model, run, targets)
    res = run.backward(tg, truncate=truncate, clip=clip, truncate_mode=truncate_mode)
    g = res.cells[layer][direction]
    k = t if direction == 0 else T - 1 - t  # the tape's own time
    analytic = (g.dh if quantity == "h" else g.dc)[k, unit]

    def loss_at(delta: float) -> float:
        if cfg.jordan:
            return _jordan_loss(model, run, tg, t, unit, delta, quantity)
        return _stack_loss(model, run, tg, layer, direction, t, unit, delta, quantity)

    name = f"dL/d{quantity}[t={t}, unit={unit}]"
    if cfg.num_layers > 1 or cfg.bidirectional:
        name += f" (layer {layer}{', reverse' if direction else ''})"
    notes = _notes(truncate, truncate_mode, clip, T, "hidden")
    return _result(name, analytic, loss_at(eps), loss_at(-eps), eps, res.loss, notes)


# -- parameters ------------------------------------------------------------------------------


def check_param(
    model: SequenceModel,
    inputs,
    targets,
    name: str,
    index,
    state=None,
    truncate: int | None = None,
    clip: float | None = None,
    eps: float = 1e-5,
    steps: int | None = None,
    truncate_mode: str = "chunked",
) -> dict:
    """dL/d(model.params[name][index]): run.backward's value against a central difference.
    The weight is nudged in place and restored exactly (even if the forward pass raises)."""
    if name not in model.params:
        raise ValueError(f"unknown parameter {name!r}; the model has {', '.join(model.params)}")
    arr = model.params[name]
    index = tuple(int(i) for i in np.atleast_1d(index))
    if len(index) != arr.ndim or not all(0 <= i < n for i, n in zip(index, arr.shape, strict=True)):
        raise ValueError(f"index {list(index)} is outside {name}'s shape {list(arr.shape)}")
    run = model.forward(inputs, state, steps=steps)
    tg = targets_for(model, run, targets)
    res = run.backward(tg, truncate=truncate, clip=clip, truncate_mode=truncate_mode)
    analytic = res.params[name][index]

    old = arr[index].copy()  # a NumPy float64 scalar: writing it back is bit-exact
    try:
        arr[index] = old + eps
        lp = _loss(model, model.forward(inputs, state, steps=steps).outputs, tg)
        arr[index] = old - eps
        lm = _loss(model, model.forward(inputs, state, steps=steps).outputs, tg)
    finally:
        arr[index] = old
    notes = _notes(truncate, truncate_mode, clip, run.x.shape[0], "param")
    label = f"dL/d{name}[{', '.join(map(str, index))}]"
    return _result(label, analytic, lp, lm, eps, res.loss, notes)
