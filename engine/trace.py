"""The trace: one forward and one backward pass as plain data (contracts.md, sections 3 and 4).

Everything returned is built from Python lists, floats, ints, bools, strings and None, so the
server can serialise it as is. The server adds ``model``, ``task``, ``tokens``, ``vocab`` and the
token strings (``token`` in steps and predictions, ``target_token``).

Conventions:
- Non-finite numbers (inf/NaN from exploding weights) become ``null``; the JSON stays valid and
  the page shows the value as missing rather than as a huge finite number.
- Default targets: for a many-to-many model on token inputs with cross-entropy (a next-token
  language model), the target of step t is input t+1 and the last step has none. Other set-ups
  have no targets (no loss, zero gradients) unless they are given; many-to-one takes
  ``targets=[label]`` (or just ``label``).
- ``clip`` rescales the parameter gradients (PyTorch's clip_grad_norm_ runs after BPTT): the
  reported ``grad_norms``, ``contrib_norms`` and ``dW_hh_running_norm`` are scaled by the same
  factor, while ``dh``, ``dc`` and ``dgates`` are the BPTT signals, which clipping does not touch.
  ``global_norm`` is the norm of all parameter gradients before clipping.
- For the reverse direction of a bidirectional layer, steps are still indexed by original time
  t; its backward runs from t = 0 up, so ``dW_hh_running_norm[t]`` sums the contributions of the
  steps it has processed by then (s <= t), and ``grad_flow`` is transposed in time
  (M[t][s] is non-zero for s >= t).
- With ``truncate=k``, ``grad_flow`` shows the truncated flow: M[t][s] = 0 when t - s >= k (in
  the direction's own time), matching where the cells' truncated BPTT stops.
"""

from __future__ import annotations

import numpy as np

from engine.model import ModelState, SequenceModel

FLOW_LIMIT = 400


def _floats(a) -> list:
    """Array -> nested lists of Python floats, non-finite values as None."""
    a = np.asarray(a, dtype=np.float64)
    if np.isfinite(a).all():
        return a.tolist()
    return np.where(np.isfinite(a), a, None).tolist()


def _num(x) -> float | None:
    x = float(x)
    return x if np.isfinite(x) else None


def _norm(a: np.ndarray) -> float:
    """Frobenius norm; einsum, because np.linalg.norm's BLAS dot is slow on small arrays."""
    a = np.ravel(a)
    return float(np.sqrt(np.einsum("i,i->", a, a)))


def _top(p: np.ndarray, k: int) -> list[dict]:
    k = max(0, min(int(k), p.shape[0]))
    order = np.argsort(-p, kind="stable")[:k]  # ties keep the lower index first
    return [{"index": int(i), "p": _num(p[i])} for i in order]


def default_targets(model: SequenceModel, run) -> np.ndarray:
    """Next-token targets for a many-to-many token LM; otherwise 'no target' everywhere."""
    cfg = model.config
    T_out = len(run.out_idx)
    if cfg.loss == "mse":
        return np.full((T_out, cfg.output_size), np.nan)
    targets = np.full(T_out, -1, dtype=np.int64)
    if cfg.setup == "many-to-many" and run.ids is not None:
        nxt = run.ids[1:]
        ok = nxt < cfg.output_size  # a next token must be a valid class
        targets[:-1] = np.where(ok, nxt, -1)
    return targets


def _as_targets(model: SequenceModel, targets, T_out: int) -> np.ndarray:
    if model.config.loss == "mse":
        t = np.asarray(targets, dtype=np.float64)
        return t.reshape(T_out, model.config.output_size)
    t = np.atleast_1d(np.asarray([-1 if v is None else v for v in np.atleast_1d(targets)]))
    return t.astype(np.int64)


def _cell_frame(rec: dict, gate_names, kind: str) -> dict:
    """h, c, pre, gates of one step from a cell record (arrays (H,))."""
    frame = {"h": _floats(rec["h"])}
    if kind == "lstm":
        frame["c"] = _floats(rec["c"])
    if kind == "rnn":
        frame["pre"] = _floats(rec["pre"])
    gates = rec.get("gates", rec)  # cell records carry the gates under "gates" and at the top
    frame["gates"] = {g: _floats(gates[g]) for g in gate_names}
    return frame


def _output_frame(model: SequenceModel, output: np.ndarray, probs, top_k: int) -> dict:
    if model.config.loss == "ce":
        return {"top": _top(probs, top_k)}
    return {"top": None, "output": _floats(output)}


