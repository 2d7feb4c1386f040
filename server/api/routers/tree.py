"""POST /api/tree/trace: a recursive network over a sentence's tree, forward and backward
through structure (docs/contracts.md section 11)."""

from fastapi import APIRouter
from fastapi.responses import Response

from server.api.deps import RateLimited, RegistryDep, SettingsDep, TracesDep
from server.core.schemas import TreeTrace, TreeTraceRequest, refusals
from server.tracing import tree

router = APIRouter(prefix="/api/tree", tags=["tree"])


@router.post(
    "/trace",
    dependencies=[RateLimited],
    response_model=TreeTrace,
    responses=refusals(404, 413, 422, 429),
    summary="Trace a sentence's tree through a recursive network, forward and backward",
)
async def trace(
    req: TreeTraceRequest, registry: RegistryDep, settings: SettingsDep, traces: TracesDep
) -> Response:
    """The sentence, bracketed ("((the movie) (was (not good)))") or plain (read
    right-branching), becomes a binary tree: leaves are word vectors, each internal node
    p = tanh(W [left; right] + b). Returns every node (children, span, vector, the head's
    prediction) and the backward pass from the root's loss: every node's dL/dh. Runs off the
    event loop, under the same bound as traces."""
    prepared = tree.prepare(req, registry, settings)
    return Response(await traces.model_kind("tree", prepared), media_type="application/json")
