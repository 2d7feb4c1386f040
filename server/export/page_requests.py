"""The requests an exported page will make, each computed now and recorded with its answer.

The exported page has no server: static/js/api.js hands each request to static/js/offline.js,
which answers it from this table by its method, path and JSON body (canonical: keys sorted,
nulls left out), or says that it needs the live server. So the bodies built here must be the
ones the page builds, field for field; each function names the page code it mirrors, and the
browser tests (tests/browser/test_export_page.py) fail on any request the table misses.

What is recorded, for the state of the exported view:
- a sequence model: its trace (static/js/api.js traceRequest), the projection of the shown
  cell (the Path of h tab), the overlay sentence's trace (path.js), on the explorer the Order
  matters tab's answers (order.js: the bag-of-words list, the companion's vocabulary, both
  sentences' answers, and each other bag-of-words model's own pair), and, exported from the
  Compare tab, the other cells' traces (compare.js);
- an encoder–decoder: its trace (kinds.js) and the state's attention what-if (whatif.js);
- a tree: its trace (kinds.js).
An answer the server would refuse (a 4xx) is recorded as that refusal, so the exported page
says what the live page says; only the main trace's refusal refuses the export.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import urlencode

import orjson
from pydantic import ValidationError

from server.core.errors import ApiError, describe_validation_errors
from server.core.schemas import (
    Seq2SeqTraceRequest,
    Seq2SeqWhatIfRequest,
    TraceRequest,
    TreeTraceRequest,
)
from server.core.schemas.bow import BowPrediction, BowRequest, BowSummary
from server.export.answers import Answers
from server.export.bundle import packed
from server.models.bow_models import predict

TOP_K = 5  # api.js traceRequest and kinds.js
ONE_TO_MANY_STEPS = 10  # controller.js
COMPARE_TOP_K = 3  # compare.js
OVERLAY_TOP_K = 1  # path.js
# order.js PAIRS: each bag-of-words model's default pair (tests check the two stay the same)
ORDER_PAIRS = {
    "bow-question": ("you are good", "are you good"),
    "bow-sentiment": ("it was good , not bad", "it was bad , not good"),
}


@dataclass
class Recorded:
    """One request of the page and its answer: binary trace halves, JSON, or a refusal."""

    method: str
    path: str
    body: dict | None
    frames: list[str] | None = None  # a sequence trace: [forward, backward], gzip + base64
    json: str | None = None  # any other answer, gzip + base64
    error: tuple[str, int] | None = None  # (detail, status): the server's refusal

    def as_json(self) -> dict:
        out = {"method": self.method, "path": self.path, "body": self.body}
        if self.frames is not None:
            out["frames"] = self.frames
        elif self.json is not None:
            out["json"] = self.json
        else:
            out["error"] = {"detail": self.error[0], "status": self.error[1]}
        return out


def _no_nulls(body: dict) -> dict:
    return {k: v for k, v in body.items() if v is not None}


def _checked(schema, body: dict):
    """The body as its route reads it; a refusal in the words the server's handler uses."""
    try:
        return schema(**body)
    except ValidationError as e:
        raise ApiError(describe_validation_errors(e.errors())) from None


