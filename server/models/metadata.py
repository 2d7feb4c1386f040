"""The metadata of a model file, validated field by field before the file is used or stored.

A model file (engine.storage) carries JSON metadata: the engine's fields (format, version,
config, vocab, task, description, arrays, sha256) and the registry's (id, source, example,
labels, name). A file whose `example` is a number or whose `labels` is 5 used to be stored and
then broke GET /api/models for everyone; now every field is checked here, with the same types
the API answers with, and a refusal names the field without repeating its value.
"""

from __future__ import annotations

import json
from dataclasses import fields
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
)

from engine.config import SETUPS, ModelConfig
from server.core.errors import ApiError
from server.core.schemas import CellKind, Source, check_text
from server.models.limits import ModelLimits, check_size

_CONFIG_FIELDS = {f.name for f in fields(ModelConfig)}


def _clean(value: str) -> str:
    return check_text(value, "the text")


Text = Annotated[str, AfterValidator(_clean)]
Token = Annotated[str, StringConstraints(min_length=1), AfterValidator(_clean)]
Size = Annotated[int, Field(ge=1)]


def _distinct(items: list[str] | None) -> list[str] | None:
    if items is not None and len(set(items)) != len(items):
        raise ValueError("has duplicate entries")
    return items


class StoredConfig(BaseModel):
    """engine.config.ModelConfig's fields, typed strictly (a number is not a string, 1 is not
    true). Fields added to the engine later pass through to ModelConfig, which checks them."""

    model_config = ConfigDict(strict=True, extra="allow")
    cell: CellKind
    vocab_size: Size | None = None
    input_size: Size | None = None
    input_encoding: Literal["onehot", "embedding"] = "onehot"
    embed_size: Size | None = None
    hidden_size: Size
    num_layers: Size = 1
    bidirectional: bool = False
    output_size: Size | None = None
    loss: Literal["ce", "mse"] = "ce"
    setup: Literal[SETUPS] = "many-to-many"  # type: ignore[valid-type]
    nonlinearity: Literal["tanh", "relu"] = "tanh"
    peephole: bool = False
    jordan: bool = False
    seed: int = Field(0, ge=0, le=2**63 - 1)


class StoredVocab(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")
    tokens: Annotated[list[Token], Field(min_length=1), AfterValidator(_distinct)]
    level: Literal["char", "word"] = "char"
    unk: Token | None = None
    normalize: Literal["lower"] | None = None  # engine.tokenize; absent in older files


class StoredMetadata(BaseModel):
    """Every field a model file's metadata may hold, as the API will serve it."""

    model_config = ConfigDict(strict=True, extra="ignore")
    format: Literal["unrolled-model"]
    version: Literal[1]
    config: StoredConfig
    vocab: StoredVocab = Field(
        description="Models without a vocabulary (vector inputs) are not served."
    )
    task: Annotated[Text, Field(max_length=50)] | None = None
    description: Annotated[Text, Field(max_length=4000)] = ""
    arrays: dict[str, list[int]] = Field(default_factory=dict)
    sha256: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
    id: Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{0,99}$")] | None = None
    source: Source | None = None
    example: Annotated[Text, Field(max_length=2000)] = ""
    labels: Annotated[list[Token], Field(min_length=1), AfterValidator(_distinct)] | None = None
    name: Annotated[Text, Field(max_length=100)] | None = None
    steps: Size | None = None  # one-to-many: how many steps a trace runs when not told


def _where(loc: tuple) -> str:
    """The field's name, from pydantic's location: our field names and list positions only
    (a dict key inside the file is the file's own text, and is not repeated)."""
    known = set(StoredMetadata.model_fields) | set(StoredConfig.model_fields)
    known |= set(StoredVocab.model_fields)
    parts: list[str] = []
    for part in loc:
        if isinstance(part, int):
            parts.append(f"[{part}]")
        elif part in known:
            parts.append(("." if parts else "") + part)
        else:
            break
    return "".join(parts) or "metadata"


_PHRASES = {  # pydantic error type -> what the field must be
    "missing": "is required",
    "string_type": "must be text",
    "list_type": "must be a list",
    "dict_type": "must be a JSON object",
    "model_type": "must be a JSON object",
    "model_attributes_type": "must be a JSON object",
    "int_type": "must be a whole number",
    "bool_type": "must be true or false",
    "string_pattern_mismatch": "holds characters that are not allowed there",
}


def _refusal(e: ValidationError) -> ApiError:
    err = e.errors(include_url=False, include_input=False)[0]
    phrase = _PHRASES.get(err.get("type", ""))
    if phrase is None:
        msg = str(err.get("msg", "")).removeprefix("Value error, ")
        phrase = f"is not valid: {msg[:1].lower() + msg[1:]}"
    return ApiError(f"The model file's metadata field '{_where(err['loc'])}' {phrase}.")


def check_metadata(meta: object, limits: ModelLimits) -> tuple[StoredMetadata, ModelConfig]:
    """Validate a model file's metadata; ApiError (422) naming the first bad field."""
    if not isinstance(meta, dict):
        raise ApiError("The model file's metadata is not a JSON object.")
    try:
        stored = StoredMetadata.model_validate(meta)
    except ValidationError as e:
        raise _refusal(e) from None
    if set(stored.config.model_extra or {}) - _CONFIG_FIELDS:
        raise ApiError(
            "The model file's metadata field 'config' holds settings this version of Unrolled "
            "does not know; save the model again with this version."
        )
    try:
        cfg = ModelConfig.from_dict(stored.config.model_dump())
    except ValueError as e:
        raise ApiError(f"The model file's metadata field 'config' is not valid: {e}.") from None
    check_size(cfg, limits)
    if cfg.vocab_size is None:
        raise ApiError("The model reads vectors, not tokens: only models with a vocabulary run.")
    if cfg.loss != "ce":
        raise ApiError("Only models with a softmax output (loss 'ce') can be shown.")
    tokens = stored.vocab.tokens + (
        [stored.vocab.unk]
        if stored.vocab.unk and stored.vocab.unk not in stored.vocab.tokens
        else []
    )
    if len(tokens) != cfg.vocab_size:
        raise ApiError(
            f"The model file's vocabulary has {len(tokens)} tokens but its config says "
            f"{cfg.vocab_size}."
        )
    for what, items in (("vocab.tokens", tokens), ("labels", stored.labels or [])):
        if len(items) > limits.max_vocab:
            raise ApiError(
                f"The model file's metadata field '{what}' has {len(items)} entries; at most "
                f"{limits.max_vocab} (setting import_max_vocab)."
            )
    outputs = len(stored.labels) if stored.labels else cfg.vocab_size
    if cfg.output_size != outputs:
        named = "labels" if stored.labels else "vocabulary tokens"
        raise ApiError(
            f"The model has {cfg.output_size} outputs but {outputs} {named}: for a classifier, "
            "give one label per output."
        )
    return stored, cfg


def parse_metadata_blob(blob) -> object:
    """The JSON inside the `__metadata__` uint8 array."""
    if blob.dtype.kind != "u" or blob.dtype.itemsize != 1 or blob.ndim != 1:
        raise ApiError("The model file's metadata is not stored as UTF-8 JSON bytes.")
    try:
        return json.loads(blob.tobytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise ApiError("The model file's metadata is not valid JSON.") from None
