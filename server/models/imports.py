"""An upload becomes a stored model: the one function POST /api/models/import calls.

Three kinds of file are taken, each checked before anything is built from it:
- an Unrolled model file (engine.storage; has `__metadata__`): metadata validated field by field,
  sizes checked against the limits, then loaded and stored again under a new id;
- an .npz of arrays under PyTorch's names (scripts/pt_to_npz.py writes one): server.models.importer;
- a `.pt` state dict (torch.save's zip): read with torch where it is installed (torch_files).
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.storage import META_KEY
from engine.tokenize import Vocabulary
from server.core.errors import ApiError
from server.core.schemas import check_text
from server.models import archive, importer, torch_files
from server.models.limits import ModelLimits
from server.models.modelfile import open_model_file
from server.models.registry import Entry, Registry


@dataclass
class ImportForm:
    """The form fields of POST /api/models/import, as sent (JSON fields still text)."""

    name: str
    cell: str | None = None
    vocab: str | None = None  # JSON array
    vocab_kind: str = "char"
    labels: str | None = None  # JSON array
    nonlinearity: str | None = None  # "tanh" | "relu": required for an RNN state dict
    description: str | None = None
    normalize: str | None = None  # "lower" | "none" (read as typed) | None: the file's own, or none


def import_model(registry: Registry, data: bytes, form: ImportForm, limits: ModelLimits) -> Entry:
    """Check the upload, build its model and store it; ApiError (4xx) saying what is wrong."""
    for text in (form.name, form.description):
        try:
            check_text(text or "", "name or description")
        except ValueError as e:
            raise ApiError(str(e)) from None
    registry.check_room()  # refuse early, before the work, when no model can be kept
    if torch_files.is_torch_zip(data):
        return _from_state_dict(registry, torch_files.load_state_dict(data, limits), form, limits)
    if torch_files.is_pickle(data):
        raise torch_files.refuse_pickle()
    headers = archive.read_headers(data, limits)
    if META_KEY in headers:
        return _from_unrolled_file(registry, data, form, limits)
    return _from_state_dict(registry, archive.read_arrays(data, limits), form, limits)


def normalized(vocab: Vocabulary, choice: str | None) -> Vocabulary:
    """The vocabulary with the form's normalisation ("lower", "none"; None keeps its own).

    Lower-casing needs lower-case tokens: a token with a capital could never be read, so it is
    refused (422) by name."""
    if choice is None:
        return vocab
    if choice not in ("lower", "none"):
        raise ApiError('normalize must be "lower" or "none".')
    normalize = "lower" if choice == "lower" else None
    if normalize == "lower":
        for token in vocab.tokens:
            if token != vocab.unk and token.lower() != token:
                raise ApiError(
                    f"normalize=lower lower-cases what the model reads, but the vocabulary has "
                    f"the token {token!r}, which would never be read. Leave normalize out, or "
                    "give a lower-case vocabulary."
                )
    return Vocabulary(vocab.tokens, level=vocab.level, unk=vocab.unk, normalize=normalize)


def _from_unrolled_file(
    registry: Registry, data: bytes, form: ImportForm, limits: ModelLimits
) -> Entry:
    checked = open_model_file(data, limits)
    loaded, stored = checked.loaded, checked.stored
    cfg = loaded.model.config
    cell = getattr(cfg, "cell", None)  # a tree model has none
    if form.nonlinearity and cell == "rnn" and form.nonlinearity != cfg.nonlinearity:
        raise ApiError(
            f"The file says its RNN uses {cfg.nonlinearity}, but the form says "
            f"{form.nonlinearity}: leave the choice out for an Unrolled model file."
        )
    return registry.add(
        loaded.model,
        normalized(loaded.vocab, form.normalize),
        source="imported",
        name=form.name,
        task=stored.task
        or (loaded.kind if loaded.kind != "sequence" else None)
        or f"next-{loaded.vocab.level}",
        description=form.description or stored.description,
        example=stored.example,
        labels=stored.labels,
        target_vocab=loaded.target_vocab,  # an encoder–decoder's
    )


def _from_state_dict(
    registry: Registry, arrays: dict, form: ImportForm, limits: ModelLimits
) -> Entry:
    most = limits.max_vocab
    done = importer.build(
        arrays,
        cell=form.cell,
        vocab_tokens=importer.strings(form.vocab, "vocab", most),
        vocab_kind=form.vocab_kind,
        labels=importer.strings(form.labels, "labels", most),
        nonlinearity=form.nonlinearity,
        limits=limits,
    )
    cfg = done.model.config
    relu = ", ReLU" if cfg.cell == "rnn" and cfg.nonlinearity == "relu" else ""
    text = form.description or (
        f"An imported {cfg.cell.upper()} ({cfg.hidden_size} hidden units{relu}, "
        f"{cfg.num_layers} layer(s){', bidirectional' if cfg.bidirectional else ''})."
    )
    if done.notes:
        text += " " + " ".join(done.notes)
    example = (" " if form.vocab_kind == "word" else "").join(done.vocab.tokens[:3])
    return registry.add(
        done.model,
        normalized(done.vocab, form.normalize),
        source="imported",
        name=form.name,
        task="classify" if done.labels else f"next-{form.vocab_kind}",
        description=text,
        example=example,
        labels=done.labels,
    )
