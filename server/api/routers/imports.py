"""POST /api/models/import: bring a PyTorch-trained model in as an .npz of plain arrays."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, File, Form, HTTPException, UploadFile
from starlette.concurrency import run_in_threadpool

from engine.tasks import task_name
from server.api.deps import RateLimited, RegistryDep, SettingsDep
from server.core.schemas import ERROR_RESPONSES, ModelDetail, check_text
from server.models import importer

router = APIRouter(prefix="/api/models", tags=["models"])


@router.post(
    "/import",
    dependencies=[RateLimited],
    response_model=ModelDetail,
    status_code=201,
    responses={code: ERROR_RESPONSES[code] for code in (413, 422, 429)},
    summary="Import a model trained with PyTorch",
)
async def import_model(
    registry: RegistryDep,
    settings: SettingsDep,
    file: Annotated[UploadFile, File(description="An .npz: weight_ih_l0, weight_hh_l0, ...")],
    cell: Annotated[Literal["rnn", "lstm", "gru"] | None, Form()] = None,
    vocab: Annotated[str | None, Form(max_length=2_000_000, description="JSON array")] = None,
    vocab_kind: Annotated[Literal["char", "word"], Form()] = "char",
    labels: Annotated[str | None, Form(max_length=100_000, description="JSON array")] = None,
    name: Annotated[str | None, Form(max_length=60)] = None,
    description: Annotated[str | None, Form(max_length=2000)] = None,
) -> dict:
    """The arrays keep PyTorch's names (`scripts/pt_to_npz.py` writes such a file from a .pt
    state dict). The vocabulary is a `vocab` array in the file or the `vocab` field; give
    `labels` for a classifier. Pickles are never loaded."""
    data = await file.read(settings.upload_max_bytes + 1)
    if len(data) > settings.upload_max_bytes:
        raise HTTPException(413, f"The file is larger than {settings.upload_max_bytes} bytes.")
    try:
        for text in (name, description):
            if text:
                check_text(text, "name or description")
        entry = await run_in_threadpool(
            _import,
            registry,
            data,
            4 * settings.upload_max_bytes,
            cell,
            vocab,
            vocab_kind,
            labels,
            name or (file.filename or "imported").rsplit(".", 1)[0],
            description,
        )
    except (importer.ImportProblem, ValueError) as e:
        raise HTTPException(422, str(e)) from e
    return entry.detail()


def _import(registry, data, max_unpacked, cell, vocab, vocab_kind, labels, name, description):
    arrays = importer.read_npz(data, max_unpacked)
    if importer.is_unrolled_file(arrays):
        loaded = importer.from_unrolled_file(data)
        return registry.add(
            loaded.model,
            loaded.vocab,
            source="imported",
            name=name,
            task=loaded.task
            or task_name(loaded.vocab.level, classify=bool(loaded.metadata.get("labels"))),
            description=description or loaded.description,
            example=loaded.metadata.get("example", ""),
            labels=loaded.metadata.get("labels"),
        )
    done = importer.build(
        arrays,
        cell=cell,
        vocab_tokens=importer.strings(vocab, "vocab"),
        vocab_kind=vocab_kind,
        labels=importer.strings(labels, "labels"),
    )
    cfg = done.model.config
    text = description or (
        f"An imported {cfg.cell.upper()} ({cfg.hidden_size} hidden units, {cfg.num_layers} "
        f"layer(s){', bidirectional' if cfg.bidirectional else ''})."
    )
    if done.notes:
        text += " " + " ".join(done.notes)
    example = (" " if vocab_kind == "word" else "").join(done.vocab.tokens[:3])
    return registry.add(
        done.model,
        done.vocab,
        source="imported",
        name=name,
        task=task_name(vocab_kind, classify=bool(done.labels)),
        description=text,
        example=example,
        labels=done.labels,
    )
