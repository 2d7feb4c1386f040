"""GET /api/models and /api/models/{id}: the models a user can trace."""

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse

from server.api.deps import RegistryDep
from server.core.schemas import ModelDetail, ModelSummary, refusals
from server.tracing.request import NO_MODEL, entry_for

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


@router.get(
    "/{model_id}/download",
    response_class=FileResponse,
    responses=refusals(404) | {200: {"content": {"application/octet-stream": {}}}},
    summary="The model's .npz file",
)
async def download(model_id: str, registry: RegistryDep) -> FileResponse:
    """The model file as stored (engine.storage format): load it with engine.load_model, or
    import it into another Unrolled server. A training snapshot ("<job>@<step>") too."""
    entry = entry_for(registry, model_id)  # 404 saying whether a model or a snapshot is gone
    name = entry.id.replace("@", "-step-")
    return FileResponse(entry.path, media_type="application/octet-stream", filename=f"{name}.npz")
