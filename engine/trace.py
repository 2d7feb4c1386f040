"""The trace: one forward and one backward pass as plain data (contracts.md, sections 3 and 4).

``build_forward`` gives the forward half (the per-step frames and the loss), ``build_backward``
the BPTT half from it, so a server can send the first while computing the second;
``build_trace`` is both (the backward half is engine/trace_backward.py, the rules for numbers
and ids engine/trace_values.py). Whole (T, H) arrays are converted to lists at once: the Python
work per step is only cutting the lists into frames.

Everything returned is built from Python lists, floats, ints, bools, strings and None, so the
server can serialise it as is. The per-step vectors (h, c, pre, gates, output, dh, dc, dgates,
and the rows of grad_flow) are cut from whole (T, n) arrays by ``rows``: by default (None) into
lists of floats; a server may pass its own, e.g. one that returns references into a binary
buffer of the raw float64 (server.binary.Packer), with inf/NaN as they are.

The server adds ``model``, ``task``, ``tokens``, ``vocab`` and the token strings (``token`` in
steps and predictions, ``target_token``).

Conventions:
- ``input_ids[t]`` / ``input_index`` is null where the model read the zero vector (a token the
  vocabulary does not know and has no <unk> for, engine.tokenize.NO_TOKEN).
- Non-finite numbers (inf/NaN from exploding weights) become ``null``; the JSON stays valid and
  the page shows the value as missing rather than as a huge finite number.
- Default targets: engine/targets.py (a language model's target is the next token; a
  classifier explains its own predicted label); many-to-one takes ``targets=[label]`` (or just
  ``label``).
- ``clip`` rescales the parameter gradients as torch.nn.utils.clip_grad_norm_ does after BPTT,
  by min(1, clip / (global_norm + 1e-6)) (engine/optim.py): the reported ``grad_norms``,
  ``contrib_norms`` and ``dW_hh_running_norm`` are scaled by the same factor, while ``dh``,
  ``dc`` and ``dgates`` are the BPTT signals, which clipping does not touch. ``global_norm`` is
  the norm of all parameter gradients before clipping.
- For the reverse direction of a bidirectional layer, steps are still indexed by original time
  t; its backward runs from t = 0 up, so ``dW_hh_running_norm[t]`` sums the contributions of the
  steps it has processed by then (s <= t), and ``grad_flow`` is transposed in time
  (M[t][s] is non-zero for s >= t).
- With ``truncate=k`` (engine/cells/truncated_bptt.py), ``truncation`` says how:
  ``{"k": k, "mode": "chunked", "chunks": [[0, k], [k, 2k], ...]}`` ([start, end) in original
  time, the same for every layer and direction: no gradient crosses a boundary), or
  ``{"k": k, "mode": "sliding", "chunks": null}`` (each loss's gradient flows back k steps, in
  the direction's own time). ``grad_flow`` shows the truncated flow: M[t][s] = 0 wherever the
  truncated BPTT does not carry L_t's gradient to step s. Without truncation it is null.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine import heads, overview
from engine.cells import truncated_bptt
from engine.model import ModelState, SequenceModel
from engine.targets import one_to_many_steps, targets_for
from engine.trace_backward import build_backward
from engine.trace_values import Rows, floats, number, reads_one_hot, shown_id

FLOW_LIMIT = 400


def _tops(P: np.ndarray, k: int) -> list[list[dict]]:
    """The k most likely outputs of every row of P (T_out, O), as _top does for one row."""
    k = max(0, min(int(k), P.shape[1]))
    order = np.argsort(-P, axis=1, kind="stable")[:, :k]  # ties keep the lower index first
    ps = floats(np.take_along_axis(P, order, axis=1))
    return [
        [{"index": i, "p": p} for i, p in zip(row_i, row_p, strict=True)]
        for row_i, row_p in zip(order.tolist(), ps, strict=True)
    ]


def _top(p: np.ndarray, k: int) -> list[dict]:
    k = max(0, min(int(k), p.shape[0]))
    order = np.argsort(-p, kind="stable")[:k]  # ties keep the lower index first
    return [{"index": int(i), "p": number(p[i])} for i in order]


def _cell_frame(rec: dict, gate_names, kind: str) -> dict:
    """h, c, pre, gates of one step from a cell record (arrays (H,))."""
    frame = {"h": floats(rec["h"])}
    if kind == "lstm":
        frame["c"] = floats(rec["c"])
    if kind == "rnn":
        frame["pre"] = floats(rec["pre"])
    gates = rec.get("gates", rec)  # cell records carry the gates under "gates" and at the top
    frame["gates"] = {g: floats(gates[g]) for g in gate_names}
    return frame


def _output_frame(model: SequenceModel, output: np.ndarray, probs, top_k: int) -> dict:
    if model.config.loss == "ce":
        return {"top": _top(probs, top_k)}
    return {"top": None, "output": floats(output)}


@dataclass
class Forward:
    """The forward half of a trace: `head` and `steps` are ready to send; the rest is what
    build_backward needs."""

    head: dict  # the trace fields known after the forward pass (no steps, backward, flow)
    steps: list[dict]  # steps[t], t = 0..T-1
    model: SequenceModel
    run: object  # engine.model.Run
    targets: np.ndarray
    layer: int
    direction: int
    truncate: int | None
    clip: float | None
    flow: bool  # compute grad_flow (asked for and T <= flow_limit)
    truncate_mode: str = "chunked"

    def order(self) -> np.ndarray:
        """(T,) tape time of each original time t (the reverse direction runs backwards)."""
        T = self.run.x.shape[0]
        return np.arange(T) if self.direction == 0 else np.arange(T - 1, -1, -1)


def checked_layer(model: SequenceModel, layer: int, direction: int) -> int:
    """`layer` as 0..L-1 (-1 = the last), after checking it and `direction` against the model."""
    cfg = model.config
    L = cfg.num_layers
    if not -L <= layer < L:
        raise ValueError(f"layer must be in [-{L}, {L}), got {layer}")
    if direction not in range(cfg.num_directions):
        raise ValueError(
            f"direction must be 0{' or 1' if cfg.bidirectional else ''}, got {direction}"
        )
    return layer % L


def build_forward(
    model: SequenceModel,
    ids,
    targets=None,
    state: ModelState | None = None,
    truncate: int | None = None,
    clip: float | None = None,
    layer: int = -1,
    direction: int = 0,
    top_k: int = 5,
    flow: bool = True,
    flow_limit: int = FLOW_LIMIT,
    steps: int | None = None,
    frames: bool = True,
    rows: Rows | None = None,
    truncate_mode: str = "chunked",
    blank: int | None = None,
    run=None,
) -> Forward:
    """The forward pass over `ids`: per-step frames and the loss (build_backward does BPTT).

    frames=False leaves `steps` empty: for a caller that only wants the backward half.
    `rows` cuts the per-step vectors of the frames (see the module's docstring).
    `blank`: a fill-in-the-blank model's blank id, for the default targets (engine/targets.py).
    `run`: model.forward(ids, state, steps) already computed (engine.batch.forward_many).
    """
    cfg = model.config
    L = cfg.num_layers
    layer = checked_layer(model, layer, direction)
    truncate = truncated_bptt.check(truncate, truncate_mode)
    steps = one_to_many_steps(model, targets, steps)
    # exploding weights are something to look at, not an error: their inf/nan become null
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        run = run or model.forward(ids, state, steps=steps)
        T = run.x.shape[0]
        tg = targets_for(model, run, targets, blank)
        losses = heads.loss_forward(cfg.loss, run.outputs, tg)  # (T_out,) as run.backward's
        has = heads.has_target(cfg.loss, tg)  # (T_out,)
        fwd = Forward(
            {}, [], model, run, tg, layer, direction, truncate, clip,
            flow=bool(flow and T <= flow_limit), truncate_mode=truncate_mode,
        )  # fmt: skip
        if frames:
            fwd.steps = _step_frames(fwd, losses, has, top_k, rows or floats)
    tape = run.tapes[layer][direction]
    fwd.head = {
        "cell": cfg.cell,
        "input_ids": None if run.ids is None else [shown_id(i) for i in run.ids.tolist()],
        "vocab_size": cfg.vocab_size,
        "output_size": cfg.output_size,
        "hidden_size": cfg.hidden_size,
        "num_layers": L,
        "bidirectional": cfg.bidirectional,
        "setup": cfg.setup,
        "layer": layer,
        "direction": direction,
        "gate_names": list(tape.gate_names),
        **_cell_details(model, tape),
        "loss": number(losses.sum()),
        "clip": clip,
        "truncate": truncate,
        "truncation": truncation(T, truncate, truncate_mode),
        "jordan": cfg.jordan,
        "peepholes": _peepholes(model, layer, direction, rows or floats),
        "overview": overview.forward_overview(run),
    }
    return fwd


def _cell_details(model: SequenceModel, tape) -> dict:
    """What the cell diagram needs to know about the shown cell: its variant and the state
    before its first step (in its own time: the reverse direction's is before t = T-1)."""
    cfg = model.config
    state0 = {"h": floats(tape.h0)}
    if tape.c0 is not None:
        state0["c"] = floats(tape.c0)
    return {
        "peephole": bool(cfg.cell == "lstm" and cfg.peephole),
        "nonlinearity": cfg.nonlinearity if cfg.cell == "rnn" else None,
        "jordan": bool(cfg.jordan),
        "state0": state0,
    }


def _peepholes(model: SequenceModel, layer: int, direction: int, rows: Rows) -> dict | None:
    """The shown cell's peephole weights w_ci, w_cf, w_co (H,) each; None without peepholes."""
    p = model.cells[layer][direction].params
    if "w_ci" not in p:
        return None
    return {n: rows(p[n][None])[0] for n in ("w_ci", "w_cf", "w_co")}


def truncation(T: int, k: int | None, mode: str) -> dict | None:
    """The trace's ``truncation`` field: k, the mode and the chunks ([start, end), chunked)."""
    if k is None:
        return None
    chunks = truncated_bptt.chunks(T, k) if mode == "chunked" else None
    return {"k": k, "mode": mode, "chunks": None if chunks is None else [list(c) for c in chunks]}


def _step_frames(
    fwd: Forward, losses: np.ndarray, has: np.ndarray, top_k: int, rows: Rows
) -> list[dict]:
    """steps[t]: whole (T, H) arrays are converted at once, then cut into frames."""
    model, run, tg = fwd.model, fwd.run, fwd.targets
    cfg = model.config
    tape = run.tapes[fwd.layer][fwd.direction]
    order = fwd.order()
    T = len(order)
    cols = {"h": rows(tape.h[order])}
    if tape.kind == "lstm":
        cols["c"] = rows(tape.c[order])
    if tape.kind == "rnn":
        cols["pre"] = rows(tape.pre[order])
    if tape.kind == "gru":
        cols["m"] = rows(tape.m[order])  # W_hn h_{t-1} + b_hn, what the reset gate scales
    if not reads_one_hot(model, fwd.layer):
        cols["x"] = rows(tape.x[order])  # the embedding, the input vector or the layer below
    gates = {n: rows(tape.gates[n][order]) for n in tape.gate_names}
    ids = [] if run.ids is None else run.ids.tolist()
    out_at = {int(s): j for j, s in enumerate(run.out_idx)}
    ce = cfg.loss == "ce"
    if ce:
        tops = _tops(run.probs, top_k)
        targets = [int(v) if ok else None for v, ok in zip(tg.tolist(), has, strict=True)]
    else:
        outputs = rows(run.outputs)
        targets = [row if ok else None for row, ok in zip(floats(tg), has, strict=True)]
    step_losses = [v if ok else None for v, ok in zip(floats(losses), has, strict=True)]
    frames = []
    for t in range(T):
        frame = {"t": t, "input_index": shown_id(ids[t]) if t < len(ids) else None}
        for name, col in cols.items():
            frame[name] = col[t]
        frame["gates"] = {n: v[t] for n, v in gates.items()}
        j = out_at.get(t)
        if j is None:
            frame.update(top=None, target=None, loss=None)
            if not ce:
                frame["output"] = None
        else:
            if ce:
                frame["top"] = tops[j]
            else:
                frame.update(top=None, output=outputs[j])
            frame.update(target=targets[j], loss=step_losses[j])
        frames.append(frame)
    return frames


TRACE_FIELDS = (
    *("cell", "input_ids", "vocab_size", "output_size", "hidden_size", "num_layers"),
    *("bidirectional", "setup", "layer", "direction", "gate_names"),
    *("peephole", "nonlinearity", "jordan", "state0", "steps", "loss"),
    *("backward", "grad_norms", "global_norm", "clipped", "clip", "truncate", "truncation"),
    *("grad_flow", "jordan", "peepholes", "overview", "overview_backward"),
)


def build_trace(model: SequenceModel, ids, targets=None, **options) -> dict:
    """Forward + backward over `ids` and the per-step data of one layer/direction.

    options: build_forward's (state, truncate, truncate_mode, clip, layer, direction, top_k,
    flow, flow_limit, steps)."""
    fwd = build_forward(model, ids, targets, **options)
    parts = {**fwd.head, "steps": fwd.steps, **build_backward(fwd)}
    return {k: parts[k] for k in TRACE_FIELDS}


def step_record(
    model: SequenceModel, state: ModelState | None, token_id, top_k: int = 5, layer: int = -1
) -> tuple[ModelState, dict]:
    """One live step via model.step -> (new state, a frame like build_trace's steps[t]).

    The frame has no "t" (the caller knows the position) and no target or loss.
    """
    new_state, rec = model.step(token_id, state)
    frame = {"input_index": shown_id(token_id) if model.config.vocab_size is not None else None}
    frame.update(cell_frame(model, rec, layer))
    frame.update(_output_frame(model, rec["output"], rec.get("probs"), top_k))
    frame.update(target=None, loss=None)
    frame["h_norms"] = overview.live_h_norms(rec)  # every layer's ‖h_t‖, for the overview
    return new_state, frame


def cell_frame(model: SequenceModel, rec: dict, layer: int = -1) -> dict:
    """h (and c, pre), gates of one model.step record at `layer`, as a frame's lists."""
    cell = model.cells[layer][0]
    return _cell_frame(rec["layers"][layer][0], cell.gate_names, cell.kind)
