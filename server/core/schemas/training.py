"""Training jobs: the request, the status, the built-in tasks."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from server.core.schemas.text import CellKind, check_text


class TrainRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "task": "text",
                    "text": "to be or not to be",
                    "cell": "lstm",
                    "hidden_size": 32,
                    "steps": 300,
                }
            ]
        },
    )
    task: str = Field(
        "text",
        min_length=1,
        max_length=50,
        description='A built-in task (see GET /api/train/tasks) or "text": a char model on `text`.',
    )
    text: str | None = Field(None, description="Training text for 'text'.")
    name: str | None = Field(None, max_length=60, description="A name for the trained model.")
    cell: CellKind = "lstm"
    hidden_size: int = Field(32, ge=1)
    layers: int = Field(1, ge=1)
    steps: int = Field(300, ge=1)
    lr: float = Field(0.01, gt=0, le=10, description="Adam's learning rate.")
    seq_len: int = Field(
        25,
        ge=1,
        description="Tokens per chunk: truncated BPTT over chunks of this length, the hidden "
        "state carried from one chunk into the next (no gradient across the boundary).",
    )
    snapshot_every: int | None = Field(
        None,
        ge=1,
        description="Keep a snapshot of the weights (and a sample) every this many steps; "
        "default: steps / train_max_snapshots. Beyond train_max_snapshots every other one is "
        "dropped and the interval doubles.",
    )
    seed: int = Field(0, ge=0, le=2**31 - 1)

    @field_validator("text", "name")
    @classmethod
    def _clean(cls, v: str | None) -> str | None:
        return None if v is None else check_text(v, "text")


class TrainSnapshot(BaseModel):
    id: str = Field(
        description='A model id, "<job>@<step>": trace, sample or download it like any model.'
    )
    step: int = Field(description="Updates done when the weights were copied (0: untrained).")
    loss: float | None = Field(description="The smoothed loss per token then (null at step 0).")
    sample: str = Field(description="Text sampled from these weights (temperature 1).")


class TrainStatus(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "3f2a9c1e0b7d",
                    "state": "running",
                    "step": 120,
                    "steps": 300,
                    "loss": 1.73,
                    "sample": "twinkle litle",
                    "eta_seconds": 4.2,
                    "model_id": None,
                    "error": None,
                    "elapsed_seconds": 3.1,
                    "steps_per_second": 38.7,
                    "stopped_early": False,
                    "history": [[1, 3.2], [60, 2.4], [120, 1.73]],
                    "snapshots": [
                        {"id": "3f2a9c1e0b7d@0", "step": 0, "loss": None, "sample": "tq,lw"},
                        {"id": "3f2a9c1e0b7d@100", "step": 100, "loss": 1.9, "sample": "twin"},
                    ],
                }
            ]
        }
    )
    id: str
    state: Literal["queued", "running", "paused", "done", "cancelled", "failed"]
    step: int
    steps: int
    loss: float | None
    sample: str | None
    eta_seconds: float | None
    model_id: str | None = Field(description="The trained model's id once done.")
    error: str | None
    elapsed_seconds: float = Field(0.0, description="Time spent training (pauses excluded).")
    steps_per_second: float | None = Field(None, description="Updates per second so far.")
    stopped_early: bool = Field(
        False, description="Stopped before `steps`: the model saved is the one trained so far."
    )
    history: list[tuple[int, float]] = Field(
        default_factory=list,
        description="[step, smoothed loss per token] pairs for the loss curve (at most 400: "
        "every other point is dropped when full).",
    )
    snapshots: list[TrainSnapshot] = Field(default_factory=list)


class TrainTask(BaseModel):
    id: str
    description: str


class TrainPreset(BaseModel):
    id: str
    name: str
    description: str
    text: str = Field(description="The text itself, at most train_max_text_chars characters.")
