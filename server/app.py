"""The app factory: settings in, a FastAPI app with every router, handler and middleware out."""

from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from server import __version__
from server.api.routers import (
    api_docs,
    bow,
    export,
    gradcheck,
    health,
    imports,
    models,
    pages,
    projection,
    rooms,
    sample,
    seq2seq,
    trace,
    training,
    tree,
    ws,
)
from server.core import errors, limits
from server.core.paths import STATIC_DIR
from server.core.responses import OrjsonResponse
from server.core.settings import Settings
from server.models.bow_models import BowModels
from server.models.limits import ModelLimits
from server.models.registry import Registry
from server.rooms.rooms import Rooms
from server.tracing.projection import ProjectionService
from server.tracing.service import TraceService
from server.training.jobs import Jobs
from server.web import warmup
from server.web.assets import HashedStaticFiles
from server.web.rates import ClientRates
from server.web.security import BodyLimitMiddleware, SecurityHeadersMiddleware
from server.web.trust import TrustMiddleware, allowed_origins

DESCRIPTION = """Watch a recurrent network think: RNN, LSTM and GRU unrolled, forward and through
BPTT. Every error is JSON `{"detail": "..."}`; the WebSocket protocol is in docs/server.md."""


def create_app(settings: Settings | None = None, warm: bool = False) -> FastAPI:
    """`warm`: the served app answers the first page's requests itself as it starts
    (server.web.warmup), so the first visitor does not wait for what a fresh server builds."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        app.state.registry = Registry(settings.data_dir, limits=ModelLimits.from_settings(settings))
        app.state.traces = TraceService(settings, app.state.registry)
        app.state.bow = BowModels()
        await app.state.traces.start()  # worker processes up before the first request
        app.state.jobs = Jobs(settings, app.state.registry)
        app.state.projections = ProjectionService(settings, app.state.registry)
        app.state.rooms = Rooms(settings)
        await app.state.rooms.start()  # with a broker_url: Redis answers, or no start
        if warm:  # templates compiled, static files gzipped, route tables built
            await asyncio.to_thread(pages.warm)
            await warmup.warm(app)
        try:
            yield
        finally:
            await app.state.rooms.stop()
            await app.state.traces.stop()
            await app.state.jobs.shutdown()

    app = FastAPI(
        title="Unrolled",
        version=__version__,
        description=DESCRIPTION,
        default_response_class=OrjsonResponse,
        lifespan=lifespan,
        docs_url=None,  # FastAPI's own load their scripts from a CDN: ours are local (api_docs)
        redoc_url=None,
    )
    app.state.settings = settings
    _document_limits(app, settings)
    app.state.allowed_origins = allowed_origins(settings)
    app.state.rates = ClientRates(settings.api_rate, settings.api_burst)
    errors.install(app)

    # (first: a page's forty modules are matched here before any of the API's routes)
    app.mount("/static", HashedStaticFiles(directory=STATIC_DIR, check_dir=False), name="static")
    for router in (
        health,
        models,
        projection,
        trace,
        gradcheck,
        sample,
        training,
        imports,
        seq2seq,
        tree,
        export,
        bow,
        rooms,
    ):
        app.include_router(router.router)
    app.include_router(ws.router)
    app.include_router(rooms.socket_router)
    app.include_router(pages.router)
    app.include_router(api_docs.router)

    # Middleware added last runs first: headers outermost (so even a 413 carries them), then
    # who may ask at all (Host, Origin), then the size cap, then CORS.
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "DELETE"],
            allow_headers=["content-type"],
        )
    app.add_middleware(
        BodyLimitMiddleware,
        max_body_bytes=settings.max_body_bytes,
        upload_max_bytes=settings.upload_max_bytes,
        body_timeout=settings.body_timeout,
    )
    app.add_middleware(TrustMiddleware, settings=settings, origins=app.state.allowed_origins)
    app.add_middleware(SecurityHeadersMiddleware, frame_ancestors=settings.frame_ancestors)
    return app


def _document_limits(app: FastAPI, settings: Settings) -> None:
    """/openapi.json states the limits this app enforces (server.core.limits)."""
    generate = app.openapi

    def openapi() -> dict:
        if app.openapi_schema is None:
            app.openapi_schema = limits.document(generate(), settings)
        return app.openapi_schema

    app.openapi = openapi
