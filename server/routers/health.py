"""GET /api/health: a cheap liveness check that never waits for a trace."""

from fastapi import APIRouter

from server.schemas import Health

router = APIRouter(prefix="/api", tags=["health"])


@router.get("/health", response_model=Health, summary="Is the server up?")
async def health() -> dict:
    return {"status": "ok"}
