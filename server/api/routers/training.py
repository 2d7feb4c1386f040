"""Training jobs: start, watch, pause, resume, stop, cancel. The trained model joins /api/models
when done; every snapshot the job keeps is a model id ("<job>@<step>") for /api/trace."""

from fastapi import APIRouter

from engine.tasks import BUILTIN
from server.api.deps import JobsDep, SettingsDep
from server.core.schemas import TrainPreset, TrainRequest, TrainStatus, TrainTask, refusals
from server.training.presets import presets as preset_texts

router = APIRouter(prefix="/api/train", tags=["training"])
FINISHED_409 = {409: {"description": "The job has already finished"}}


@router.get("/tasks", response_model=list[TrainTask], summary="Built-in training tasks")
async def tasks() -> list[dict]:
    out = [{"id": t.id, "description": t.description} for t in BUILTIN.values()]
    out.append({"id": "text", "description": "A character model on the text you give."})
    return out


@router.get("/presets", response_model=list[TrainPreset], summary="Texts to train on")
async def presets(settings: SettingsDep) -> list[dict]:
    """ "hello", the nursery rhymes and the engine's own source code, each at most
    train_max_text_chars characters: send one as `text` with task "text"."""
    return preset_texts(settings.train_max_text_chars)


@router.post(
    "",
    response_model=TrainStatus,
    status_code=202,
    responses=refusals(409, 413, 422) | {429: {"description": "Too many jobs running"}},
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


@router.post(
    "/{job_id}/pause",
    response_model=TrainStatus,
    responses=refusals(404) | FINISHED_409,
    summary="Pause a job",
)
async def pause(job_id: str, jobs: JobsDep) -> dict:
    """The state becomes "paused" before the next step (within 0.2 s from another worker). A
    job paused longer than train_max_pause_seconds stops, keeping its model."""
    return jobs.pause(job_id)


@router.post(
    "/{job_id}/resume",
    response_model=TrainStatus,
    responses=refusals(404) | FINISHED_409,
    summary="Resume a paused job",
)
async def resume(job_id: str, jobs: JobsDep) -> dict:
    return jobs.resume(job_id)


@router.post(
    "/{job_id}/stop",
    response_model=TrainStatus,
    responses=refusals(404) | FINISHED_409,
    summary="Stop a job, keeping the model trained so far",
)
async def stop(job_id: str, jobs: JobsDep) -> dict:
    """The job ends after the step under way and saves its model (state "done",
    stopped_early true); DELETE instead keeps nothing."""
    return jobs.stop(job_id)


@router.delete(
    "/{job_id}",
    response_model=TrainStatus,
    responses=refusals(404),
    summary="Cancel a job",
)
async def cancel(job_id: str, jobs: JobsDep) -> dict:
    """Nothing is kept: no model, and the job's snapshots are removed."""
    return jobs.cancel(job_id)  # whichever worker runs it; a ApiError answers its status
