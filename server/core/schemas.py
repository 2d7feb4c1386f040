"""Request and response bodies of the API, as they appear in the OpenAPI schema.

Limits that come from the Settings (text length, top_k, training sizes, ...) are not written
here: server.core.limits checks them and writes them into the schema."""

from __future__ import annotations

import unicodedata
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from engine.tasks import TASK_NAMES

CellKind = Literal["rnn", "lstm", "gru"]
Source = Literal["demo", "trained", "imported"]

# Text may hold tab and newline (and carriage return); every other control character is
# rejected, as is anything that is not a Unicode scalar value (a lone surrogate).
_ALLOWED_CONTROLS = {"\t", "\n", "\r"}


def check_text(value: str, what: str = "text") -> str:
    """Reject NUL, control characters and lone surrogates with a message naming the spot."""
    for i, ch in enumerate(value):
        code = ord(ch)
        if 0xD800 <= code <= 0xDFFF:
            raise ValueError(
                f"{what} contains an invalid character (a lone surrogate U+{code:04X}) at "
                f"position {i}; send text as valid UTF-8"
            )
        if ch in _ALLOWED_CONTROLS:
            continue
        if unicodedata.category(ch) == "Cc":
            label = "NUL" if code == 0 else "a control character"
            raise ValueError(
                f"{what} contains {label} (U+{code:04X}) at position {i}; only tab and newline "
                "are allowed"
            )
    return value


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


MAX_TEMPERATURE = 5.0  # softmax(z / 5) is nearly uniform already


class SampleRequest(BaseModel):
    """Generate text from a language model: feed the prime, then draw one token at a time."""

    model_config = ConfigDict(
        extra="ignore",
        json_schema_extra={
            "examples": [{"model": "rnn-hello", "prime": "h", "n": 20, "temperature": 0}]
        },
    )
    type: Literal["sample"] = Field("sample", description="Only used on the WebSocket.")
    model: str = Field(min_length=1, max_length=100, description="A language model's id.")
    prime: str = Field(
        min_length=1,
        max_length=100_000,
        description="The text the generation starts from, checked as a trace's text is.",
    )
    n: int = Field(
        20, ge=1, le=100_000, description="Tokens to generate (at most max_sample_tokens)."
    )
    temperature: float = Field(
        1.0,
        ge=0,
        le=MAX_TEMPERATURE,
        allow_inf_nan=False,
        description="p = softmax(z / temperature); 0 takes the most likely token (argmax).",
    )
    seed: int = Field(0, ge=0, le=2**31 - 1, description="The same seed draws the same tokens.")
    top_k: int = Field(5, ge=1, le=1000, description="Most likely tokens listed per step.")

    @field_validator("prime")
    @classmethod
    def _prime_is_clean(cls, v: str) -> str:
        return check_text(v, "prime")


class SamplePrediction(BaseModel):
    index: int
    token: str
    p: float = Field(description="Probability after the temperature: what the draw used.")
    p_model: float = Field(description="The model's own probability (temperature 1).")


class SampleStep(BaseModel):
    """One generated token: what was fed in, the cell after it, the distribution, the draw."""

    model_config = ConfigDict(extra="allow")
    t: int = Field(description="0 for the first generated token.")
    input_index: int | None = Field(
        description="The token fed in: the prime's last, then the drawn; null: a prime token "
        "the model does not know (it read the zero vector)."
    )
    input_token: str = Field(description="As typed (the prime's) or drawn.")
    input_seen_as: str | None = Field(
        description='What the model read: a vocabulary token, "<unk>", or null (zero vector).'
    )
    h: list[float]
    gates: dict[str, list[float]]
    top: list[SamplePrediction]
    id: int = Field(description="The drawn token (fed in at step t + 1).")
    token: str
    p: float
    p_model: float


class Sample(BaseModel):
    """A generation (LSTM steps also carry `c`, RNN steps `pre`)."""

    model: str
    cell: CellKind
    task: str
    vocab_kind: Literal["char", "word"]
    hidden_size: int
    gate_names: list[str]
    prime: list[str] = Field(description="The prime's tokens, as typed.")
    prime_unknown: list[int] = Field(
        description="The positions of the prime's tokens the model does not know."
    )
    n: int
    temperature: float
    seed: int
    tokens: list[str] = Field(description="The generated tokens.")
    ids: list[int]
    text: str = Field(description="The generated text (words joined by spaces).")
    steps: list[SampleStep]


class Health(BaseModel):
    status: Literal["ok"] = "ok"


class Stats(BaseModel):
    traces_active: int = Field(description="Traces computing now.")
    traces_waiting: int = Field(description="Traces waiting for a compute slot.")
    streams: int = Field(description="WebSocket traces being sent.")
    sockets: int = Field(description="Open /ws sockets.")


class ModelSummary(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "rnn-hello",
                    "cell": "rnn",
                    "description": "A tiny RNN that learned to spell 'hello'.",
                    "task": "next-char",
                    "vocab_kind": "char",
                    "vocab_size": 4,
                    "hidden_size": 8,
                    "num_layers": 1,
                    "bidirectional": False,
                    "nonlinearity": "tanh",
                    "source": "demo",
                    "example": "hell",
                }
            ]
        }
    )
    id: str
    cell: CellKind
    description: str
    task: str = Field(description=f"What the model does: {', '.join(TASK_NAMES)}.")
    vocab_kind: Literal["char", "word"]
    vocab_size: int
    hidden_size: int
    num_layers: int
    bidirectional: bool
    nonlinearity: Literal["tanh", "relu"] | None = Field(
        None, description="An RNN's activation (tanh or relu); null for LSTM and GRU."
    )
    source: Source
    example: str = Field(description="A text to try first.")


class ModelDetail(ModelSummary):
    vocab: list[str]
    labels: list[str] | None = Field(None, description="Class names of a classifier.")
    setup: str = Field(description="many-to-many (a prediction per step) or many-to-one.")
    unk: str | None = Field(
        None,
        description="Tokens the vocabulary does not know are read as this token, if set; "
        "otherwise as the zero vector.",
    )
    normalize: Literal["lower"] | None = Field(
        None, description='"lower": the model lower-cases each token before reading it.'
    )


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


class ErrorBody(BaseModel):
    detail: str = Field(examples=["text: is required."])


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorBody, "description": text}
    for code, text in [
        (404, "Not found"),
        (409, "Refused in the server's present state (e.g. its model quota is full)"),
        (413, "Too large"),
        (422, "Invalid input; `detail` says what to change"),
        (429, "Too many requests from this client; `Retry-After` says when to try again"),
    ]
}


def refusals(*codes: int) -> dict[int | str, dict[str, Any]]:
    """The error answers a route documents, for its `responses=`."""
    return {code: ERROR_RESPONSES[code] for code in codes}