@dataclass
class Recorder:
    """The table being filled: `answers` computes, each method records one kind of request."""

    answers: Answers
    table: list[Recorded] = field(default_factory=list)
    views: list[str] = field(default_factory=list)  # tabs needing a server whose data is held

    def _has(self, method: str, path: str, body: dict | None) -> bool:
        return any(r.method == method and r.path == path and r.body == body for r in self.table)

    def _add(self, method: str, path: str, body: dict | None, work, *, main: bool = False):
        """Record work()'s answer ("frames" halves or JSON bytes); a refusal is recorded too,
        unless `main` (the view's own trace: then the export is refused)."""
        if self._has(method, path, body):
            return None
        try:
            kind, answer = work()
        except ApiError as e:
            if main:
                raise
            self.table.append(Recorded(method, path, body, error=(str(e), e.status)))
            return None
        if kind == "frames":
            self.table.append(Recorded(method, path, body, frames=[packed(h) for h in answer]))
        else:
            self.table.append(Recorded(method, path, body, json=packed(answer)))
        return answer

    # -- sequence models ------------------------------------------------------------------
    def trace(self, body: dict, *, main: bool = False) -> tuple[bytes, bytes] | None:
        """POST /api/trace, computed with the gradient-flow matrix (offline.js answers a request
        with or without `flow` from it)."""
        body = _no_nulls(body)

        def work():
            return "frames", self.answers.trace(_checked(TraceRequest, {**body, "flow": True}))

        return self._add("POST", "/api/trace", body, work, main=main)

    def projection(self, model: str, layer: int, direction: int) -> None:
        """GET /api/models/{id}/projection (api.js fetchProjection)."""
        q = urlencode({"layer": layer, "direction": direction})
        self._add(
            "GET",
            f"/api/models/{model}/projection?{q}",
            None,
            lambda: ("json", self.answers.projection(model, layer, direction)),
        )

    def model_detail(self, model_id: str) -> dict | None:
        """GET /api/models/{id} (api.js fetchModel)."""
        from server.core.schemas import ModelDetail

        def work():
            entry = self.answers.registry.get(model_id)
            if entry is None:
                raise ApiError("There is no model with that id.", 404)
            detail = ModelDetail.model_validate(entry.detail()).model_dump(mode="json")
            return "json", orjson.dumps(detail)

        return self._add("GET", f"/api/models/{model_id}", None, work)

    def bow_list(self) -> list[dict]:
        """GET /api/bow (api.js fetchBowModels)."""
        listed = [
            BowSummary.model_validate(e.summary()).model_dump(mode="json")
            for e in self.answers.bow.list()
        ]
        self._add("GET", "/api/bow", None, lambda: ("json", orjson.dumps(listed)))
        return listed

    def bow_predict(self, bow_id: str, text: str) -> None:
        """POST /api/bow/predict (api.js predictBow), with the route's checks."""
        body = {"model": bow_id, "text": text}
        s = self.answers.settings

        def work():
            req = _checked(BowRequest, body)
            if len(req.text) > s.max_text_chars:
                raise ApiError(
                    f"The text has {len(req.text)} characters; at most {s.max_text_chars} "
                    "(setting max_text_chars).",
                    422,
                )
            entry = self.answers.bow.get(req.model)
            answer = predict(entry, self.answers.registry, req.text, s.max_tokens)
            return "json", orjson.dumps(
                BowPrediction.model_validate(answer).model_dump(mode="json")
            )

        self._add("POST", "/api/bow/predict", body, work)

    # -- encoder–decoders and trees -------------------------------------------------------
    def kind(self, name: str, path: str, body: dict, *, main: bool = False) -> bytes | None:
        schema = {
            "seq2seq": Seq2SeqTraceRequest,
            "whatif": Seq2SeqWhatIfRequest,
            "tree": TreeTraceRequest,
        }[name]
        body = _no_nulls(body)

        def work():
            return "json", self.answers.kind(name, _checked(schema, body))

        return self._add("POST", path, body, work, main=main)


# -- what the page asks, state by state ---------------------------------------------------
def sequence_body(q: dict[str, str], entry, numbers: dict) -> dict:
    """api.js traceRequest(state), plus the controller's steps for a one-to-many model."""
    body = {
        "model": entry.id,
        "text": q["text"],
        "truncate": numbers["truncate"],
        "clip": numbers["clip"],
        "layer": numbers["layer"],
        "direction": numbers["direction"],
        "top_k": TOP_K,
        "flow": q.get("view") == "gradients",
    }
    if numbers["truncate"] is not None:
        body["truncate_mode"] = q.get("tmode") or "chunked"
    summary = entry.summary()
    if summary["setup"] == "one-to-many" and summary["steps"] is None:
        body["steps"] = ONE_TO_MANY_STEPS
    return body


