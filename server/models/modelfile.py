"""One Unrolled model file (engine.storage), checked before the model is built: array headers,
then the metadata, then the sizes the metadata claims; only then engine.storage loads it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from engine.storage import META_KEY, LoadedModel, ModelFileError, load_model
from server.core.errors import ApiError
from server.models import archive
from server.models.limits import ModelLimits
from server.models.metadata import StoredMetadata, check_metadata, parse_metadata_blob


@dataclass
class CheckedModel:
    loaded: LoadedModel
    stored: StoredMetadata


def open_model_file(source: bytes | Path, limits: ModelLimits) -> CheckedModel:
    """Read a model file under the limits; ApiError (422) saying what is wrong with it."""
    headers = archive.read_headers(source, limits)
    if META_KEY not in headers:
        raise ApiError(f"The file is not an Unrolled model file (it has no {META_KEY}).")
    blob = archive.read_arrays(source, limits, {META_KEY})[META_KEY]
    stored, _ = check_metadata(parse_metadata_blob(blob), limits)
    try:
        loaded = load_model(source)
    except ModelFileError as e:
        raise ApiError(f"The model file cannot be used: {str(e).split(': ', 1)[-1]}.") from None
    return CheckedModel(loaded, stored)
