"""POST /api/gradcheck: one gradient the trace shows, against a finite difference.

The request is checked exactly as a trace request is (server.tracing.prepare: text limits and
characters, unknown model 404, layer, direction, targets, initial state), plus `t` and `unit`.
The check runs in the thread pool under the trace semaphore, never on the event loop.
"""

from __future__ import annotations

import copy
import math

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from starlette.concurrency import run_in_threadpool

from engine.gradcheck import check_hidden, check_param
from server.deps import TracerDep
from server.errors import describe_validation_errors
from server.schemas import ERROR_RESPONSES, RunRequest, TraceRequest, check_text
from server.tracing import Prepared, TraceError

router = APIRouter(prefix="/api", tags=["gradcheck"])


class GradcheckRequest(RunRequest):
    """The trace request's fields (without the display ones) plus which gradient to check."""

    model_config = ConfigDict(
        extra="ignore",
        json_schema_extra={
            "examples": [{"model": "rnn-hello", "text": "hell", "t": 2, "unit": 3}],
        },
    )
    t: int | None = Field(
        None, ge=0, le=100_000, description='Step (0..T-1); required for "h" and "c".'
    )
    unit: int | None = Field(
        None, ge=0, le=100_000, description='Hidden unit (0..H-1); required for "h" and "c".'
    )
    quantity: str = Field(
        "h",
        min_length=1,
        max_length=100,
        description='"h": dL/dh_t[unit]; "c": dL/dc_t[unit] (LSTM); or a parameter name such '
        'as "rnn.weight_hh_l0" with `index`.',
    )
    index: list[int] | None = Field(
        None, max_length=4, description="The parameter entry, e.g. [row, col]."
    )

    @field_validator("quantity")
    @classmethod
    def _quantity_is_clean(cls, v: str) -> str:
        return check_text(v)


class Gradcheck(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "quantity": "dL/dh[t=2, unit=3]",
                    "analytic": -0.0123456789,
                    "numeric": -0.0123456791,
                    "rel_error": 1.6e-8,
                    "loss": 0.31,
                    "note": None,
                }
            ]
        }
    )
    quantity: str = Field(description="What was checked, e.g. dL/dh[t=2, unit=3].")
    analytic: float | None = Field(description="The value backpropagation (the trace) gives.")
    numeric: float | None = Field(description="(L(x + ε) − L(x − ε)) / 2ε, ε = 1e-5.")
    rel_error: float | None = Field(
        description="|analytic − numeric| / max(|analytic|, |numeric|, 1e-8); null if not finite."
    )
    loss: float | None = Field(description="The loss of the unperturbed run.")
    note: str | None = Field(
        None, description="Why the two may differ on purpose (truncated BPTT, clipping)."
    )


def _check(p: Prepared, req: GradcheckRequest) -> dict:
    model, targets = p.entry.model, p.targets
    if targets is None and model.config.setup in ("many-to-one", "one-to-one"):
        # as the trace: a classifier's loss is that of its own predicted label
        run = model.forward(p.ids, p.state)
        targets = [int(run.outputs[-1].argmax())]
    common = {"state": p.state, "truncate": req.truncate, "clip": req.clip}
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
    # nudging a weight in place would be seen by traces running on the same shared model
    return check_param(copy.deepcopy(model), p.ids, targets, req.quantity, req.index, **common)


def _validate(p: Prepared, req: GradcheckRequest) -> None:
    cfg = p.entry.model.config
    T, H = len(p.ids), cfg.hidden_size
    if req.quantity in ("h", "c"):
        if req.quantity == "c" and cfg.cell != "lstm":
            raise TraceError('quantity "c" (the cell state) exists for LSTM models only.')
        if req.t is None or req.unit is None:
            raise TraceError(f'quantity "{req.quantity}" needs both t and unit.')
        if req.t >= T:
            raise TraceError(f"t: the text has {T} token(s); use t in 0..{T - 1}.")
        if req.unit >= H:
            raise TraceError(f"unit: this model has {H} hidden units; use 0..{H - 1}.")
        return
    params = p.entry.model.params
    if req.quantity not in params:
        raise TraceError(f'quantity: use "h", "c" (LSTM) or a parameter name: {", ".join(params)}.')
    shape = params[req.quantity].shape
    index = req.index or []
    if len(index) != len(shape) or not all(0 <= i < n for i, n in zip(index, shape, strict=True)):
        raise TraceError(f"index: {req.quantity} has shape {list(shape)}; give one index per axis.")


def _finite(x) -> float | None:
    return x if x is not None and math.isfinite(x) else None


@router.post(
    "/gradcheck",
    response_model=Gradcheck,
    responses={code: ERROR_RESPONSES[code] for code in (404, 413, 422)},
    summary="Check one gradient against a finite difference",
)
async def gradcheck(req: GradcheckRequest, tracer: TracerDep) -> dict:
    """Nudges h_t[unit] (or c_t[unit], or one weight) by ±ε, reruns the network and compares
    (L(+ε) − L(−ε)) / 2ε with the backpropagated value the trace shows."""
    try:
        # server.tracing.prepare checks the shared fields exactly as for a trace
        trace_req = TraceRequest(**req.model_dump(include=set(RunRequest.model_fields)), flow=False)
    except ValidationError as e:  # both models check the same way; this is a safety net
        raise HTTPException(422, describe_validation_errors(e.errors())) from e
    try:
        prepared = tracer.prepare(trace_req)
        _validate(prepared, req)
    except TraceError as e:
        raise HTTPException(e.status, str(e)) from e
    async with tracer.semaphore:  # the same bound as traces
        out = await run_in_threadpool(_check, prepared, req)
    for key in ("analytic", "numeric", "rel_error", "loss"):
        out[key] = _finite(out[key])
    return out
