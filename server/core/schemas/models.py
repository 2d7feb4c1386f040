"""The models a server offers, and its health."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from engine.tasks import TASK_NAMES
from server.core.schemas.text import CellKind, Source


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
                    "kind": "sequence",
                    "cell": "rnn",
                    "description": "A tiny RNN that learned to spell 'hello'.",
                    "task": "next-char",
                    "vocab_kind": "char",
                    "vocab_size": 4,
                    "hidden_size": 8,
                    "num_layers": 1,
                    "bidirectional": False,
                    "setup": "many-to-many",
                    "nonlinearity": "tanh",
                    "attention": None,
                    "source": "demo",
                    "example": "hell",
                }
            ]
        }
    )
    id: str
    kind: Literal["sequence", "seq2seq", "tree"] = Field(
        "sequence",
        description="sequence: a recurrent model (POST /api/trace); seq2seq: an encoder–decoder "
        "(POST /api/seq2seq/trace); tree: a recursive network (POST /api/tree/trace).",
    )
    cell: CellKind | Literal["tree"] = Field(
        description="The recurrent cell (an encoder–decoder's two cells are of this kind); "
        '"tree" for a recursive network.'
    )
    description: str
    task: str = Field(description=f"What the model does: {', '.join(TASK_NAMES)}.")
    vocab_kind: Literal["char", "word"]
    vocab_size: int
    hidden_size: int
    num_layers: int
    bidirectional: bool
    setup: str = Field(
        description="many-to-many (a prediction per step), many-to-one, one-to-many or one-to-one."
    )
    steps: int | None = Field(
        None,
        description="A one-to-many model's number of generated steps when a trace does not "
        "say (null otherwise).",
    )
    nonlinearity: Literal["tanh", "relu"] | None = Field(
        None, description="An RNN's activation (tanh or relu); null for LSTM and GRU."
    )
    attention: Literal["general", "dot"] | None = Field(
        None, description="An encoder–decoder's Luong attention score, null without attention."
    )
    peephole: bool = Field(False, description="An LSTM whose gates also read the cell state.")
    source: Source
    example: str = Field(description="A text to try first.")


class ModelDetail(ModelSummary):
    vocab: list[str]
    labels: list[str] | None = Field(None, description="Class names of a classifier.")
    setup: str = Field(
        description="many-to-many (a prediction per step), many-to-one (one at the end), "
        "one-to-one (one token in, one out) or one-to-many (one token in, a sequence out); "
        "seq2seq or tree for those kinds."
    )
    unk: str | None = Field(
        None,
        description="Tokens the vocabulary does not know are read as this token, if set; "
        "otherwise as the zero vector.",
    )
    normalize: Literal["lower"] | None = Field(
        None, description='"lower": the model lower-cases each token before reading it.'
    )
    target_vocab: list[str] | None = Field(
        None, description="An encoder–decoder's target vocabulary (with <bos> and <eos>)."
    )
    target_vocab_kind: Literal["char", "word"] | None = Field(
        None, description="Whether its target tokens are characters or words."
    )
