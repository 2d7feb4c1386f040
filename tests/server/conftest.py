"""Server test fixtures: an app per test with its data dir in tmp_path."""

from __future__ import annotations

import logging

import pytest
from fastapi.testclient import TestClient

from server.app import create_app
from server.core.settings import Settings
from tests.server.redis_server import redis_server


@pytest.fixture
def settings(tmp_path) -> Settings:
    # api_rate: the tests send bursts a student never would; tests/server/test_budget.py
    # checks the per-client rate limit itself.
    return Settings(data_dir=tmp_path / "data", open_browser=False, trace_processes=0, api_rate=1e6)


@pytest.fixture
def make_client(tmp_path):
    """make_client(**overrides) -> an entered TestClient on a fresh app."""
    clients = []

    def make(**overrides) -> TestClient:
        overrides.setdefault("data_dir", tmp_path / "data")
        overrides.setdefault("trace_processes", 0)  # threads: fast to start
        overrides.setdefault("api_rate", 1e6)  # as in `settings`
        app = create_app(Settings(open_browser=False, **overrides))
        client = TestClient(app)
        client.__enter__()
        clients.append(client)
        return client

    yield make
    for c in reversed(clients):
        c.__exit__(None, None, None)


@pytest.fixture
def client(settings):
    with TestClient(create_app(settings)) as c:
        yield c


@pytest.fixture(autouse=True)
def no_server_errors(caplog):
    """Bad input must give a 4xx: the catch-all 500 handler must never have fired."""
    caplog.set_level(logging.ERROR, logger="unrolled")
    yield
    errors = [r for r in caplog.records if r.name == "unrolled" and r.levelno >= logging.ERROR]
    assert not errors, [r.getMessage() for r in errors]


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory):
    """A real redis-server of its own (no disk, loopback only) for this module's tests."""
    with redis_server(tmp_path_factory.mktemp("redis")) as url:
        yield url
