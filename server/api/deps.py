"""Dependencies as Annotated aliases. The app keeps one instance of each on `app.state`
(made in the lifespan); tests swap them with `app.dependency_overrides[get_settings] = ...`.

They are `async def` although none awaits: FastAPI runs a plain `def` dependency in its thread
pool, a thread hop per dependency per request (and per WebSocket a classroom opens)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException
from starlette.requests import HTTPConnection, Request

from server.core.settings import Settings
from server.models.registry import Registry
from server.rooms.rooms import Rooms
from server.tracing.projection import ProjectionService
from server.tracing.service import TraceService
from server.training.jobs import Jobs


async def get_settings(conn: HTTPConnection) -> Settings:
    return conn.app.state.settings


async def get_registry(conn: HTTPConnection) -> Registry:
    return conn.app.state.registry


async def get_traces(conn: HTTPConnection) -> TraceService:
    return conn.app.state.traces


async def get_jobs(conn: HTTPConnection) -> Jobs:
    return conn.app.state.jobs


async def get_projections(conn: HTTPConnection) -> ProjectionService:
    return conn.app.state.projections


async def get_rooms(conn: HTTPConnection) -> Rooms:
    return conn.app.state.rooms


SettingsDep = Annotated[Settings, Depends(get_settings)]
RegistryDep = Annotated[Registry, Depends(get_registry)]
TracesDep = Annotated[TraceService, Depends(get_traces)]
JobsDep = Annotated[Jobs, Depends(get_jobs)]
ProjectionsDep = Annotated[ProjectionService, Depends(get_projections)]
RoomsDep = Annotated[Rooms, Depends(get_rooms)]


async def rate_limited(request: Request) -> None:
    """For the expensive routes: 429 once this client has used up its requests
    (`api_rate` per second, bursts of `api_burst`)."""
    client = request.client.host if request.client else "unknown"
    wait = request.app.state.rates.take(client)
    if wait is not None:
        s = request.app.state.settings
        raise HTTPException(
            429,
            f"Too many requests: at most {s.api_rate:g} traces, gradient checks, samples or "
            f"imports per second from one computer. Try again in {wait} s.",
            headers={"Retry-After": str(wait)},
        )


RateLimited = Depends(rate_limited)