def record_sequence(rec: Recorder, q: dict[str, str], entry, numbers: dict, page: str, compare):
    rec.trace(sequence_body(q, entry, numbers), main=True)
    L = entry.model.config.num_layers
    layer, direction = numbers["layer"] % L, numbers["direction"]  # the trace's own (resolved)
    rec.projection(entry.id, layer, direction)
    if q.get("overlay"):  # path.js overlayTrace
        rec.trace(
            {
                "model": entry.id,
                "text": q["overlay"],
                "layer": layer,
                "direction": direction,
                "top_k": OVERLAY_TOP_K,
                "flow": False,
            }
        )
    if "@" in entry.id and page == "explorer":  # main.js: a link to a training snapshot
        rec.model_detail(entry.id)
    if page != "explorer":
        return
    if q.get("view") == "compare":
        for other in compare:  # compare.js draw
            rec.trace(
                {
                    "model": other.id,
                    "text": q["text"],
                    "clip": numbers["clip"],
                    "truncate": numbers["truncate"],
                    "top_k": COMPARE_TOP_K,
                }
            )
        rec.views.append("compare")
    if record_order(rec, q, entry):
        rec.views.append("order")


def _order_pair(bow: dict) -> tuple[str, str]:
    """order.js sentences(): the model's pair, else its example and the example reversed."""
    if bow["id"] in ORDER_PAIRS:
        return ORDER_PAIRS[bow["id"]]
    return bow["example"], " ".join(reversed(bow["example"].split(" ")))


def record_order(rec: Recorder, q: dict[str, str], entry) -> bool:
    """order.js render(): the list, the shown model's companion's vocabulary and both answers;
    and each other bag-of-words model's own pair (its menu entry works offline too)."""
    listed = rec.bow_list()
    if not listed:
        return False
    shown = (
        next((m for m in listed if m["id"] == q.get("bow")), None)
        or next((m for m in listed if m["companion"] == entry.id), None)
        or listed[0]
    )
    for bow in [shown, *(m for m in listed if m is not shown)]:
        a, b = _order_pair(bow)
        if bow is shown:
            a, b = q.get("order_a") or a, q.get("order_b") or b
        rec.model_detail(bow["companion"])
        rec.bow_predict(bow["id"], a)
        rec.bow_predict(bow["id"], b)
    return True


def record_seq2seq(rec: Recorder, q: dict[str, str], entry) -> None:
    body = {"model": entry.id, "source": q["text"], "top_k": TOP_K}  # kinds.js seq2seq.request
    if q.get("target"):
        body["target"] = q["target"]
    raw = rec.kind("seq2seq", "/api/seq2seq/trace", body, main=True)
    trace = orjson.loads(raw) if raw is not None else None
    if trace is None or not trace.get("attention"):
        return
    w = parse_whatif(q.get("whatif", ""), len(trace["encoder"]), len(trace["decoder"]))
    if w is not None:  # main.js fetchWhatIf with whatif.js whatIfBody
        rec.kind("whatif", "/api/seq2seq/whatif", {**body, **w})


def record_tree(rec: Recorder, q: dict[str, str], entry) -> None:
    body = {"model": entry.id, "text": q["text"]}  # kinds.js tree.request
    if q.get("target"):
        body["label"] = q["target"]
    rec.kind("tree", "/api/tree/trace", body, main=True)


_NUMBER = re.compile(r"\s*[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?\s*")


def _js_number(text: str) -> float | None:
    """JavaScript's Number(text) for decimal text ("" is 0); None where it would not be a
    finite decimal (hex, Infinity and NaN are refused by whatif.js or not worth a record)."""
    if text.strip() == "":
        return 0.0
    return float(text) if _NUMBER.fullmatch(text) else None


def parse_whatif(raw: str, S: int, T: int) -> dict | None:
    """whatif.js parseWhatIf then whatIfBody: {"t", "focus"} or {"t", "alpha"} (normalised as
    the page normalises: each weight over the sum, left to right), or None."""
    m = re.fullmatch(r"([0-9]+):(.+)", raw or "")
    if not m:
        return None
    t = int(m.group(1))
    if t >= T:
        return None
    if re.fullmatch(r"[0-9]+", m.group(2)):
        s = int(m.group(2))
        return {"t": t, "focus": s} if s < S else None
    w = [_js_number(x) for x in m.group(2).split(",")]
    if len(w) != S or any(x is None or x < 0 for x in w):
        return None
    total = 0.0
    for x in w:
        total += x
    if not total > 0:
        return None
    return {"t": t, "alpha": [x / total for x in w]}
