"""A gradient check: one gradient the trace shows, against a finite difference.

The request is prepared exactly as a trace request is (server.tracing.build.prepare: text limits
and characters, unknown model 404, layer, direction, targets, initial state), plus `t`, `unit`
or a parameter entry, checked here. The trace service runs it off the event loop.
"""

from __future__ import annotations

import copy
import math

from engine.gradcheck import check_hidden, check_param
from engine.targets import blank_targets
from server.core.errors import ApiError
from server.core.schemas import GradcheckRequest, RunRequest, TraceRequest
from server.tracing.build import Prepared
from server.tracing.request import GATES


def run_check(p: Prepared, req: GradcheckRequest) -> dict:
    model, targets = p.entry.model, p.targets  # None: engine.targets' defaults, as the trace's
    if targets is None and p.blank is not None:  # a fill-in-the-blank model's, as the trace's
        targets = blank_targets(p.ids, model.forward(p.ids, p.state).outputs, p.blank)
    common = {
        "state": p.state,
        "truncate": req.truncate,
        "truncate_mode": req.truncate_mode,
        "clip": req.clip,
        "steps": p.steps,
    }
    if req.quantity in ("h", "c"):
        return check_hidden(
            model,
            p.ids,
            targets,
            req.t,
            req.unit,
            layer=req.layer,
            direction=req.direction,
            quantity=req.quantity,
            **common,
        )
    # Nudging a weight in place would be seen by traces running on the same shared model: the
    # check gets a model of its own that shares every array but the one it nudges.
    shared = {id(a): a for name, a in model.params.items() if name != req.quantity}
    own = copy.deepcopy(model, shared)
    return check_param(own, p.ids, targets, req.quantity, req.index, **common)


def memory_bytes(p: Prepared, req: GradcheckRequest) -> int:
    """About what a check holds at its peak, measured on an H=2048 LSTM: four times the model's
    parameters (the backward pass computes every parameter's gradient and sums per-step parts;
    the cells copy their weights for each forward pass; a weight check copies that weight),
    and four runs' tapes (the analytic forward and backward, the two nudged reruns)."""
    model = p.entry.model
    cfg = model.config
    H, T, G = cfg.hidden_size, len(p.ids), GATES[cfg.cell]
    per_step = cfg.num_layers * cfg.num_directions * (2 * G + 4) * H + 3 * cfg.output_size
    params = sum(a.nbytes for a in model.params.values())
    return 4 * params + 4 * T * per_step * 8


def validate(p: Prepared, req: GradcheckRequest) -> None:
    cfg = p.entry.model.config
    T, H = p.steps or len(p.ids), cfg.hidden_size
    if req.quantity in ("h", "c"):
        if req.quantity == "c" and cfg.cell != "lstm":
            raise ApiError('quantity "c" (the cell state) exists for LSTM models only.')
        if req.t is None or req.unit is None:
            raise ApiError(f'quantity "{req.quantity}" needs both t and unit.')
        if req.t >= T:
            raise ApiError(f"t: the text has {T} token(s); use t in 0..{T - 1}.")
        if req.unit >= H:
            raise ApiError(f"unit: this model has {H} hidden units; use 0..{H - 1}.")
        return
    params = p.entry.model.params
    if req.quantity not in params:
        raise ApiError(f'quantity: use "h", "c" (LSTM) or a parameter name: {", ".join(params)}.')
    shape = params[req.quantity].shape
    index = req.index or []
    if len(index) != len(shape) or not all(0 <= i < n for i, n in zip(index, shape, strict=True)):
        raise ApiError(f"index: {req.quantity} has shape {list(shape)}; give one index per axis.")


def _finite(x) -> float | None:
    return x if x is not None and math.isfinite(x) else None


def check(p: Prepared, req: GradcheckRequest) -> dict:
    """Validate the gradient asked for, run the check; non-finite numbers become None."""
    validate(p, req)
    out = run_check(p, req)
    for key in ("analytic", "numeric", "rel_error", "loss"):
        out[key] = _finite(out[key])
    return out


def trace_request(req: GradcheckRequest) -> TraceRequest:
    """The trace request with the same shared fields, which prepare() checks as for a trace."""
    fields = req.model_dump(include=set(RunRequest.model_fields))
    return TraceRequest(**fields, flow=False, top_k=1)
