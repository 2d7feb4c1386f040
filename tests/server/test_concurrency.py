"""Traces run in worker threads, a bounded number at a time: the event loop stays free."""

import asyncio
import time

import httpx

from server.app import create_app
from server.settings import Settings
from server.tracing import Tracer
from tests.server.helpers import trace_body

SLOW = 0.6  # seconds each trace takes in these tests


def slow_build(monkeypatch):
    real = Tracer._build

    def build(self, p):
        time.sleep(SLOW)  # stands in for a long numpy computation (releases the GIL like BLAS)
        return real(self, p)

    monkeypatch.setattr(Tracer, "_build", build)


async def _run(app, n_traces: int):
    transport = httpx.ASGITransport(app=app)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
            traces = [
                asyncio.create_task(c.post("/api/trace", json=trace_body(text="hel" + "l" * i)))
                for i in range(n_traces)
            ]
            await asyncio.sleep(0.1)  # the traces are now computing or waiting
            start = time.perf_counter()
            health = await c.get("/api/health")
            health_time = time.perf_counter() - start
            peak = app.state.tracer.active
            started = time.perf_counter()
            results = await asyncio.gather(*traces)
            return health, health_time, peak, results, time.perf_counter() - started


def test_health_stays_fast_while_traces_run(monkeypatch, tmp_path):
    slow_build(monkeypatch)
    app = create_app(Settings(data_dir=tmp_path, max_concurrent_traces=2))
    health, health_time, peak, results, _ = asyncio.run(_run(app, 4))
    assert health.status_code == 200
    assert health_time < 0.2, f"health took {health_time:.3f} s while traces ran"
    assert peak == 2  # the semaphore: two compute, two wait
    assert all(r.status_code == 200 for r in results)
    assert app.state.tracer.active == 0 and app.state.tracer.waiting == 0


def test_cached_trace_is_not_recomputed(client):
    tracer = client.app.state.tracer
    calls = []
    real = tracer._build
    tracer._build = lambda p: calls.append(1) or real(p)
    a = client.post("/api/trace", json=trace_body(text="hel")).content
    b = client.post("/api/trace", json=trace_body(text="hel")).content
    assert a == b and len(calls) == 1
    client.post("/api/trace", json=trace_body(text="hel", top_k=2))
    assert len(calls) == 2
