"""Dependencies as Annotated aliases. The app keeps one instance of each on `app.state`
(made in the lifespan); tests swap them with `app.dependency_overrides[get_settings] = ...`."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from starlette.requests import HTTPConnection

from server.compute import Tracer
from server.jobs import Jobs
from server.registry import Registry
from server.settings import Settings


def get_settings(conn: HTTPConnection) -> Settings:
    return conn.app.state.settings


def get_registry(conn: HTTPConnection) -> Registry:
    return conn.app.state.registry


def get_tracer(conn: HTTPConnection) -> Tracer:
    return conn.app.state.tracer


def get_jobs(conn: HTTPConnection) -> Jobs:
    return conn.app.state.jobs


SettingsDep = Annotated[Settings, Depends(get_settings)]
RegistryDep = Annotated[Registry, Depends(get_registry)]
TracerDep = Annotated[Tracer, Depends(get_tracer)]
JobsDep = Annotated[Jobs, Depends(get_jobs)]
