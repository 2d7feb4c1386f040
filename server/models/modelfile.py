"""One Unrolled model file (engine.storage), checked before the model is built: array headers,
then the metadata (server.models.metadata, or server.models.kinds for seq2seq and tree files),
then the sizes the metadata claims; only then engine.storage loads it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from engine.storage import META_KEY, LoadedModel, ModelFileError, load_model
from server.core.errors import ApiError
from server.models import archive
from server.models.kinds import StoredSeq2Seq, StoredTree, check_kind_metadata
from server.models.limits import ModelLimits
from server.models.metadata import StoredMetadata, check_metadata, parse_metadata_blob


@dataclass
class CheckedModel:
    loaded: LoadedModel
    stored: StoredMetadata | StoredSeq2Seq | StoredTree


def open_model_file(source: bytes | Path, limits: ModelLimits) -> CheckedModel:
    """Read a model file under the limits; ApiError (422) saying what is wrong with it."""
    headers = archive.read_headers(source, limits)
    if META_KEY not in headers:
        raise ApiError(f"The file is not an Unrolled model file (it has no {META_KEY}).")
    blob = archive.read_arrays(source, limits, {META_KEY})[META_KEY]
    meta = parse_metadata_blob(blob)
    kind = meta.get("kind", "sequence") if isinstance(meta, dict) else "sequence"
    if kind in ("seq2seq", "tree"):
        stored = check_kind_metadata(meta, limits)  # server.models.kinds
    elif kind != "sequence":
        raise ApiError("The model file's metadata field 'kind' is not one this server knows.")
    else:
        stored, _ = check_metadata(meta, limits)
    try:
        loaded = load_model(source)
    except ModelFileError as e:
        raise ApiError(f"The model file cannot be used: {str(e).split(': ', 1)[-1]}.") from None
    return CheckedModel(loaded, stored)
