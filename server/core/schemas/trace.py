"""The trace (POST /api/trace's answer) and the gradient check's answer."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from server.core.schemas.text import CellKind


class Prediction(BaseModel):
    index: int
    token: str
    p: float


class TraceStep(BaseModel):
    model_config = ConfigDict(extra="allow")
    t: int
    token: str = Field(description="The token as typed.")
    unknown: bool = Field(description="The token is not in the model's vocabulary.")
    seen_as: str | None = Field(
        description="What the model read: the vocabulary token (lower-cased where the model "
        'lower-cases), "<unk>", or null for the zero vector.'
    )
    input_index: int | None = Field(description="Its id; null where it read the zero vector.")
    h: list[float]
    gates: dict[str, list[float]]
    top: list[Prediction] | None
    target: int | None
    target_token: str | None
    loss: float | None


class TraceBackwardStep(BaseModel):
    model_config = ConfigDict(extra="allow")
    t: int
    dh: list[float]
    dh_norm: float
    dgates: dict[str, list[float]]
    contrib_norms: dict[str, float]
    dW_hh_running_norm: float


class Truncation(BaseModel):
    """How BPTT was truncated: k, the mode, and (chunked) where the chunks are."""

    k: int
    mode: Literal["chunked", "sliding"]
    chunks: list[list[int]] | None = Field(
        description="[start, end) of each chunk in step order (chunked), else null."
    )


class Trace(BaseModel):
    """The trace of docs/contracts.md section 4 (LSTM steps also carry `c`, RNN steps `pre`)."""

    model_config = ConfigDict(extra="allow")
    model: str
    cell: CellKind
    task: str
    tokens: list[str] = Field(description="The tokens as typed, one per step.")
    tokens_seen: list[str | None] = Field(
        description="What the model read at each step (each step's seen_as)."
    )
    tokens_unknown: list[int] = Field(
        description="The steps t whose token is not in the model's vocabulary."
    )
    tokens_ignored: list[str] = Field(
        [],
        description="A one-to-one or one-to-many model reads the first token only: the typed "
        "tokens after it, which it did not read.",
    )
    normalize: Literal["lower"] | None = Field(
        None, description='"lower": the model lower-cased the tokens before reading them.'
    )
    input_ids: list[int | None]
    vocab: list[str] | None = None
    vocab_size: int
    hidden_size: int
    num_layers: int
    bidirectional: bool
    layer: int
    direction: int
    gate_names: list[str]
    steps: list[TraceStep]
    loss: float | None
    backward: list[TraceBackwardStep]
    grad_norms: dict[str, float]
    global_norm: float
    clipped: bool
    clip: float | None
    truncate: int | None
    truncation: Truncation | None = None
    grad_flow: list[list[float]] | None


class Gradcheck(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "quantity": "dL/dh[t=2, unit=3]",
                    "analytic": -0.0123456789,
                    "numeric": -0.0123456791,
                    "rel_error": 1.6e-8,
                    "loss": 0.31,
                    "note": None,
                }
            ]
        }
    )
    quantity: str = Field(description="What was checked, e.g. dL/dh[t=2, unit=3].")
    analytic: float | None = Field(description="The value backpropagation (the trace) gives.")
    numeric: float | None = Field(description="(L(x + ε) − L(x − ε)) / 2ε, ε = 1e-5.")
    rel_error: float | None = Field(
        description="|analytic − numeric| / max(|analytic|, |numeric|, 1e-8); null if not finite."
    )
    loss: float | None = Field(description="The loss of the unperturbed run.")
    note: str | None = Field(
        None, description="Why the two may differ on purpose (truncated BPTT, clipping)."
    )
