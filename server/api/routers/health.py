"""GET /api/health: a cheap liveness check that never waits for a trace."""

from fastapi import APIRouter

from server.api.deps import TracesDep
from server.core.schemas import Health, Stats

router = APIRouter(prefix="/api", tags=["health"])


@router.get("/health", response_model=Health, summary="Is the server up?")
async def health() -> dict:
    return {"status": "ok"}


@router.get("/stats", response_model=Stats, summary="What the server is doing right now")
async def stats(traces: TracesDep) -> dict:
    """Counts for this worker process: for monitoring a classroom and for the benchmark."""
    return {
        "traces_active": traces.active,
        "traces_waiting": traces.waiting,
        "streams": traces.streaming,
        "sockets": traces.sockets,
    }
