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
    lr: float = Field(0.01, gt=0, le=10)
    seed: int = Field(0, ge=0, le=2**31 - 1)

    @field_validator("text", "name")
    @classmethod
    def _clean(cls, v: str | None) -> str | None:
        return None if v is None else check_text(v, "text")


class TrainStatus(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "3f2a9c1e",
                    "state": "running",
                    "step": 120,
                    "steps": 300,
                    "loss": 1.73,
                    "sample": "twinkle litle",
                    "eta_seconds": 4.2,
                    "model_id": None,
                    "error": None,
                }
            ]
        }
    )
    id: str
    state: Literal["queued", "running", "done", "cancelled", "failed"]
    step: int
    steps: int
    loss: float | None
    sample: str | None
    eta_seconds: float | None
    model_id: str | None = Field(description="The trained model's id once done.")
    error: str | None


class TrainTask(BaseModel):
    id: str
    description: str
