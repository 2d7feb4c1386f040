"""From a Prepared trace (server.tracing.request) to the trace JSON and its WebSocket frames.

`build` runs the engine's trace and serialises the result, as one POST body or as the
WebSocket frames, each frame already JSON text (or binary): the server only has to send them.
The frames come in two halves ("forward": start + forward frames; "backward": backward frames
+ done) so the first can be sent while the second is computed. server.tracing.service decides
where `build` runs (a trace process or a thread), never on the event loop.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine import batch
from engine.model import ModelState
from engine.tokenize import Encoded
from engine.trace import TRACE_FIELDS, Forward, Rows, build_backward, build_forward, step_record
from server.core.cache import ByteBudgetCache
from server.core.errors import ApiError
from server.core.responses import dumps
from server.core.settings import Settings
from server.models.registry import Entry
from server.tracing.binary import Packer
from server.tracing.request import Prepared

VOCAB_SHOWN_MAX = 2000  # larger vocabularies are left out of the trace (vocab_size says how big)
# the start frame has what the forward pass knows; the done frame what BPTT adds (and the loss)
START_EXCLUDES = (
    *("steps", "backward", "grad_flow", "grad_norms", "global_norm", "clipped"),
    "overview_backward",
)
DONE_FIELDS = ("loss", "grad_norms", "global_norm", "clipped", "grad_flow", "overview_backward")
FORMS = ("body", "forward", "backward", "forward-binary", "backward-binary")


def decorate(trace: dict, entry: Entry, encoded: Encoded, ignored: list[str] = ()) -> dict:
    """Add what the engine leaves to the server: model, task, tokens and token strings, and
    what the model read for each token (docs/server.md, "What the model read")."""
    names = entry.output_names()
    tokens = encoded.tokens
    trace["model"] = entry.id
    trace["task"] = entry.task
    trace["tokens"] = tokens  # as typed
    trace["tokens_seen"] = encoded.seen  # what the model read: a vocabulary token, or null
    trace["tokens_unknown"] = encoded.unknown_steps  # the steps t it does not know
    trace["tokens_ignored"] = list(ignored)  # a one-token set-up reads the first token only
    trace["normalize"] = entry.vocab.normalize
    trace["vocab_size"] = len(entry.vocab)
    if len(entry.vocab) <= VOCAB_SHOWN_MAX:
        trace["vocab"] = list(entry.vocab.tokens)
    if entry.labels:
        trace["labels"] = entry.labels
    unknown = encoded.unknown.tolist()
    for t, step in enumerate(trace["steps"]):
        if t < len(tokens):
            step.update(token=tokens[t], unknown=unknown[t], seen_as=encoded.seen[t])
        else:  # one-to-many: the steps after the one input read the zero vector
            step.update(token="", unknown=False, seen_as=None)
        _name_outputs(step, names)
    return trace


def _name_outputs(step: dict, names: list[str]) -> None:
    for p in step.get("top") or []:
        p["token"] = names[p["index"]] if p["index"] < len(names) else str(p["index"])
    target = step.get("target")
    step["target_token"] = names[target] if isinstance(target, int) and target >= 0 else None


def start_frames(trace: dict):
    """The first half of a trace's WebSocket frames: start, then forward t = 0..T-1.

    `trace` needs the start fields and "steps" only (build_forward's part, decorated)."""
    yield {
        "phase": "start",
        **{k: v for k, v in trace.items() if k not in START_EXCLUDES},
        "T": len(trace["steps"]),
    }
    for step in trace["steps"]:
        yield {"phase": "forward", **step}


def end_frames(trace: dict):
    """The second half: backward t = T-1..0, then done (needs "backward" and DONE_FIELDS)."""
    for back in reversed(trace["backward"]):
        yield {"phase": "backward", **back}
    yield {"phase": "done", **{k: trace.get(k) for k in DONE_FIELDS}}


@dataclass
class Computed:
    """A finished trace, serialised: the POST body (bytes) or the WebSocket frames (JSON text)."""

    T: int
    cost: int  # rough memory use in bytes, for the cache
    payload: bytes | list[str]
    final_state: ModelState | None = None  # after the last token (forward halves): live typing


def _forward(
    p: Prepared, s: Settings, frames: bool = True, rows: Rows | None = None, run=None
) -> Forward:
    req = p.request
    return build_forward(
        p.entry.model,
        p.ids,
        targets=p.targets,  # None: engine.targets' defaults (a classifier explains its answer)
        state=p.state,
        truncate=req.truncate,
        truncate_mode=req.truncate_mode,
        clip=req.clip,
        layer=req.layer,
        direction=req.direction,
        top_k=req.top_k,
        flow=req.flow and len(p.ids) <= s.flow_limit,
        flow_limit=s.flow_limit,
        steps=p.steps,
        frames=frames,
        rows=rows,
        blank=p.blank,  # a fill-in-the-blank model's default targets: its guess at the blank
        run=run,  # its model.forward, when build_many ran it with others
    )


# The forward passes done last in this process: the "backward" half of a trace finds its own
# here when it runs in the process (or thread pool) that did the "forward" half, and skips it.
# server.tracing.pool sends it there; in a burst, many other forward halves run in between, so
# they are kept up to a memory budget (trace_cache_mb), not a count.
_recent: ByteBudgetCache[Forward] | None = None


def _forward_bytes(fwd: Forward) -> int:
    """Roughly the memory a forward pass holds: its arrays."""
    run = fwd.run
    arrays = [run.x, run.top, run.outputs, run.probs]
    for layer in run.tapes:
        for tape in layer:
            arrays += [tape.x, tape.h, tape.c, tape.pre, *tape.gates.values()]
            if not tape.params_shared:  # a batch's tapes share one copy of the parameters
                arrays += tape.params.values()
    return sum(a.nbytes for a in arrays if isinstance(a, np.ndarray))


def _recent_forwards(s: Settings) -> ByteBudgetCache[Forward]:
    global _recent
    if _recent is None:
        _recent = ByteBudgetCache(s.trace_cache_mb * 1_000_000, _forward_bytes)
    return _recent


def _texts(frames) -> list[str]:
    return [dumps(f).decode() for f in frames]


def batchable(p: Prepared, form: str) -> bool:
    """Can this trace's `form` be built with others by build_many?"""
    return (
        form.partition("-")[0] == "forward" and p.steps is None and batch.batchable(p.entry.model)
    )


def build_many(ps: list[Prepared], s: Settings, form: str) -> list[tuple]:
    """The forward halves (`form` "forward" or "forward-binary") of traces of one model, their
    forward passes run side by side (engine.batch.forward_many): a classroom's burst of
    different sentences costs about what its longest one does. Returns an answer per trace, in
    order, as `answer` gives it: a trace that cannot be built fails alone."""
    if not ps or not all(batchable(p, form) for p in ps):
        raise ValueError("build_many takes the forward halves of batchable traces")
    model = ps[0].entry.model
    try:
        runs = batch.forward_many(model, [p.ids for p in ps], [p.state for p in ps])
    except ValueError:  # one input the model refuses: each on its own, to say which
        runs = [None] * len(ps)
    return [
        answer(lambda p=p, run=run: build(p, s, form, run)) for p, run in zip(ps, runs, strict=True)
    ]


def answer(work) -> tuple:
    """(True, work()) or (False, (message, status)): how a trace process answers the server,
    which raises it again (server.tracing.pool.unwrap)."""
    try:
        return True, work()
    except ApiError as e:
        return False, (str(e), e.status)
    except Exception as e:  # noqa: BLE001 - reported to the server, which answers 500-free
        return False, (f"The trace could not be computed ({type(e).__name__}: {e}).", 500)


def build(p: Prepared, s: Settings, form: str, run=None) -> Computed:
    """The trace of a prepared request, serialised as `form`: "body" (the POST answer),
    "forward" (start and forward frames) or "backward" (backward and done frames);
    "forward-binary" and "backward-binary" are those halves as one binary message each
    (server.tracing.binary). The backward half reuses the forward pass when it runs where the
    forward half ran, else runs it again (cheap; it converts none of its per-step data)."""
    if form not in FORMS:
        raise ValueError(f"form must be one of {FORMS}, got {form!r}")
    half, _, encoding = form.partition("-")
    if run is not None and half != "forward":
        raise ValueError("a forward pass already run is for a forward half")
    packer = Packer() if encoding == "binary" else None
    rows = packer.rows if packer else None  # None: lists of floats, for JSON
    recent = _recent_forwards(s)
    fwd = recent.pop(p.key) if half == "backward" else None
    if fwd is None:
        fwd = _forward(p, s, frames=half != "backward", rows=rows, run=run)
    if half == "forward":
        head = list(start_frames(decorate(_head(fwd), p.entry, p.encoded, p.ignored)))
        payload: bytes | list[str] = packer.pack(head) if packer else _texts(head)
        fwd.steps = []  # sent; what the backward half needs is in the tapes
        recent.put(p.key, fwd)
    elif half == "backward":
        tail = list(end_frames({**fwd.head, **build_backward(fwd, rows)}))
        payload = packer.pack(tail) if packer else _texts(tail)
    else:
        parts = {**_head(fwd), **build_backward(fwd)}
        trace = decorate({k: parts[k] for k in TRACE_FIELDS}, p.entry, p.encoded, p.ignored)
        payload = dumps(trace)
    cost = len(payload) if isinstance(payload, bytes) else sum(len(f) for f in payload)
    final = fwd.run.final_state if half != "backward" else None
    return Computed(len(p.ids), cost, payload, final)


def _head(fwd: Forward) -> dict:
    return {**fwd.head, "steps": fwd.steps}


def live_steps(
    entry: Entry, state: ModelState | None, encoded: Encoded, t0: int, top_k: int, layer: int = -1
):
    """Live typing: one step per token from `state` (engine.trace.step_record), each a forward
    frame numbered from t0 showing `layer` (as the trace it continues), saying what the model
    read as a trace's steps do. Returns the state after the last token and the frames."""
    names = entry.output_names()
    frames = []
    ids, unknown = encoded.ids.tolist(), encoded.unknown.tolist()
    read = zip(encoded.tokens, ids, unknown, encoded.seen, strict=True)
    for t, (token, token_id, is_unknown, seen_as) in enumerate(read, start=t0):
        state, frame = step_record(entry.model, state, token_id, top_k=top_k, layer=layer)
        _name_outputs(frame, names)
        frame.update(phase="forward", live=True, t=t, token=token)
        frame.update(unknown=is_unknown, seen_as=seen_as)
        frames.append(frame)
    return state, frames
