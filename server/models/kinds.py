"""The metadata of encoder–decoder ("seq2seq") and tree model files (engine/storage.py's model
kinds), validated field by field as server.models.metadata does for SequenceModel files, and
their sizes checked against the same import_max_* limits before anything is built."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from engine.seq2seq_config import BOS, EOS, Seq2SeqConfig
from engine.tree import TreeConfig
from server.core.errors import ApiError
from server.core.schemas import CellKind, Source
from server.models.limits import GATES, ModelLimits
from server.models.metadata import _PHRASES, StoredVocab, Text, Token, _distinct

Size = Annotated[int, Field(ge=1)]
Id = Annotated[int, Field(ge=0)]


class StoredSeq2SeqConfig(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")
    cell: CellKind
    src_vocab_size: Size
    tgt_vocab_size: Size
    bos_id: Id
    eos_id: Id
    hidden_size: Size
    input_encoding: Literal["onehot", "embedding"] = "onehot"
    embed_size: Size | None = None
    attention: Literal["general", "dot"] | None = None
    nonlinearity: Literal["tanh", "relu"] = "tanh"
    seed: int = Field(0, ge=0, le=2**63 - 1)


class StoredTreeConfig(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")
    vocab_size: Size
    hidden_size: Size
    num_classes: Size
    seed: int = Field(0, ge=0, le=2**63 - 1)


class _Common(BaseModel):
    """The fields every model file has (as server.models.metadata.StoredMetadata)."""

    model_config = ConfigDict(strict=True, extra="ignore")
    format: Literal["unrolled-model"]
    version: Literal[1]
    vocab: StoredVocab
    task: Annotated[Text, Field(max_length=50)] | None = None
    description: Annotated[Text, Field(max_length=4000)] = ""
    sha256: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
    id: Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{0,99}$")] | None = None
    source: Source | None = None
    example: Annotated[Text, Field(max_length=2000)] = ""
    name: Annotated[Text, Field(max_length=100)] | None = None
    labels: Annotated[list[Token], Field(min_length=1)] | None = None


class StoredSeq2Seq(_Common):
    kind: Literal["seq2seq"]
    config: StoredSeq2SeqConfig
    target_vocab: StoredVocab


class StoredTree(_Common):
    kind: Literal["tree"]
    config: StoredTreeConfig


def _refusal(e: ValidationError) -> ApiError:
    """The first problem, naming the field (our field names only, never the file's text)."""
    known = set(StoredSeq2Seq.model_fields) | set(StoredTree.model_fields)
    known |= set(StoredSeq2SeqConfig.model_fields) | set(StoredTreeConfig.model_fields)
    known |= set(StoredVocab.model_fields)
    err = e.errors(include_url=False, include_input=False)[0]
    parts: list[str] = []
    for part in err["loc"]:
        if isinstance(part, int):
            parts.append(f"[{part}]")
        elif part in known:
            parts.append(("." if parts else "") + part)
        else:
            break
    phrase = _PHRASES.get(err.get("type", ""))
    if phrase is None:
        msg = str(err.get("msg", "")).removeprefix("Value error, ")
        phrase = f"is not valid: {msg[:1].lower() + msg[1:]}"
    return ApiError(f"The model file's metadata field '{''.join(parts) or 'metadata'}' {phrase}.")


def _vocab_size(v: StoredVocab) -> int:
    return len(v.tokens) + (1 if v.unk and v.unk not in v.tokens else 0)


def check_kind_metadata(meta: dict, limits: ModelLimits) -> StoredSeq2Seq | StoredTree:
    """A seq2seq or tree file's metadata; ApiError (422) naming the first problem."""
    schema = StoredSeq2Seq if meta.get("kind") == "seq2seq" else StoredTree
    try:
        stored = schema.model_validate(meta)
    except ValidationError as e:
        raise _refusal(e) from None
    if stored.labels is not None:
        _distinct(stored.labels)
    cfg = stored.config
    try:
        (Seq2SeqConfig if schema is StoredSeq2Seq else TreeConfig).from_dict(cfg.model_dump())
    except ValueError as e:
        raise ApiError(f"The model file's metadata field 'config' is not valid: {e}.") from None
    H = cfg.hidden_size
    if H > limits.max_hidden:
        raise ApiError(
            f"The model's hidden size is {H}; this server takes at most {limits.max_hidden} "
            "(setting import_max_hidden)."
        )
    if isinstance(stored, StoredSeq2Seq):
        sizes = {"source vocabulary": cfg.src_vocab_size, "target vocabulary": cfg.tgt_vocab_size}
        vocabs = {"vocab": (stored.vocab, cfg.src_vocab_size)}
        vocabs["target_vocab"] = (stored.target_vocab, cfg.tgt_vocab_size)
        tokens = stored.target_vocab.tokens
        if tokens[cfg.bos_id : cfg.bos_id + 1] != [BOS] or tokens[cfg.eos_id : cfg.eos_id + 1] != [
            EOS
        ]:
            raise ApiError(
                f"The model file's target vocabulary must have {BOS} at bos_id and {EOS} at eos_id."
            )
        G = GATES[cfg.cell]
        I_e, I_d = (
            (cfg.embed_size, cfg.embed_size)
            if cfg.input_encoding == "embedding"
            else (cfg.src_vocab_size, cfg.tgt_vocab_size)
        )
        count = G * H * (I_e + I_d + 2 * H) + 4 * G * H + cfg.tgt_vocab_size * (H + 1)
        if cfg.input_encoding == "embedding":
            count += (cfg.src_vocab_size + cfg.tgt_vocab_size) * cfg.embed_size
        if cfg.attention is not None:
            count += 2 * H * H + H + (H * H if cfg.attention == "general" else 0)
    else:
        sizes = {"vocabulary": cfg.vocab_size, "output layer": cfg.num_classes}
        vocabs = {"vocab": (stored.vocab, cfg.vocab_size)}
        count = cfg.vocab_size * H + 2 * H * H + H + cfg.num_classes * (H + 1)
        if stored.labels is None or len(stored.labels) != cfg.num_classes:
            raise ApiError("A tree model file needs one label per class (metadata 'labels').")
    for what, size in sizes.items():
        if size > limits.max_vocab:
            raise ApiError(
                f"The model's {what} has {size} entries; this server takes at most "
                f"{limits.max_vocab} (setting import_max_vocab)."
            )
    if count > limits.max_parameters:
        raise ApiError(
            f"The model would have {count} parameters; this server takes at most "
            f"{limits.max_parameters} (setting import_max_parameters)."
        )
    for field, (vocab, size) in vocabs.items():
        if _vocab_size(vocab) != size:
            raise ApiError(
                f"The model file's '{field}' has {_vocab_size(vocab)} tokens but its config "
                f"says {size}."
            )
    return stored
