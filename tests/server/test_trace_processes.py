"""Trace processes (server/tracing/pool.py): routing, a process that dies, clean shutdown."""

import asyncio
import os
import signal

from server.core.schemas import TraceRequest
from server.core.settings import Settings
from server.models.registry import Registry
from server.tracing import build as tracing
from server.tracing import pool as pool_module
from server.tracing.pool import TraceProcessPool
from server.tracing.request import prepare
from tests.server.helpers import trace_body


def test_backward_half_goes_to_the_worker_that_did_the_forward(tmp_path):
    settings = Settings(data_dir=tmp_path, open_browser=False)
    request = prepare(
        TraceRequest.model_validate(trace_body("lstm-rhymes", "twinkle")),
        Registry(settings.data_dir),
        settings,
    )

    async def go():
        pool = TraceProcessPool(settings, 2)
        await pool.start()
        try:
            homes = []
            for _ in range(4):
                _, home = await pool.run(request, "forward-binary")
                await pool.run(request, "forward-binary", 1 - home)  # keep the other one busy
                _, used = await pool.run(request, "backward-binary", home)
                homes.append((home, used))
            pids = list(pool.pids)
        finally:
            await pool.stop()
        return homes, pids

    homes, pids = asyncio.run(go())
    assert all(home == used for home, used in homes)
    for pid in pids:  # stopped means gone, not orphaned
        assert not _running(pid)


def _running(pid: int) -> bool:
    return os.path.exists(f"/proc/{pid}") and "Z" not in open(f"/proc/{pid}/stat").read()


def test_backward_half_reuses_the_forward_pass_it_follows(tmp_path, monkeypatch):
    settings = Settings(data_dir=tmp_path, open_browser=False)
    registry = Registry(settings.data_dir)
    p = prepare(
        TraceRequest.model_validate(trace_body("gru-question", "are you good")), registry, settings
    )
    calls = []
    real = tracing._forward
    monkeypatch.setattr(tracing, "_forward", lambda *a, **k: calls.append(1) or real(*a, **k))
    tracing.build(p, settings, "forward-binary")
    tracing.build(p, settings, "backward-binary")
    assert len(calls) == 1  # one forward pass for both halves
    tracing.build(p, settings, "backward-binary")
    assert len(calls) == 2  # (taken once: a second backward computes its own)


def test_a_worker_that_dies_does_not_lose_traces(make_client):
    client = make_client(trace_processes=2)
    threads = make_client(trace_processes=0)
    client.post("/api/trace", json=trace_body())
    pids = list(client.app.state.traces.pool.pids)
    os.kill(pids[0], signal.SIGKILL)
    # new sentences (none from the cache), whichever worker they would have gone to
    for text in ("are you good", "you are good", "are you", "good"):
        body = trace_body("gru-question", text)
        r = client.post("/api/trace", json=body)
        assert r.status_code == 200
        assert r.content == threads.post("/api/trace", json=body).content
    with client.websocket_connect("/ws") as ws:
        ws.send_json({**trace_body("lstm-rhymes", "star"), "encoding": "binary"})
        assert len(ws.receive_bytes()) > 0 and len(ws.receive_bytes()) > 0
    assert client.app.state.traces.pool is None  # the pool was stopped, not left behind
    assert not _running(pids[1])


def test_processes_that_cannot_start_mean_threads_not_a_failure(make_client, monkeypatch, caplog):
    """A machine where processes cannot be started: the server still starts and traces in
    threads, and says so."""

    def refuse(*args, **kwargs):
        raise OSError("no processes here")

    monkeypatch.setattr(pool_module, "ProcessPoolExecutor", refuse)
    with caplog.at_level("WARNING", logger="unrolled"):
        client = make_client(trace_processes=2)
        r = client.post("/api/trace", json=trace_body("gru-question", "are you good"))
    assert r.status_code == 200 and r.json()["tokens"] == ["are", "you", "good"]
    assert client.app.state.traces.pool is None
    assert any("threads" in m for m in caplog.messages)


def test_gradient_checks_and_live_typing_run_in_the_trace_processes(make_client, monkeypatch):
    """Off the server process altogether (its GIL stays with the event loop), with the same
    answers as in a thread."""
    from server.tracing import gradcheck

    in_server = []
    for module, name in ((gradcheck, "check"), (tracing, "live_steps")):
        real = getattr(module, name)

        def spy(*args, _real=real, _name=name):
            in_server.append(_name)
            return _real(*args)

        monkeypatch.setattr(module, name, spy)
    threads = make_client()
    processes = make_client(trace_processes=1)
    body = trace_body("lstm-rhymes", "twinkle", t=2, unit=3)
    expected = threads.post("/api/gradcheck", json=body).json()
    in_server.clear()
    assert processes.post("/api/gradcheck", json=body).json() == expected
    with processes.websocket_connect("/ws") as ws:
        ws.send_json({"type": "feed", "model": "lstm-rhymes", "text": "twi"})
        assert [ws.receive_json()["token"] for _ in range(3)] == ["t", "w", "i"]
    assert in_server == []
