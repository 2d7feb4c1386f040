"""Which view to export: the page's state query checked (4xx sentences), every request the
page will make computed and recorded (server.export.page_requests), and the file built.

The page's state (static/js/state.js) travels as its URL query, verbatim: the exported page
parses it as the live page does, so a property another view adds needs no change here. Only
the fields that decide which requests the page makes are read here (model, text, clip,
truncate, tmode, layer, direction, view, overlay, target, whatif, bow, order_a, order_b);
`room` is dropped (a file cannot follow a classroom).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlencode

from server.core.errors import ApiError
from server.core.settings import Settings
from server.export.answers import Answers, InProcess
from server.export.document import PAGES, OfflineData, build_html
from server.export.page_requests import (
    Recorder,
    record_seq2seq,
    record_sequence,
    record_tree,
)
from server.models.registry import Entry, Registry
from server.tracing.request import NO_MODEL, NO_SNAPSHOT, is_snapshot_id

_KEY = re.compile(r"^[a-z][a-z_]{0,31}$")
MAX_KEYS = 40
DROPPED = ("room",)  # state properties an exported file does not keep


@dataclass
class ExportView:
    """A view to export: the state query (cleaned), its model and the numbers read from it."""

    query: dict[str, str]
    page: str
    entry: Entry
    numbers: dict  # clip, truncate, layer, direction (None: not given)

    @property
    def query_string(self) -> str:
        return urlencode(self.query)

    @property
    def model(self) -> str:
        return self.entry.id

    @property
    def text(self) -> str:
        return self.query["text"]


def _number(query: Mapping[str, str], name: str, kind, low: float | None = 0, default=None):
    """A number of the state, None (or `default`) when left out; above `low` (None: any)."""
    raw = (query.get(name) or "").strip()
    if raw == "":
        return default
    try:
        value = kind(raw)
    except ValueError:
        raise ApiError(f"{name} must be a {kind.__name__} number.") from None
    if low == 0 and not value > 0:
        raise ApiError(f"{name} must be above 0 (leave it out for none).")
    if low is not None and low != 0 and value < low:
        raise ApiError(f"{name} must be {low:g} or above.")
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
        if key not in DROPPED:
            clean[key] = value
    model_id = clean.get("model", "")
    if not model_id:
        raise ApiError("model is required: a model id from /api/models.")
    entry = registry.get(model_id)
    if entry is None:
        raise ApiError(NO_SNAPSHOT if is_snapshot_id(model_id) else NO_MODEL, 404)
    clean["text"] = clean.get("text") or entry.summary()["example"]
    numbers = {
        "clip": _number(clean, "clip", float),
        "truncate": _number(clean, "truncate", int),
        "layer": _number(clean, "layer", int, low=-1, default=-1),
        "direction": _number(clean, "direction", int, low=None, default=0),
    }
    if clean.get("tmode", "chunked") not in ("chunked", "sliding"):
        raise ApiError("tmode must be chunked or sliding.")
    return ExportView(clean, page, entry, numbers)


def comparable(entries: list[Entry], current: Entry) -> list[Entry]:
    """The models the Compare view traces (static/js/views/compare.js's pickComparable): per
    cell kind the closest model (the current one for its own kind), if it reads the same
    vocabulary."""
    ref = current.summary()
    picks = []
    for kind in ("rnn", "lstm", "gru"):
        same = [e.summary() for e in entries if e.summary()["cell"] == kind]

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
            and best["vocab_kind"] == ref["vocab_kind"]
            and best["vocab_size"] == ref["vocab_size"]
        ):
            picks.append(next(e for e in entries if e.id == best["id"]))
    return picks


def record(view: ExportView, answers: Answers) -> OfflineData:
    """Every request the exported page makes, computed by `answers`, as its OfflineData."""
    rec = Recorder(answers)
    entry, q = view.entry, view.query
    shown = [entry]
    if entry.kind == "seq2seq":
        record_seq2seq(rec, q, entry)
    elif entry.kind == "tree":
        record_tree(rec, q, entry)
    else:
        compare = []
        if view.page == "explorer" and q.get("view") == "compare":
            compare = comparable(answers.registry.list(), entry)
            shown += [e for e in compare if e.id != entry.id]
        record_sequence(rec, q, entry, view.numbers, view.page, compare)
    return OfflineData(
        view.query_string,
        [e.summary() for e in shown],
        [r.as_json() for r in rec.table],
        page=view.page,
        views=rec.views,
    )


def export_html(view: ExportView, registry: Registry, s: Settings, answers) -> str:
    """The exported file for `view`, each answer computed by `answers` (in this process for
    the command line and the notebook, through the server's services for the route)."""
    return build_html(record(view, answers.bind(registry)), s)


def in_process(s: Settings) -> InProcess:
    """Compute the answers here, with the engine (the command line, the notebook)."""
    return InProcess(s)
