"""The encoder–decoder's trace and what-if, and the tree network's trace: the requests, and the
answers' top-level shapes (docs/contracts.md, sections 11-13, has every field)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from server.core.schemas.run import Vector
from server.core.schemas.text import check_text

MAX_TEMPERATURE = 5.0


class Seq2SeqTraceRequest(BaseModel):
    """An encoder–decoder on a source text: teacher forcing on `target` if given, else the
    model decodes (greedy, or sampled with a temperature) up to `max_len` tokens."""

    model_config = ConfigDict(
        extra="ignore",
        json_schema_extra={"examples": [{"model": "gru-reverse-attention", "source": "abcdefgh"}]},
    )
    model: str = Field(min_length=1, max_length=100, description="An encoder–decoder's id.")
    source: str = Field(min_length=1, description="The text the encoder reads.")
    target: str | None = Field(
        None,
        min_length=1,
        description="Teacher forcing: the text the decoder should produce (without <bos> and "
        "<eos>); each of its tokens is the next step's input. Left out: the model decodes.",
    )
    max_len: int | None = Field(
        None,
        ge=1,
        description="Decoding: most tokens produced (<eos> included); default the most the "
        "server allows (max_decode_tokens).",
    )
    temperature: float = Field(
        0.0,
        ge=0,
        le=MAX_TEMPERATURE,
        allow_inf_nan=False,
        description="Decoding: 0 takes the most likely token (greedy); above 0 draws from "
        "softmax(logits / temperature).",
    )
    seed: int = Field(0, ge=0, le=2**31 - 1, description="Sampling: the same seed, same tokens.")
    top_k: int = Field(5, ge=1, le=1000, description="Most likely tokens listed per step.")

    @field_validator("source", "target")
    @classmethod
    def _clean(cls, v: str | None, info) -> str | None:
        return v if v is None else check_text(v, info.field_name)


class Seq2SeqWhatIfRequest(Seq2SeqTraceRequest):
    """Decoder step t of the same trace with its attention weights replaced: `alpha` (one
    weight per source token, >= 0, summing to 1) or all of it on source position `focus`."""

    model_config = ConfigDict(
        extra="ignore",
        json_schema_extra={
            "examples": [{"model": "gru-reverse-attention", "source": "abcd", "t": 0, "focus": 0}]
        },
    )
    t: int = Field(ge=0, description="The decoder step (0: the one that read <bos>).")
    alpha: Vector | None = Field(None, description="The weights to use instead of the model's.")
    focus: int | None = Field(None, ge=0, description="Put all the weight on this source token.")


class Seq2SeqTrace(BaseModel):
    """POST /api/seq2seq/trace's answer (every field: docs/contracts.md section 9)."""

    model_config = ConfigDict(extra="allow")
    model: str
    kind: Literal["seq2seq"]
    mode: Literal["teacher", "greedy", "sample"]
    attention: Literal["general", "dot"] | None
    encoder: list[dict]
    context: dict
    decoder: list[dict]
    alpha: list[list[float]] | None
    loss: float
    backward: dict


class Seq2SeqWhatIf(BaseModel):
    """POST /api/seq2seq/whatif's answer (docs/contracts.md section 10)."""

    model_config = ConfigDict(extra="allow")
    intervention: Literal[True]
    t: int
    alpha: list[float]
    alpha_model: list[float]
    changed: bool


class TreeTraceRequest(BaseModel):
    """A recursive network on a sentence: bracketed, "((the movie) (was (not good)))", or plain
    (read right-branching: "(the (movie (was (not good))))")."""

    model_config = ConfigDict(
        extra="ignore",
        json_schema_extra={
            "examples": [{"model": "tree-sentiment", "text": "((the movie) (was (not good)))"}]
        },
    )
    model: str = Field(min_length=1, max_length=100, description="A tree model's id.")
    text: str = Field(min_length=1, description="The sentence, bracketed or plain.")
    label: str | int | None = Field(
        None,
        description="The root's class for the loss (a label or its index); default: the "
        "class the model predicts.",
    )

    @field_validator("text")
    @classmethod
    def _clean(cls, v: str) -> str:
        return check_text(v, "text")


class TreeTrace(BaseModel):
    """POST /api/tree/trace's answer (docs/contracts.md section 11)."""

    model_config = ConfigDict(extra="allow")
    model: str
    kind: Literal["tree"]
    bracketed: str
    nodes: list[dict]
    root: int
    loss: float
    backward: dict
