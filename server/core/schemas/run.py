"""What to run: a model, a text, targets, initial state and BPTT options (trace, gradcheck)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from server.core.schemas.text import check_text

# A state vector has H numbers; one per layer and direction is at most 16 of them. The model's
# own H and layer count are checked when the request is prepared (server.tracing.request).
MAX_STATE_SIZE = 1 << 16


MAX_STATE_CELLS = 16


Vector = Annotated[list[float], Field(max_length=MAX_STATE_SIZE)]


PerCell = Annotated[list[Vector], Field(max_length=MAX_STATE_CELLS)]


class InitialState(BaseModel):
    """An explicit initial state. `h` is one vector of H numbers (used for every layer and
    direction) or one vector per layer and direction (layer-major: l0 fwd, l0 rev, l1 fwd, ...).
    `c` is the same for the LSTM cell state (zeros when left out)."""

    model_config = ConfigDict(extra="forbid")
    h: Vector | PerCell
    c: Vector | PerCell | None = None


class RunRequest(BaseModel):
    """What to run: a model, a text, targets, the initial state and the BPTT options. Shared by
    the trace and the gradient check, so that both validate alike."""

    model_config = ConfigDict(extra="ignore")
    model: str = Field(min_length=1, max_length=100, description="A model id from /api/models.")
    text: str = Field(min_length=1, description="The input text.")
    truncate: int | None = Field(
        None,
        ge=1,
        description="Truncated BPTT with k steps: chunks of k steps, no gradient crossing a chunk "
        "boundary (truncate_mode chunked), or each loss's gradient k steps back (sliding).",
    )
    truncate_mode: Literal["chunked", "sliding"] = Field(
        "chunked",
        description='How truncate=k cuts BPTT: "chunked" (the course\'s: the state carried from '
        'chunk to chunk, detached) or "sliding" (a window of k steps per loss; one layer only).',
    )
    clip: float | None = Field(
        None, gt=0, le=1e6, description="Clip the global gradient norm to this value."
    )
    targets: list[str | int] | None = Field(
        None,
        description="Language models: the next token at each step (default: the text shifted by "
        "one). Classifiers: one label name or index (default: the predicted label).",
    )
    initial_state: Literal["zeros", "random"] | InitialState = Field(
        "zeros", description='"zeros", "random" (seeded by `seed`) or explicit vectors.'
    )
    seed: int = Field(0, ge=0, le=2**31 - 1, description="Seed for a random initial state.")
    steps: int | None = Field(
        None,
        ge=1,
        description="One-to-many models only: how many steps to run from the one input token "
        "(default: the number of targets).",
    )
    layer: int = Field(
        -1,
        description="Layer shown step by step: 0..num_layers-1 of the model, or -1.. counting "
        "from the top (-1 = top).",
    )
    direction: Literal[0, 1] = Field(0, description="0 forward, 1 reverse (bidirectional).")

    @field_validator("text")
    @classmethod
    def _text_is_clean(cls, v: str) -> str:
        return check_text(v)

    @field_validator("targets")
    @classmethod
    def _targets_are_clean(cls, v: list[str | int] | None) -> list[str | int] | None:
        for t in v or []:
            if isinstance(t, str):
                check_text(t, "a target")
        return v


class TraceRequest(RunRequest):
    """What to run: a model, a text, and how to show it."""

    model_config = ConfigDict(
        extra="ignore",
        json_schema_extra={
            "examples": [{"model": "lstm-rhymes", "text": "twinkle twinkle", "top_k": 5}]
        },
    )
    type: Literal["trace"] = Field("trace", description="Only used on the WebSocket.")
    top_k: int = Field(5, ge=1, description="Predictions listed per step.")
    flow: bool = Field(
        True,
        description="Compute grad_flow (the T x T gradient-flow matrix); false saves time when "
        "it is not shown.",
    )


class GradcheckRequest(RunRequest):
    """The trace request's fields (without the display ones) plus which gradient to check."""

    model_config = ConfigDict(
        extra="ignore",
        json_schema_extra={
            "examples": [{"model": "rnn-hello", "text": "hell", "t": 2, "unit": 3}],
        },
    )
    t: int | None = Field(None, ge=0, description='Step (0..T-1); required for "h" and "c".')
    unit: int | None = Field(
        None,
        ge=0,
        description='Hidden unit: 0..hidden_size-1 of the model; required for "h" and "c".',
    )
    quantity: str = Field(
        "h",
        min_length=1,
        max_length=100,
        description='"h": dL/dh_t[unit]; "c": dL/dc_t[unit] (LSTM); or a parameter name such '
        'as "rnn.weight_hh_l0" with `index`.',
    )
    index: list[int] | None = Field(
        None, max_length=2, description="The parameter entry, e.g. [row, col]."
    )

    @field_validator("quantity")
    @classmethod
    def _quantity_is_clean(cls, v: str) -> str:
        return check_text(v)
