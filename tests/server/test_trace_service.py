"""Traces computed in worker processes give the same answers as in threads."""

import io

import numpy as np

from tests.server.helpers import trace_body


def test_process_pool_matches_threads(make_client):
    threads = make_client(trace_processes=0)
    procs = make_client(trace_processes=1)
    for body in (trace_body("lstm-rhymes", "twinkle"), trace_body("gru-question", "are you good")):
        assert (
            procs.post("/api/trace", json=body).content
            == threads.post("/api/trace", json=body).content
        )
    with procs.websocket_connect("/ws") as ws:
        ws.send_json(trace_body())
        phases = []
        while not phases or phases[-1] != "done":
            phases.append(ws.receive_json()["phase"])
    assert phases.count("forward") == 4
    traces = procs.app.state.traces
    assert traces.active == traces.waiting == 0


def test_worker_process_sees_models_added_later(make_client):
    c = make_client(trace_processes=1)
    c.post("/api/trace", json=trace_body())  # the worker is up and has read the models
    rng = np.random.default_rng(0)
    arrays = {
        "weight_ih_l0": rng.normal(size=(3, 3)),
        "weight_hh_l0": rng.normal(size=(3, 3)),
        "bias_ih_l0": np.zeros(3),
        "bias_hh_l0": np.zeros(3),
        "vocab": np.array(["x", "y", "z"]),
    }
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    form = {"nonlinearity": "tanh"}  # an RNN state dict must say which
    m = c.post("/api/models/import", files={"file": ("m.npz", buf.getvalue())}, data=form).json()
    r = c.post("/api/trace", json={"model": m["id"], "text": "xyz"})
    assert r.status_code == 200 and r.json()["tokens"] == ["x", "y", "z"]
