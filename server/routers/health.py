"""GET /api/health: a cheap liveness check that never waits for a trace."""

from fastapi import APIRouter

from server.deps import TracerDep
from server.schemas import Health, Stats

router = APIRouter(prefix="/api", tags=["health"])


@router.get("/health", response_model=Health, summary="Is the server up?")
async def health() -> dict:
    return {"status": "ok"}


@router.get("/stats", response_model=Stats, summary="What the server is doing right now")
async def stats(tracer: TracerDep) -> dict:
    """Counts for this worker process: for monitoring a classroom and for the benchmark."""
    return {
        "traces_active": tracer.active,
        "traces_waiting": tracer.waiting,
        "streams": tracer.streaming,
        "sockets": tracer.sockets,
    }
