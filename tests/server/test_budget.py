"""Every request has a budget: work per request (max_work), requests per client (api_rate),
memory for gradient checks running together (gradcheck_memory_mb)."""

import asyncio
import threading
import time

import httpx
import pytest

from server.app import create_app
from server.core.settings import Settings
from server.tracing import gradcheck
from tests.server.helpers import trace_body

RNN_HELLO_STEP = 1 * 1 * 1 * 8**2  # layers x directions x gates x H^2 of rnn-hello


def test_a_request_over_the_work_budget_is_refused_with_the_numbers(make_client):
    c = make_client(max_work=5 * RNN_HELLO_STEP)
    assert c.post("/api/trace", json=trace_body(text="hello")).status_code == 200
    for path, extra in (("/api/trace", {}), ("/api/gradcheck", {"t": 0, "unit": 0})):
        r = c.post(path, json=trace_body(text="hellohe", **extra))
        assert r.status_code == 422
        detail = r.json()["detail"]
        assert "7 steps x 1 layer(s) x 1 direction(s) x 1 gate(s) x 8^2" in detail
        assert "max_work" in detail and "at most 5 tokens" in detail
    with c.websocket_connect("/ws") as ws:
        ws.send_json(trace_body(text="hellohe"))
        assert "max_work" in ws.receive_json()["message"]
        ws.send_json({"type": "feed", "model": "rnn-hello", "text": "hel"})
        assert [ws.receive_json()["t"] for _ in range(3)] == [0, 1, 2]
        ws.send_json({"type": "feed", "model": "rnn-hello", "text": "hellohe"})
        assert "max_work" in ws.receive_json()["message"]


def test_a_client_that_sends_too_many_expensive_requests_waits(make_client):
    c = make_client(api_rate=0.5, api_burst=3)
    for _ in range(3):
        assert c.post("/api/trace", json=trace_body()).status_code == 200
    r = c.post("/api/gradcheck", json=trace_body(t=0, unit=0))
    assert r.status_code == 429
    assert int(r.headers["retry-after"]) == 2
    assert "Try again in 2 s" in r.json()["detail"]
    # cheap routes, and other computers, are not held up
    assert c.get("/api/health").status_code == 200
    assert c.get("/api/models").status_code == 200
    from fastapi.testclient import TestClient

    other = TestClient(c.app, client=("192.168.1.20", 50000))
    assert other.post("/api/trace", json=trace_body()).status_code == 200


def test_concurrent_gradient_checks_stay_within_their_memory(tmp_path, monkeypatch):
    """Eight checks at once of a model whose check needs 0.6 of the budget: one at a time."""
    running, peak, lock = [0], [0], threading.Lock()
    real = gradcheck.check

    def check(p, req):
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        time.sleep(0.05)
        try:
            return real(p, req)
        finally:
            with lock:
                running[0] -= 1

    monkeypatch.setattr(gradcheck, "check", check)
    monkeypatch.setattr(gradcheck, "memory_bytes", lambda p, req: 600_000)
    settings = Settings(
        data_dir=tmp_path, trace_processes=0, gradcheck_memory_mb=1, allowed_hosts=["*"]
    )
    app = create_app(settings)

    async def run():
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as c:
                body = trace_body(t=1, unit=2)
                return await asyncio.gather(
                    *(c.post("/api/gradcheck", json=body) for _ in range(8))
                )

    answers = asyncio.run(run())
    assert [r.status_code for r in answers] == [200] * 8
    assert peak[0] == 1


@pytest.mark.parametrize("quantity", ["h", "rnn.weight_hh_l0"])
def test_a_gradient_check_bigger_than_the_budget_is_refused(make_client, monkeypatch, quantity):
    monkeypatch.setattr(gradcheck, "memory_bytes", lambda p, req: 3_000_000)
    c = make_client(gradcheck_memory_mb=2)
    r = c.post("/api/gradcheck", json=trace_body(t=0, unit=0, quantity=quantity, index=[0, 0]))
    assert r.status_code == 422
    assert "3 MB" in r.json()["detail"] and "gradcheck_memory_mb" in r.json()["detail"]


def test_the_memory_estimate_covers_a_real_check():
    """The estimate is at least what an H=2048 check was measured to hold (about 4x the model's
    parameters); here, for a demo model, it is at least its parameters four times over."""
    from server.core.schemas import GradcheckRequest
    from server.models.registry import Registry
    from server.tracing.request import prepare

    registry = Registry("/nonexistent")
    req = GradcheckRequest(model="lstm-rhymes", text="twinkle", t=0, unit=0)
    p = prepare(gradcheck.trace_request(req), registry, Settings(data_dir="/nonexistent"))
    params = sum(a.nbytes for a in p.entry.model.params.values())
    assert gradcheck.memory_bytes(p, req) >= 4 * params
