"""POST /api/gradcheck: one gradient the trace shows, against a finite difference."""

from fastapi import APIRouter

from server.api.deps import RateLimited, TracesDep
from server.core.schemas import Gradcheck, GradcheckRequest, refusals

router = APIRouter(prefix="/api", tags=["gradcheck"])


@router.post(
    "/gradcheck",
    dependencies=[RateLimited],
    response_model=Gradcheck,
    responses=refusals(404, 413, 422, 429),
    summary="Check one gradient against a finite difference",
)
async def gradcheck(req: GradcheckRequest, traces: TracesDep) -> dict:
    """Nudges h_t[unit] (or c_t[unit], or one weight) by ±ε, reruns the network and compares
    (L(+ε) − L(−ε)) / 2ε with the backpropagated value the trace shows. Runs off the event
    loop, under the same bound as traces."""
    return await traces.gradcheck(req)
