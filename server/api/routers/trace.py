"""POST /api/trace: one forward and one backward pass, as JSON (contracts.md section 4)."""

from fastapi import APIRouter, HTTPException
from fastapi.responses import Response

from server.api.deps import RateLimited, TracesDep
from server.core.errors import ApiError
from server.core.schemas import Trace, TraceRequest, refusals

router = APIRouter(prefix="/api", tags=["trace"])


@router.post(
    "/trace",
    dependencies=[RateLimited],
    response_model=Trace,
    responses=refusals(404, 413, 422, 429),
    summary="Trace a text through a model, forward and backward",
)
async def trace(request: TraceRequest, traces: TracesDep) -> Response:
    """Runs the model on the text, then BPTT from the loss; returns every step's state, gates,
    predictions and gradients. Computed in a worker thread; at most `max_concurrent_traces` at
    once."""
    try:
        prepared = traces.prepare(request)
    except ApiError as e:
        raise HTTPException(e.status, str(e)) from e
    result = await traces.compute(prepared, "body")
    # Serialised by orjson in the worker thread; response-model validation is skipped (large).
    return Response(result.payload, media_type="application/json")
