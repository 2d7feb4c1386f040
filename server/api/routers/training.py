"""Training jobs: start, watch, cancel. The trained model joins /api/models when done."""

from fastapi import APIRouter

from engine.tasks import BUILTIN
from server.api.deps import JobsDep
from server.core.schemas import TrainRequest, TrainStatus, TrainTask, refusals

router = APIRouter(prefix="/api/train", tags=["training"])


@router.get("/tasks", response_model=list[TrainTask], summary="Built-in training tasks")
async def tasks() -> list[dict]:
    out = [{"id": t.id, "description": t.description} for t in BUILTIN.values()]
    out.append({"id": "text", "description": "A character model on the text you give."})
    return out


@router.post(
    "",
    response_model=TrainStatus,
    status_code=202,
    responses=refusals(413, 422) | {429: {"description": "Too many jobs running"}},
    summary="Start a training job",
)
async def start(request: TrainRequest, jobs: JobsDep) -> dict:
    """Progress: GET /api/train/{job} or the WebSocket /ws/train/{job}."""
    return jobs.start(request).status()  # a ApiError answers its status (server.core.errors)


@router.get(
    "/{job_id}",
    response_model=TrainStatus,
    responses=refusals(404),
    summary="A job's progress",
)
async def status(job_id: str, jobs: JobsDep) -> dict:
    return jobs.status(job_id)  # whichever worker runs it; a ApiError answers its status


@router.delete(
    "/{job_id}",
    response_model=TrainStatus,
    responses=refusals(404),
    summary="Cancel a job",
)
async def cancel(job_id: str, jobs: JobsDep) -> dict:
    return jobs.cancel(job_id)  # whichever worker runs it; a ApiError answers its status
