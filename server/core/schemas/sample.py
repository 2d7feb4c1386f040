"""Generating text from a language model: the request and its steps."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from server.core.schemas.text import CellKind, check_text

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
