"""Traces run in worker threads, a bounded number at a time: the event loop stays free."""

import asyncio
import time

import httpx

from server.app import create_app
from server.core.settings import Settings
from server.tracing.service import TraceService
from tests.server.helpers import trace_body

SLOW = 0.6  # seconds each trace takes in these tests


def slow_build(monkeypatch):
    real = TraceService._build

    def build(self, p, form):
        time.sleep(SLOW)  # stands in for a long numpy computation (releases the GIL like BLAS)
        return real(self, p, form)

    monkeypatch.setattr(TraceService, "_build", build)


async def _run(app, n_traces: int):
    transport = httpx.ASGITransport(app=app)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as c:
            traces = [
                asyncio.create_task(c.post("/api/trace", json=trace_body(text="hel" + "l" * i)))
                for i in range(n_traces)
            ]
            await asyncio.sleep(0.1)  # the traces are now computing or waiting
            start = time.perf_counter()
            health = await c.get("/api/health")
            health_time = time.perf_counter() - start
            peak = app.state.traces.active
            started = time.perf_counter()
            results = await asyncio.gather(*traces)
            return health, health_time, peak, results, time.perf_counter() - started


def test_health_stays_fast_while_traces_run(monkeypatch, tmp_path):
    slow_build(monkeypatch)
    app = create_app(Settings(data_dir=tmp_path, max_concurrent_traces=2, trace_processes=0))
    health, health_time, peak, results, _ = asyncio.run(_run(app, 4))
    assert health.status_code == 200
    assert health_time < 0.2, f"health took {health_time:.3f} s while traces ran"
    assert peak == 2  # the semaphore: two compute, two wait
    assert all(r.status_code == 200 for r in results)
    assert app.state.traces.active == 0 and app.state.traces.waiting == 0


def test_cached_trace_is_not_recomputed(client):
    traces = client.app.state.traces
    calls = []
    real, real_many = traces._build, traces._build_many
    traces._build = lambda p, form: calls.append(form) or real(p, form)
    # forward halves are built with the others of their model waiting then (one, here)
    traces._build_many = lambda ps, form: calls.extend([form] * len(ps)) or real_many(ps, form)
    a = client.post("/api/trace", json=trace_body(text="hel")).content
    b = client.post("/api/trace", json=trace_body(text="hel")).content
    assert a == b and calls == ["body"]
    for _ in range(2):  # the same trace as WebSocket frames: its two halves once more, then cached
        with client.websocket_connect("/ws") as ws:
            ws.send_json(trace_body(text="hel"))
            while ws.receive_json()["phase"] != "done":
                pass
    assert calls == ["body", "forward", "backward"]
    client.post("/api/trace", json=trace_body(text="hel", top_k=2))
    assert len(calls) == 4


async def _same_trace_twice(app):
    transport = httpx.ASGITransport(app=app)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as c:
            body = trace_body(text="hell")
            return await asyncio.gather(*(c.post("/api/trace", json=body) for _ in range(3)))


def test_the_same_trace_asked_for_at_once_is_computed_once(monkeypatch, tmp_path):
    calls = []
    real = TraceService._build

    def build(self, p, form):
        calls.append(p.key)
        time.sleep(0.3)
        return real(self, p, form)

    monkeypatch.setattr(TraceService, "_build", build)
    app = create_app(Settings(data_dir=tmp_path, trace_processes=0))
    results = asyncio.run(_same_trace_twice(app))
    assert len(calls) == 1
    assert len({r.content for r in results}) == 1 and results[0].status_code == 200


def test_flow_can_be_skipped(client):
    with_flow = client.post("/api/trace", json=trace_body()).json()
    without = client.post("/api/trace", json=trace_body(flow=False)).json()
    assert with_flow["grad_flow"] is not None and without["grad_flow"] is None
    assert without["steps"] == with_flow["steps"]
