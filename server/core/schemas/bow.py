"""The bag-of-words companions: the list, a prediction request and its answer."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from server.core.schemas.text import check_text


class BowEvaluation(BaseModel):
    set: str = Field(description='"held-out" or "training": which sentences were measured.')
    size: int = Field(description="How many sentences.")
    accuracy: float = Field(description="The bag-of-words model's accuracy on them.")
    companion_accuracy: float = Field(description="The recurrent companion's, on the same.")


class BowSummary(BaseModel):
    id: str
    companion: str = Field(description="The recurrent demo model trained on the same data.")
    description: str
    task: str
    labels: list[str]
    vocab_size: int
    hidden_size: int
    normalize: str | None
    example: str
    evaluation: BowEvaluation | None


class BowRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"model": "bow-question", "text": "are you good"}]},
    )
    model: str = Field(min_length=1, max_length=100, description="A bag-of-words model's id.")
    text: str = Field(min_length=1, max_length=100_000, description="Checked as a trace's is.")

    @field_validator("text")
    @classmethod
    def _clean(cls, v: str) -> str:
        return check_text(v, "text")


class BagEntry(BaseModel):
    id: int
    token: str
    count: int


class CompanionAnswer(BaseModel):
    model: str
    cell: str
    probs: list[float]
    label: str


class BowPrediction(BaseModel):
    model: str
    text: str
    labels: list[str]
    vocab_size: int = Field(description="V: the input vector's length.")
    tokens: list[str] = Field(description="As typed, one per step of the recurrent model.")
    ids: list[int] = Field(description="Each token's id (the <unk> id when unknown).")
    unknown: list[bool]
    seen_as: list[str | None]
    bag: list[BagEntry] = Field(
        description="x's non-zero entries, by id: x = the sum of the tokens' one-hot rows."
    )
    probs: list[float] = Field(description="softmax over the labels.")
    label: str
    companion: CompanionAnswer = Field(description="The recurrent model, on the same tokens.")
