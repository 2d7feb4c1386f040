"""From a TraceRequest to the trace JSON (contracts.md section 4) and its WebSocket frames.

`prepare` checks the request against the model and the limits (cheap; its errors are 4xx);
`build` runs the engine's trace and serialises the result, as one POST body or as the
WebSocket frames, each frame already JSON text: the server only has to send them. The frames
come in two halves ("forward": start + forward frames; "backward": backward frames + done) so
the first can be sent while the second is computed. server.compute decides where `build`
runs (a worker process or thread), never on the event loop.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from engine.model import ModelState
from engine.trace import TRACE_FIELDS, Forward, Rows, build_backward, build_forward, step_record
from server.binary import Packer
from server.registry import Entry, Registry
from server.responses import dumps
from server.schemas import InitialState, TraceRequest
from server.settings import Settings

VOCAB_SHOWN_MAX = 2000  # larger vocabularies are left out of the trace (vocab_size says how big)
# the start frame has what the forward pass knows; the done frame what BPTT adds (and the loss)
START_EXCLUDES = ("steps", "backward", "grad_flow", "grad_norms", "global_norm", "clipped")
DONE_FIELDS = ("loss", "grad_norms", "global_norm", "clipped", "grad_flow")
FORMS = ("body", "frames", "forward", "backward", "forward-binary", "backward-binary")


class TraceError(ValueError):
    """A request that cannot be traced; `status` is the HTTP status to answer with."""

    def __init__(self, message: str, status: int = 422):
        super().__init__(message)
        self.status = status


@dataclass
class Prepared:
    entry: Entry
    request: TraceRequest
    tokens: list[str]
    ids: np.ndarray  # (T,)
    targets: np.ndarray | None
    state: ModelState | None
    key: tuple  # cache key


def tokenize(entry: Entry, text: str, max_tokens: int) -> tuple[list[str], np.ndarray]:
    tokens = entry.vocab.tokenize(text)
    if not tokens:
        raise TraceError("text has no tokens: type at least one character or word.")
    if len(tokens) > max_tokens:
        raise TraceError(
            f"text has {len(tokens)} tokens; at most {max_tokens} are allowed. Shorten the text."
        )
    try:
        ids = entry.vocab.encode_tokens(tokens)
    except ValueError as e:
        known = ", ".join(entry.vocab.tokens[:60]) + (" ..." if len(entry.vocab) > 60 else "")
        raise TraceError(f"Model {entry.id!r} does not know these {e}. It knows: {known}") from e
    return tokens, ids


def _targets(entry: Entry, req: TraceRequest, T: int) -> np.ndarray | None:
    if req.targets is None:
        return None  # language model: next token; classifier: its own prediction (in _build)
    names = entry.output_names()
    index = {n: i for i, n in enumerate(names)}
    T_out = 1 if entry.model.config.setup in ("many-to-one", "one-to-one") else T
    if len(req.targets) != T_out:
        what = "one label" if T_out == 1 else f"{T_out} targets (one per token)"
        raise TraceError(f"targets: this model needs {what}, got {len(req.targets)}.")
    out = []
    for t in req.targets:
        if isinstance(t, int):
            if not -1 <= t < len(names):
                raise TraceError(f"targets: index {t} is outside 0..{len(names) - 1} (or -1).")
            out.append(t)
        elif t in index:
            out.append(index[t])
        else:
            shown = ", ".join(names[:30])
            raise TraceError(f"targets: {t!r} is not one of the model's outputs ({shown}).")
    return np.asarray(out, dtype=np.int64)


def _initial_state(entry: Entry, req: TraceRequest) -> ModelState | None:
    spec = req.initial_state
    if spec == "zeros":
        return None
    model = entry.model
    cfg = model.config
    H, n = cfg.hidden_size, cfg.num_layers * cfg.num_directions
    if spec == "random":
        rng = np.random.default_rng(req.seed)
        hs = [rng.uniform(-1, 1, H) for _ in range(n)]
        cs = [rng.uniform(-1, 1, H) for _ in range(n)]
    else:
        assert isinstance(spec, InitialState)
        hs = _vectors(spec.h, H, n, "initial_state.h")
        cs = _vectors(spec.c, H, n, "initial_state.c") if spec.c is not None else [np.zeros(H)] * n
    cells, i = [], 0
    for _ in range(cfg.num_layers):
        layer = []
        for _ in range(cfg.num_directions):
            layer.append((hs[i], cs[i]) if cfg.cell == "lstm" else hs[i])
            i += 1
        cells.append(layer)
    return ModelState(cells)


def _vectors(value, H: int, n: int, what: str) -> list[np.ndarray]:
    rows = [value] * n if value and not isinstance(value[0], list) else value
    if len(rows) != n or any(len(r) != H for r in rows):
        raise TraceError(
            f"{what}: give {H} numbers (hidden size), or {n} lists of {H} (one per layer and "
            "direction)."
        )
    arr = np.asarray(rows, dtype=np.float64)
    if not np.isfinite(arr).all() or np.abs(arr).max() > 1e6:
        raise TraceError(f"{what}: numbers must be finite and at most 1e6 in size.")
    return list(arr)


def decorate(trace: dict, entry: Entry, tokens: list[str]) -> dict:
    """Add what the engine leaves to the server: model, task, tokens and token strings."""
    names = entry.output_names()
    trace["model"] = entry.id
    trace["task"] = entry.task
    trace["tokens"] = tokens
    trace["vocab_size"] = len(entry.vocab)
    if len(entry.vocab) <= VOCAB_SHOWN_MAX:
        trace["vocab"] = list(entry.vocab.tokens)
    if entry.labels:
        trace["labels"] = entry.labels
    for t, step in enumerate(trace["steps"]):
        step["token"] = tokens[t] if t < len(tokens) else ""
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


def frames(trace: dict):
    """The WebSocket frames of a trace: start, forward t=0..T-1, backward T-1..0, done."""
    yield from start_frames(trace)
    yield from end_frames(trace)


@dataclass
class Computed:
    """A finished trace, serialised: the POST body (bytes) or the WebSocket frames (JSON text)."""

    T: int
    cost: int  # rough memory use in bytes, for the cache
    payload: bytes | list[str]


def entry_for(registry: Registry, model_id: str) -> Entry:
    entry = registry.get(model_id)
    if entry is None:
        raise TraceError(f"There is no model {model_id!r}; GET /api/models lists them.", 404)
    return entry


def prepare(req: TraceRequest, registry: Registry, s: Settings) -> Prepared:
    """Check the request against the limits and the model; 4xx errors as TraceError."""
    if len(req.text) > s.max_text_chars:
        raise TraceError(
            f"text has {len(req.text)} characters; at most {s.max_text_chars} are allowed."
        )
    if req.top_k > s.max_top_k:
        raise TraceError(f"top_k may be at most {s.max_top_k}.")
    entry = entry_for(registry, req.model)
    cfg = entry.model.config
    L = cfg.num_layers
    if not -L <= req.layer < L:
        raise TraceError(f"layer: this model has {L} layer(s): use 0..{L - 1}, or -1.")
    if req.direction == 1 and not cfg.bidirectional:
        raise TraceError("direction: this model reads forward only; use direction 0.")
    if req.truncate is not None and cfg.jordan:
        raise TraceError("truncate is not available for this model.")
    tokens, ids = tokenize(entry, req.text, s.max_tokens)
    targets = _targets(entry, req, len(tokens))
    state = _initial_state(entry, req)
    key = (entry.id, entry.version, req.model_dump_json(exclude={"type"}))
    return Prepared(entry, req, tokens, ids, targets, state, key)


def _forward(p: Prepared, s: Settings, frames: bool = True, rows: Rows | None = None) -> Forward:
    req, model, targets = p.request, p.entry.model, p.targets
    if targets is None and model.config.setup in ("many-to-one", "one-to-one"):
        # Explain the model's own answer: the loss is that of its predicted label.
        run = model.forward(p.ids, p.state)
        targets = np.array([int(np.argmax(run.outputs[-1]))])
    return build_forward(
        model,
        p.ids,
        targets=targets,
        state=p.state,
        truncate=req.truncate,
        clip=req.clip,
        layer=req.layer,
        direction=req.direction,
        top_k=req.top_k,
        flow=req.flow and len(p.ids) <= s.flow_limit,
        flow_limit=s.flow_limit,
        frames=frames,
        rows=rows,
    )


# The forward passes done last in this process: the "backward" half of a trace finds its own
# here when it runs in the process (or thread pool) that did the "forward" half, and skips it.
# server.workers sends it there; in a burst, many other forward halves run in between, so
# they are kept up to a memory budget (trace_cache_mb), not a count.
_recent: OrderedDict[tuple, tuple[Forward, int]] = OrderedDict()
_recent_bytes = 0
_recent_lock = threading.Lock()


def _forward_bytes(fwd: Forward) -> int:
    """Roughly the memory a forward pass holds: its arrays."""
    run = fwd.run
    arrays = [run.x, run.top, run.outputs, run.probs]
    for layer in run.tapes:
        for tape in layer:
            arrays += [tape.x, tape.h, tape.c, tape.pre, *tape.gates.values()]
            arrays += tape.params.values()
    return sum(a.nbytes for a in arrays if isinstance(a, np.ndarray))


def _remember_forward(key: tuple, fwd: Forward, budget: int) -> None:
    global _recent_bytes
    size = _forward_bytes(fwd)
    if size > budget // 4:
        return
    with _recent_lock:
        if key in _recent:
            _recent_bytes -= _recent.pop(key)[1]
        _recent[key] = (fwd, size)
        _recent_bytes += size
        while _recent_bytes > budget:
            _recent_bytes -= _recent.popitem(last=False)[1][1]


def _recall_forward(key: tuple) -> Forward | None:
    global _recent_bytes
    with _recent_lock:
        fwd, size = _recent.pop(key, (None, 0))
        _recent_bytes -= size
        return fwd


def _texts(frames) -> list[str]:
    return [dumps(f).decode() for f in frames]


def build(p: Prepared, s: Settings, form: str) -> Computed:
    """The trace of a prepared request, serialised as `form`: "body" (the POST answer),
    "frames" (every WebSocket frame), "forward" (start and forward frames) or "backward"
    (backward and done frames); "forward-binary" and "backward-binary" are those halves as one
    binary message each (server.binary). The backward half reuses the forward pass when it runs
    where the forward half ran, else runs it again (cheap; it converts none of its per-step
    data)."""
    if form not in FORMS:
        raise ValueError(f"form must be one of {FORMS}, got {form!r}")
    half, _, encoding = form.partition("-")
    packer = Packer() if encoding == "binary" else None
    rows = packer.rows if packer else None  # None: lists of floats, for JSON
    fwd = _recall_forward(p.key) if half == "backward" else None
    if fwd is None:
        fwd = _forward(p, s, frames=half != "backward", rows=rows)
    if half == "forward":
        head = list(start_frames(decorate(_head(fwd), p.entry, p.tokens)))
        payload: bytes | list[str] = packer.pack(head) if packer else _texts(head)
        fwd.steps = []  # sent; what the backward half needs is in the tapes
        _remember_forward(p.key, fwd, s.trace_cache_mb * 1_000_000)
    elif half == "backward":
        tail = list(end_frames({**fwd.head, **build_backward(fwd, rows)}))
        payload = packer.pack(tail) if packer else _texts(tail)
    else:
        parts = {**_head(fwd), **build_backward(fwd)}
        trace = decorate({k: parts[k] for k in TRACE_FIELDS}, p.entry, p.tokens)
        payload = dumps(trace) if form == "body" else _texts(frames(trace))
    cost = len(payload) if isinstance(payload, bytes) else sum(len(f) for f in payload)
    return Computed(len(p.ids), cost, payload)


def _head(fwd: Forward) -> dict:
    return {**fwd.head, "steps": fwd.steps}


def live_step(entry: Entry, state: ModelState | None, token_id: int, top_k: int):
    """One live-typing step on `state` via engine.trace.step_record."""
    new_state, frame = step_record(entry.model, state, int(token_id), top_k=top_k)
    _name_outputs(frame, entry.output_names())
    return new_state, frame


def final_state(p: Prepared) -> ModelState:
    """Where live typing continues after a trace: the state after its last token."""
    return p.entry.model.forward(p.ids, p.state).final_state
