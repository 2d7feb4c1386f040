"""Dependencies as Annotated aliases. The app keeps one instance of each on `app.state`
(made in the lifespan); tests swap them with `app.dependency_overrides[get_settings] = ...`."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from starlette.requests import HTTPConnection

from server.core.settings import Settings
from server.models.registry import Registry
from server.tracing.service import TraceService
from server.training.jobs import Jobs


def get_settings(conn: HTTPConnection) -> Settings:
    return conn.app.state.settings


def get_registry(conn: HTTPConnection) -> Registry:
    return conn.app.state.registry


def get_traces(conn: HTTPConnection) -> TraceService:
    return conn.app.state.traces


def get_jobs(conn: HTTPConnection) -> Jobs:
    return conn.app.state.jobs


SettingsDep = Annotated[Settings, Depends(get_settings)]
RegistryDep = Annotated[Registry, Depends(get_registry)]
TracesDep = Annotated[TraceService, Depends(get_traces)]
JobsDep = Annotated[Jobs, Depends(get_jobs)]
