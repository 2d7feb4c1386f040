"""POST /api/models/import: bring a PyTorch-trained model in (server/models/imports.py does it)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, File, Form, UploadFile
from starlette.concurrency import run_in_threadpool

from server.api.deps import RateLimited, RegistryDep, SettingsDep
from server.core.errors import ApiError
from server.core.schemas import ModelDetail, refusals
from server.models.imports import ImportForm, import_model
from server.models.limits import ModelLimits

router = APIRouter(prefix="/api/models", tags=["models"])


@router.post(
    "/import",
    dependencies=[RateLimited],
    response_model=ModelDetail,
    status_code=201,
    responses=refusals(409, 413, 422, 429),
    summary="Import a model trained with PyTorch",
)
async def import_model_route(
    registry: RegistryDep,
    settings: SettingsDep,
    file: Annotated[
        UploadFile,
        File(description="An .npz (weight_ih_l0, weight_hh_l0, ...) or a .pt state dict"),
    ],
    cell: Annotated[Literal["rnn", "lstm", "gru"] | None, Form()] = None,
    vocab: Annotated[str | None, Form(max_length=2_000_000, description="JSON array")] = None,
    vocab_kind: Annotated[Literal["char", "word"], Form()] = "char",
    labels: Annotated[str | None, Form(max_length=100_000, description="JSON array")] = None,
    nonlinearity: Annotated[
        Literal["tanh", "relu"] | None,
        Form(description="Required for an RNN state dict: the nonlinearity its nn.RNN used."),
    ] = None,
    normalize: Annotated[
        Literal["lower", "none"] | None,
        Form(
            description='"lower": the model lower-cases what it reads ("Are" is read as '
            '"are"); "none": read as typed. Left out: the file\'s own (an Unrolled file), '
            "else as typed."
        ),
    ] = None,
    name: Annotated[str | None, Form(max_length=60)] = None,
    description: Annotated[str | None, Form(max_length=2000)] = None,
) -> dict:
    """The arrays keep PyTorch's names (`scripts/pt_to_npz.py` writes such an .npz from a .pt
    state dict; where the server has torch, the .pt itself is taken). The vocabulary is a
    `vocab` array in the file or the `vocab` field; give `labels` for a classifier, and
    `nonlinearity` for an RNN. Pickles are never loaded."""
    data = await file.read(settings.upload_max_bytes + 1)
    if len(data) > settings.upload_max_bytes:
        raise ApiError(f"The file is larger than {settings.upload_max_bytes} bytes.", 413)
    form = ImportForm(
        name=name or (file.filename or "imported").rsplit(".", 1)[0][:60],
        cell=cell,
        vocab=vocab,
        vocab_kind=vocab_kind,
        labels=labels,
        nonlinearity=nonlinearity,
        description=description,
        normalize=normalize,
    )
    limits = ModelLimits.from_settings(settings)
    entry = await run_in_threadpool(import_model, registry, data, form, limits)
    return entry.detail()
