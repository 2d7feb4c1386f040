"""GET /api/models and /api/models/{id}: the models a user can trace."""

from fastapi import APIRouter, HTTPException

from server.api.deps import RegistryDep
from server.core.schemas import ModelDetail, ModelSummary, refusals
from server.tracing.request import NO_MODEL

router = APIRouter(prefix="/api/models", tags=["models"])


@router.get("", response_model=list[ModelSummary], summary="List the models")
async def list_models(registry: RegistryDep) -> list[dict]:
    """Demo models first, then the ones you trained or imported."""
    return [e.summary() for e in registry.list()]


@router.get(
    "/{model_id}",
    response_model=ModelDetail,
    responses=refusals(404),
    summary="One model, with its vocabulary",
)
async def get_model(model_id: str, registry: RegistryDep) -> dict:
    entry = registry.get(model_id)
    if entry is None:
        raise HTTPException(404, NO_MODEL)
    return entry.detail()
