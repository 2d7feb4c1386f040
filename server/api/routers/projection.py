"""GET /api/models/{id}/projection: the axes of the hidden state's path (PCA of h_t)."""

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from server.api.deps import ProjectionsDep, RateLimited
from server.core.schemas import Projection, refusals

router = APIRouter(prefix="/api/models", tags=["projection"])


@router.get(
    "/{model_id}/projection",
    dependencies=[RateLimited],
    response_model=Projection,
    responses=refusals(404, 422, 429),
    summary="The 2-D projection (PCA) of one cell's hidden state",
)
async def get_projection(
    model_id: str,
    projections: ProjectionsDep,
    layer: Annotated[int, Query(description="0..L-1, or -1 (the top layer), as in a trace.")] = -1,
    direction: Annotated[int, Query(description="0 forward, 1 reverse (bidirectional).")] = 0,
) -> Response:
    """The PCA of h_t of cell (layer, direction), fitted on the model's own data (its training
    task's sentences or text, else text it generates, else its vocabulary): point(h) =
    (h − mean) · componentsᵀ. The same for every sentence, so paths of different sentences
    share their axes. Fitted once per model file and cell, then cached."""
    return Response(
        await run_in_threadpool(projections.get, model_id, layer, direction),
        media_type="application/json",
    )
