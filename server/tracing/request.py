"""From a TraceRequest to a Prepared trace: checked against the limits and the model, once.

Every error here is a 4xx ApiError with a sentence a person understands (and never the user's
text). No token is refused for not being in the model's vocabulary: the vocabulary lower-cases
it if the model was trained lower-case, and reads what it still does not know as <unk> or as
the zero vector (engine.tokenize); the trace says which steps those were. A Prepared trace is
what the trace service caches by and what a trace process computes from (it is pickled to the
process without its `entry`, which the process looks up in its own registry).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from engine.model import ModelState
from engine.tasks import BLANK, FILL_BLANK
from engine.tokenize import Encoded
from server.core import limits
from server.core.errors import ApiError
from server.core.schemas import InitialState, TraceRequest
from server.core.settings import Settings
from server.models.registry import Entry, Registry
from server.models.snapshots import NO_SNAPSHOT, is_snapshot_id

NO_MODEL = "There is no model with that id; GET /api/models lists them."


@dataclass
class Prepared:
    entry: Entry
    request: TraceRequest
    encoded: Encoded  # the tokens as typed, what the model reads, which ones it does not know
    targets: np.ndarray | None
    state: ModelState | None
    key: tuple  # cache key: (model id, model version, the request as JSON)
    steps: int | None = None  # one-to-many: how many steps to run from the one input
    blank: int | None = None  # fill-in-the-blank model: the blank's id (its default targets)
    ignored: list[str] = field(default_factory=list)  # one-token set-ups: the tokens not read

    @property
    def tokens(self) -> list[str]:
        """The tokens as typed."""
        return self.encoded.tokens

    @property
    def ids(self) -> np.ndarray:
        """(T,) what the model reads: token ids, with NO_TOKEN (-1) for the zero vector."""
        return self.encoded.ids

    def without_entry(self) -> Prepared:
        """What is pickled to a trace process, which looks the model up itself (by key)."""
        return replace(self, entry=None)

    def with_entry(self, registry: Registry) -> Prepared:
        """Back in a trace process: the same model, at the same version, from its registry."""
        entry = registry.get(self.key[0])
        if entry is None or entry.version != self.key[1]:
            raise ApiError("The model changed or was removed meanwhile; trace it again.", 409)
        return replace(self, entry=entry)


def tokenize(entry: Entry, text: str, max_tokens: int) -> Encoded:
    """The text's tokens and what the model reads for each; none is refused or dropped."""
    tokens = entry.vocab.tokenize(text)
    if not tokens:
        raise ApiError("text has no tokens: type at least one character or word.")
    if len(tokens) > max_tokens:
        raise ApiError(
            f"text has {len(tokens)} tokens; at most {max_tokens} are allowed. Shorten the text."
        )
    return entry.vocab.lookup(tokens)


def _targets(entry: Entry, req: TraceRequest, T: int) -> np.ndarray | None:
    if req.targets is None:
        return None  # engine.targets' defaults: the next token; a classifier's own prediction
    names = entry.output_names()
    index = {n: i for i, n in enumerate(names)}
    T_out = 1 if entry.model.config.setup in ("many-to-one", "one-to-one") else T  # (or steps)
    if len(req.targets) != T_out:
        what = "one label" if T_out == 1 else f"{T_out} targets (one per token)"
        raise ApiError(f"targets: this model needs {what}, got {len(req.targets)}.")
    out = []
    for i, t in enumerate(req.targets):
        if isinstance(t, int):
            if not -1 <= t < len(names):
                raise ApiError(f"targets[{i}]: use an index in 0..{len(names) - 1} (or -1).")
            out.append(t)
        elif t in index:
            out.append(index[t])
        else:
            shown = ", ".join(names[:30]) + (" ..." if len(names) > 30 else "")
            raise ApiError(f"targets[{i}] is not one of the model's outputs ({shown}).")
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
        raise ApiError(
            f"{what}: give {H} numbers (hidden size), or {n} lists of {H} (one per layer and "
            "direction)."
        )
    arr = np.asarray(rows, dtype=np.float64)
    if not np.isfinite(arr).all() or np.abs(arr).max() > 1e6:
        raise ApiError(f"{what}: numbers must be finite and at most 1e6 in size.")
    return list(arr)


GATES = {"rnn": 1, "gru": 3, "lstm": 4}


def step_work(entry: Entry) -> int:
    """One time step's work: layers x directions x gates x H^2 (the recurrent products, which
    dominate; server.core.settings max_work)."""
    cfg = entry.model.config
    return cfg.num_layers * cfg.num_directions * GATES[cfg.cell] * cfg.hidden_size**2


