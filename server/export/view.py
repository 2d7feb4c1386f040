"""Which view to export: the page's state query checked (4xx sentences), the traces it needs,
and the offline data built from them.

The page's state (static/js/state.js) travels as its URL query, verbatim: the exported page
parses it as the live page does, so a property another view adds needs no change here. Only
the fields that decide which traces to compute are read here: model, text, clip, truncate,
tmode, layer, direction and view (the Compare view needs the other cells' traces).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import urlencode

from pydantic import ValidationError

from server.core.errors import ApiError
from server.core.schemas import TraceRequest
from server.core.settings import Settings
from server.export.document import PAGES, OfflineData, build_html
from server.models.registry import Entry, Registry
from server.tracing.request import Prepared, entry_for

_KEY = re.compile(r"^[a-z][a-z_]{0,31}$")
MAX_KEYS = 40
# What each trace's halves are computed by: a Prepared trace -> (forward, backward) binary.
Halves = Callable[[Prepared], tuple[bytes, bytes]]


@dataclass
class ExportView:
    """A view to export: the state query (cleaned) and the traces it needs."""

    query: dict[str, str]
    page: str
    main: TraceRequest
    compare: list[TraceRequest]

    @property
    def query_string(self) -> str:
        return urlencode(self.query)


def _number(query: Mapping[str, str], name: str, kind, positive: bool = True):
    raw = (query.get(name) or "").strip()
    if raw == "":
        return None
    try:
        value = kind(raw)
    except ValueError:
        raise ApiError(f"{name} must be a {kind.__name__} number.") from None
    if positive and not value > 0:
        raise ApiError(f"{name} must be above 0 (leave it out for none).")
    return value


def parse_view(
    query: Mapping[str, str], registry: Registry, s: Settings, page: str = "explorer"
) -> ExportView:
    """The page's state query -> an ExportView; a 4xx ApiError for anything it cannot show."""
    if page not in PAGES:
        raise ApiError(f"page must be one of {', '.join(PAGES)}.")
    if len(query) > MAX_KEYS:
        raise ApiError(f"At most {MAX_KEYS} state properties are accepted.")
    clean = {}
    for key, value in query.items():
        if not _KEY.match(key):
            raise ApiError("State property names are lower-case letters and _ (e.g. text, t).")
        if len(value) > s.max_text_chars:
            raise ApiError(f"{key}: at most {s.max_text_chars} characters.")
        clean[key] = value
    model_id = clean.get("model", "")
    if not model_id:
        raise ApiError("model is required: a model id from /api/models.")
    entry = entry_for(registry, model_id)  # 404 unknown; 422 a kind this export cannot show
    text = clean.get("text") or entry.summary()["example"]
    clean["text"] = text
    clip = _number(clean, "clip", float)
    truncate = _number(clean, "truncate", int)
    layer = _number(clean, "layer", int, positive=False)
    direction = _number(clean, "direction", int, positive=False)
    tmode = clean.get("tmode") or "chunked"
    fields = dict(model=model_id, text=text, clip=clip, truncate=truncate)
    try:
        main = TraceRequest(
            **fields,
            truncate_mode=tmode,
            layer=-1 if layer is None else layer,
            direction=direction or 0,
            top_k=5,
            flow=True,
        )
        compare = [
            TraceRequest(**{**fields, "model": other.id}, top_k=3)
            for other in comparable(registry.list(), entry)
            if clean.get("view") == "compare"
        ]
    except ValidationError as e:
        first = e.errors()[0]
        where = ".".join(str(x) for x in first["loc"])
        raise ApiError(f"{where}: {first['msg']}") from None
    return ExportView(clean, page, main, compare)


def comparable(entries: list[Entry], current: Entry) -> list[Entry]:
    """The models the Compare view shows beside `current` (static/js/views/compare.js's
    pickComparable: per cell kind the closest model, if it reads the same vocabulary)."""
    ref = current.summary()
    picks = []
    for kind in ("rnn", "lstm", "gru"):
        same = [
            e.summary() for e in entries if e.kind == "sequence" and e.model.config.cell == kind
        ]

        def score(m: dict) -> int:
            return (
                (64 if m["id"] == ref["id"] else 0)
                + (16 if m["vocab_size"] == ref["vocab_size"] else 0)
                + (8 if m["task"] == ref["task"] else 0)
                + (4 if m["source"] == ref["source"] else 0)
                + (2 if m["vocab_kind"] == ref["vocab_kind"] else 0)
                + (1 if m["hidden_size"] == ref["hidden_size"] else 0)
            )

        same.sort(key=score, reverse=True)  # stable, as the page's sort
        best = same[0] if same else None
        if (
            best
            and best["id"] != ref["id"]
            and best["vocab_kind"] == ref["vocab_kind"]
            and best["vocab_size"] == ref["vocab_size"]
        ):
            picks.append(next(e for e in entries if e.id == best["id"]))
    return picks


def _record(req: TraceRequest) -> dict:
    """How offline.js finds a trace for the page's request."""
    return req.model_dump(
        include={"model", "text", "clip", "truncate", "truncate_mode", "layer", "direction"}
    )


def offline_data(view: ExportView, registry: Registry, halves: list[tuple[bytes, bytes]]):
    """The OfflineData for `view`, given each trace's (forward, backward) binary halves in the
    order of `requests(view)`."""
    from server.export.bundle import packed

    reqs = requests(view)
    ids = []
    for r in reqs:
        if r.model not in ids:
            ids.append(r.model)
    models = [registry.get(i).summary() for i in ids]
    traces = [
        {"request": _record(r), "frames": [packed(f), packed(b)]}
        for r, (f, b) in zip(reqs, halves, strict=True)
    ]
    return OfflineData(
        view.query_string, models, traces, page=view.page, compare=bool(view.compare)
    )


def requests(view: ExportView) -> list[TraceRequest]:
    return [view.main, *view.compare]


def export_html(view: ExportView, registry: Registry, s: Settings, halves: Halves) -> str:
    """The exported file for `view`, each trace computed by `halves` (in this process for the
    command line, through the trace service for the route)."""
    from server.tracing.request import prepare

    computed = [halves(prepare(r, registry, s)) for r in requests(view)]
    return build_html(offline_data(view, registry, computed), s)


def in_process(s: Settings) -> Halves:
    """Compute traces here, with the engine (the command line, the notebook)."""
    from server.tracing.build import build

    def halves(p: Prepared) -> tuple[bytes, bytes]:
        return build(p, s, "forward-binary").payload, build(p, s, "backward-binary").payload

    return halves
