"""Who computes the answers an exported page will ask for: the engine in this process (the
command line, the notebook), or the running server's services (GET /api/export).

Both give the same bytes the routes answer with: a sequence trace as its two binary halves
(server.tracing.binary: exact float64), an encoder–decoder's or a tree's trace and the
attention what-if as JSON, the projection as JSON. The bag-of-words answers and the models'
details are cheap and read from the registry and the shipped files directly
(server.export.page_requests).
"""

from __future__ import annotations

import asyncio
from functools import lru_cache
from typing import Protocol

from server.core.schemas import (
    Seq2SeqTraceRequest,
    Seq2SeqWhatIfRequest,
    TraceRequest,
    TreeTraceRequest,
)
from server.core.settings import Settings
from server.models.bow_models import BowModels
from server.models.registry import Registry

KindRequest = Seq2SeqTraceRequest | Seq2SeqWhatIfRequest | TreeTraceRequest


class Answers(Protocol):
    registry: Registry
    settings: Settings
    bow: BowModels

    def trace(self, req: TraceRequest) -> tuple[bytes, bytes]:
        """POST /api/trace's forward and backward halves, binary."""

    def kind(self, name: str, req: KindRequest) -> bytes:
        """POST /api/seq2seq/trace ("seq2seq"), /api/seq2seq/whatif ("whatif") or
        /api/tree/trace ("tree") as JSON bytes."""

    def projection(self, model: str, layer: int, direction: int) -> bytes:
        """GET /api/models/{id}/projection as JSON bytes."""


def _prepare_kind(name: str, req: KindRequest, registry: Registry, s: Settings):
    from server.tracing import seq2seq, tree

    if name == "whatif":
        return seq2seq.prepare_whatif(req, registry, s)
    return (seq2seq.prepare if name == "seq2seq" else tree.prepare)(req, registry, s)


@lru_cache(maxsize=1)
def shipped_bow() -> BowModels:
    """The shipped bag-of-words models, read once per process."""
    return BowModels()


class InProcess:
    """Everything computed here with the engine: no server runs."""

    def __init__(self, settings: Settings, registry: Registry | None = None):
        self.settings = settings
        self.registry = registry  # export_html binds the registry it was given
        self.bow = shipped_bow()
        self._projections = None

    def bind(self, registry: Registry) -> InProcess:
        """The same settings on `registry` (export_html's)."""
        if registry is self.registry:
            return self
        return InProcess(self.settings, registry)

    def trace(self, req: TraceRequest) -> tuple[bytes, bytes]:
        from server.tracing.build import build
        from server.tracing.request import prepare

        p = prepare(req, self.registry, self.settings)
        s = self.settings
        return build(p, s, "forward-binary").payload, build(p, s, "backward-binary").payload

    def kind(self, name: str, req: KindRequest) -> bytes:
        from server.tracing.process import kind_jobs

        return kind_jobs()[name](_prepare_kind(name, req, self.registry, self.settings))

    def projection(self, model: str, layer: int, direction: int) -> bytes:
        from server.tracing.projection import ProjectionService

        if self._projections is None:
            self._projections = ProjectionService(self.settings, self.registry)
        return self._projections.get(model, layer, direction)


class ThroughServer:
    """The running server's trace service (its cache, its bound on concurrent traces, its
    processes) and projection cache. Called from a worker thread: each coroutine is handed to
    the server's event loop and waited for."""

    def __init__(self, app_state, loop: asyncio.AbstractEventLoop):
        self.settings = app_state.settings
        self.registry = app_state.registry
        self.bow = app_state.bow
        self.traces = app_state.traces
        self.projections = app_state.projections
        self.loop = loop

    def bind(self, registry: Registry) -> ThroughServer:
        return self

    def _wait(self, coro):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result()

    def trace(self, req: TraceRequest) -> tuple[bytes, bytes]:
        prepared = self.traces.prepare(req)
        forward = self._wait(self.traces.compute(prepared, "forward-binary"))
        backward = self._wait(self.traces.compute(prepared, "backward-binary"))
        return forward.payload, backward.payload

    def kind(self, name: str, req: KindRequest) -> bytes:
        prepared = _prepare_kind(name, req, self.registry, self.settings)
        return self._wait(self.traces.model_kind(name, prepared))

    def projection(self, model: str, layer: int, direction: int) -> bytes:
        return self.projections.get(model, layer, direction)