def check_work(entry: Entry, steps: int, s: Settings, what: str = "text") -> None:
    """422 when `steps` time steps of this model cost more than one request may (max_work)."""
    per_step = step_work(entry)
    if steps * per_step <= s.max_work:
        return
    cfg = entry.model.config
    cost = (
        f"{steps} steps x {cfg.num_layers} layer(s) x {cfg.num_directions} direction(s) x "
        f"{GATES[cfg.cell]} gate(s) x {cfg.hidden_size}^2 = {steps * per_step:.2g}"
    )
    most = int(s.max_work // per_step)
    advice = (
        f"with this model, send at most {most} tokens"
        if most >= 1
        else "this model is too large to run here even for one token"
    )
    raise ApiError(
        f"This request is too much work for the server: {cost}, more than the {s.max_work:.2g} "
        f"one request may cost (max_work); {advice}."
    )


ROUTE_OF_KIND = {
    "sequence": "POST /api/trace",
    "seq2seq": "POST /api/seq2seq/trace",
    "tree": "POST /api/tree/trace",
}
NAME_OF_KIND = {
    "sequence": "a recurrent model",
    "seq2seq": "an encoder–decoder",
    "tree": "a recursive (tree) network",
}


def entry_for(registry: Registry, model_id: str, kind: str = "sequence") -> Entry:
    """The model, which must be of `kind` (GET /api/models says each model's kind)."""
    entry = registry.get(model_id)
    if entry is None:
        raise ApiError(NO_SNAPSHOT if is_snapshot_id(model_id) else NO_MODEL, 404)
    if entry.kind != kind:
        raise ApiError(
            f"This model is {NAME_OF_KIND[entry.kind]}, not {NAME_OF_KIND[kind]}: trace it "
            f"with {ROUTE_OF_KIND[entry.kind]}."
        )
    return entry


def prepare(req: TraceRequest, registry: Registry, s: Settings) -> Prepared:
    """Check the request against the limits and the model; 4xx errors as ApiError."""
    limits.check(req, s)
    entry = entry_for(registry, req.model)
    cfg = entry.model.config
    L = cfg.num_layers
    if not -L <= req.layer < L:
        raise ApiError(f"layer: this model has {L} layer(s): use 0..{L - 1}, or -1.")
    if req.direction == 1 and not cfg.bidirectional:
        raise ApiError("direction: this model reads forward only; use direction 0.")
    if req.truncate is not None and cfg.jordan:
        raise ApiError("truncate is not available for this model.")
    if req.truncate is not None and req.truncate_mode == "sliding" and L > 1:
        raise ApiError(
            'truncate_mode: "sliding" works for one-layer models; use "chunked" for this one.'
        )
    encoded = tokenize(entry, req.text, s.max_tokens)
    encoded, ignored = one_token(entry, encoded)
    steps = _steps(cfg.setup, req, len(encoded), s.max_tokens, entry.stored.steps)
    check_work(entry, steps or len(encoded), s)
    targets = _targets(entry, req, steps or len(encoded))
    state = _initial_state(entry, req)
    key = (entry.id, entry.version, req.model_dump_json(exclude={"type"}))
    return Prepared(entry, req, encoded, targets, state, key, steps, blank_id(entry), ignored)


def one_token(entry: Entry, encoded: Encoded) -> tuple[Encoded, list[str]]:
    """A one-to-one or one-to-many model reads exactly one token: the text's first. The rest
    is not read, and the trace says so (`tokens_ignored`); nothing is dropped silently."""
    if entry.model.config.setup not in ("one-to-one", "one-to-many") or len(encoded) <= 1:
        return encoded, []
    return entry.vocab.lookup(encoded.tokens[:1]), encoded.tokens[1:]


def blank_id(entry: Entry) -> int | None:
    """A fill-in-the-blank model's blank token id (engine.tasks.BLANK), else None."""
    if entry.task != FILL_BLANK or entry.model.config.setup != "many-to-many":
        return None
    return entry.vocab.tokens.index(BLANK) if BLANK in entry.vocab.tokens else None


def _steps(
    setup: str, req: TraceRequest, T: int, max_steps: int, default: int | None = None
) -> int | None:
    """How many steps a one-to-many model runs (None for the other set-ups): as asked, else
    one per target, else the model's own `default` (its file's "steps")."""
    if setup != "one-to-many":
        if req.steps is not None and req.steps != T:
            raise ApiError(f"steps: only one-to-many models take steps; this one is {setup}.")
        return None
    steps = req.steps if req.steps is not None else len(req.targets or []) or (default or 0)
    if steps < 1:
        raise ApiError(
            "steps: this one-to-many model needs to know how many steps to run from its one "
            "input; give steps (or one target per step)."
        )
    if steps > max_steps:
        raise ApiError(f"steps: at most {max_steps}.")
    return steps
