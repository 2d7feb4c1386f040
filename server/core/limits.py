"""The request limits that come from the Settings, in one table: the checks read it, and so does
the OpenAPI schema, so /openapi.json states exactly what this server enforces (a deployment
that sets UNROLLED_MAX_TOP_K=50 documents 50).

Bounds that do not depend on a setting stay in the request models' Field(...) (server.core.
schemas), which pydantic both enforces and documents.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel

from server.core.errors import ApiError
from server.core.settings import Settings

_RUN = ("TraceRequest", "GradcheckRequest")  # RunRequest's fields are in both
_SEQ2SEQ = ("Seq2SeqTraceRequest", "Seq2SeqWhatIfRequest")


@dataclass(frozen=True)
class Bound:
    models: tuple[str, ...]  # the request models (OpenAPI component names) with this field
    field: str
    kind: Literal["maximum", "maxLength", "maxItems"]
    value: Callable[[Settings], int]


BOUNDS = (
    Bound(_RUN, "text", "maxLength", lambda s: s.max_text_chars),
    Bound(_RUN, "targets", "maxItems", lambda s: s.max_tokens),
    Bound(_RUN, "truncate", "maximum", lambda s: s.max_tokens),
    Bound(_RUN, "steps", "maximum", lambda s: s.max_tokens),  # one-to-many models' steps
    Bound(("TraceRequest",), "top_k", "maximum", lambda s: s.max_top_k),
    Bound(("GradcheckRequest",), "t", "maximum", lambda s: s.max_tokens - 1),
    Bound(("SampleRequest",), "prime", "maxLength", lambda s: s.max_text_chars),
    Bound(("SampleRequest",), "n", "maximum", lambda s: s.max_sample_tokens),
    Bound(("SampleRequest",), "top_k", "maximum", lambda s: s.max_top_k),
    Bound(_SEQ2SEQ, "source", "maxLength", lambda s: s.max_text_chars),
    Bound(_SEQ2SEQ, "target", "maxLength", lambda s: s.max_text_chars),
    Bound(_SEQ2SEQ, "max_len", "maximum", lambda s: s.max_decode_tokens),
    Bound(_SEQ2SEQ, "top_k", "maximum", lambda s: s.max_top_k),
    Bound(("Seq2SeqWhatIfRequest",), "t", "maximum", lambda s: s.max_decode_tokens),
    Bound(("Seq2SeqWhatIfRequest",), "focus", "maximum", lambda s: s.max_tokens - 1),
    Bound(("Seq2SeqWhatIfRequest",), "alpha", "maxItems", lambda s: s.max_tokens),
    Bound(("TreeTraceRequest",), "text", "maxLength", lambda s: s.max_text_chars),
    Bound(("TrainRequest",), "text", "maxLength", lambda s: s.train_max_text_chars),
    Bound(("TrainRequest",), "hidden_size", "maximum", lambda s: s.train_max_hidden),
    Bound(("TrainRequest",), "layers", "maximum", lambda s: s.train_max_layers),
    Bound(("TrainRequest",), "steps", "maximum", lambda s: s.train_max_steps),
    Bound(("TrainRequest",), "seq_len", "maximum", lambda s: s.train_max_seq_len),
    Bound(("TrainRequest",), "snapshot_every", "maximum", lambda s: s.train_max_steps),
)
_UNITS = {"maximum": "", "maxLength": " characters", "maxItems": " items"}

# Limits of whole operations (not of one field): appended to the operation's description and
# given as `x-limits` (setting name -> value).
OPERATION_LIMITS = (
    ("/api/rooms", "post", ("max_rooms", "room_max_students", "room_idle_ttl")),
    ("/api/rooms/{code}/state", "put", ("room_max_message_bytes", "room_rate")),
)


def check(request: BaseModel, settings: Settings) -> None:
    """422 naming the first field of `request` over its limit."""
    name = type(request).__name__
    for bound in BOUNDS:
        value = getattr(request, bound.field, None) if name in bound.models else None
        if value is None:
            continue
        size = value if bound.kind == "maximum" else len(value)
        limit = bound.value(settings)
        if size > limit:
            raise ApiError(f"{bound.field}: at most {limit}{_UNITS[bound.kind]}.")


def document(schema: dict, settings: Settings) -> dict:
    """Write the bounds into an OpenAPI schema (in place) and return it."""
    components = schema.get("components", {}).get("schemas", {})
    for bound in BOUNDS:
        for model in bound.models:
            prop = components.get(model, {}).get("properties", {}).get(bound.field)
            if prop is None:
                continue
            # optional fields are anyOf [{type...}, {type: null}]: the bound goes on the type
            for target in prop.get("anyOf", [prop]):
                if target.get("type") != "null":
                    target[bound.kind] = bound.value(settings)
    for path, method, names in OPERATION_LIMITS:
        operation = schema.get("paths", {}).get(path, {}).get(method)
        if operation is None:
            continue
        values = {name: getattr(settings, name) for name in names}
        operation["x-limits"] = values
        said = ", ".join(f"{name} = {value:g}" for name, value in values.items())
        operation["description"] = f"{operation.get('description', '')}\n\nLimits: {said}."
    return schema