def build_trace(
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
) -> dict:
    """Forward + backward over `ids` and the per-step data of one layer/direction."""
    cfg = model.config
    L = cfg.num_layers
    if not -L <= layer < L:
        raise ValueError(f"layer must be in [-{L}, {L}), got {layer}")
    layer %= L
    if direction not in range(cfg.num_directions):
        raise ValueError(
            f"direction must be 0{' or 1' if cfg.bidirectional else ''}, got {direction}"
        )
    if steps is None and cfg.setup == "one-to-many" and targets is not None:
        steps = len(targets)
    # exploding weights are something to look at, not an error: their inf/nan become null
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        run = model.forward(ids, state, steps=steps)
        T = run.x.shape[0]
        T_out = len(run.out_idx)
        tg = default_targets(model, run) if targets is None else _as_targets(model, targets, T_out)
        res = run.backward(tg, truncate=truncate, clip=clip)
        flow_matrix = None
        if flow and T <= flow_limit:
            flow_matrix = run.tapes[layer][direction].gradient_flow(res.dh_in[layer][direction])
            if truncate is not None:
                # truncated BPTT: L_t's gradient reaches h_s only for t - s < truncate
                lag = np.subtract.outer(np.arange(T), np.arange(T))  # t - s
                flow_matrix[lag >= truncate] = 0.0

    tape = run.tapes[layer][direction]
    g = res.cells[layer][direction]

    def k(t: int) -> int:  # original time -> the tape's own time
        return t if direction == 0 else T - 1 - t

    # -- forward frames -------------------------------------------------------------------
    out_at = {int(s): j for j, s in enumerate(run.out_idx)}
    step_frames = []
    for t in range(T):
        rec = {"h": tape.h[k(t)]}
        if tape.c is not None:
            rec["c"] = tape.c[k(t)]
        if tape.pre is not None:
            rec["pre"] = tape.pre[k(t)]
        rec.update({n: tape.gates[n][k(t)] for n in tape.gate_names})
        frame = {"t": t, "input_index": None}
        if run.ids is not None and t < len(run.ids):
            frame["input_index"] = int(run.ids[t])
        frame.update(_cell_frame(rec, tape.gate_names, tape.kind))
        j = out_at.get(t)
        if j is None:
            frame.update(top=None, target=None, loss=None)
            if cfg.loss == "mse":
                frame["output"] = None
        else:
            probs = None if run.probs is None else run.probs[j]
            frame.update(_output_frame(model, run.outputs[j], probs, top_k))
            has = tg[j] >= 0 if cfg.loss == "ce" else not np.isnan(tg[j]).any()
            if cfg.loss == "ce":
                frame["target"] = int(tg[j]) if has else None
            else:
                frame["target"] = _floats(tg[j]) if has else None
            frame["loss"] = _num(res.losses[j]) if has else None
        step_frames.append(frame)

    # -- backward frames ------------------------------------------------------------------
    scale = res.clip_scale
    norms = g.contribution_norms()  # name -> (T,) in tape time
    running = np.zeros(T)  # in tape time: ||sum_{s >= k} contribution_s(weight_hh)||
    acc = None
    for s in range(T - 1, -1, -1):
        c = g.contribution(s)["weight_hh"]
        acc = c.copy() if acc is None else acc + c
        running[s] = _norm(acc)
    backward = []
    for t in range(T):
        s = k(t)
        frame = {"t": t, "dh": _floats(g.dh[s]), "dh_norm": _num(_norm(g.dh[s]))}
        if g.dc is not None:
            frame["dc"] = _floats(g.dc[s])
        frame["dgates"] = {n: _floats(v[s]) for n, v in g.dgates.items()}
        frame["contrib_norms"] = {n: _num(v[s] * scale) for n, v in norms.items()}
        frame["dW_hh_running_norm"] = _num(running[s] * scale)
        backward.append(frame)

    grad_flow = None
    if flow_matrix is not None:
        grad_flow = _floats(flow_matrix[::-1, ::-1] if direction == 1 else flow_matrix)

    return {
        "cell": cfg.cell,
        "input_ids": None if run.ids is None else [int(i) for i in run.ids],
        "vocab_size": cfg.vocab_size,
        "output_size": cfg.output_size,
        "hidden_size": cfg.hidden_size,
        "num_layers": L,
        "bidirectional": cfg.bidirectional,
        "setup": cfg.setup,
        "layer": layer,
        "direction": direction,
        "gate_names": list(tape.gate_names),
        "steps": step_frames,
        "loss": _num(res.loss),
        "backward": backward,
        "grad_norms": {n: _num(_norm(v) * scale) for n, v in g.params.items()},
        "global_norm": _num(res.global_norm),
        "clipped": bool(res.clipped),
        "clip": clip,
        "truncate": truncate,
        "grad_flow": grad_flow,
    }


def step_record(
    model: SequenceModel, state: ModelState | None, token_id, top_k: int = 5, layer: int = -1
) -> tuple[ModelState, dict]:
    """One live step via model.step -> (new state, a frame like build_trace's steps[t]).

    The frame has no "t" (the caller knows the position) and no target or loss.
    """
    new_state, rec = model.step(token_id, state)
    cell_rec = rec["layers"][layer][0]
    cell = model.cells[layer][0]
    frame = {"input_index": int(token_id) if model.config.vocab_size is not None else None}
    frame.update(_cell_frame(cell_rec, cell.gate_names, cell.kind))
    frame.update(_output_frame(model, rec["output"], rec.get("probs"), top_k))
    frame.update(target=None, loss=None)
    return new_state, frame
