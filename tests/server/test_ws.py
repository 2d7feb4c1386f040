"""The /ws protocol (contracts.md section 5): frames in order, live typing, errors, limits."""

import threading
import time

import numpy as np
import pytest
from starlette.websockets import WebSocketDisconnect

from server.tracing.service import TraceService
from tests.server.helpers import trace_body


def receive_trace(ws) -> list[dict]:
    frames = [ws.receive_json()]
    while frames[-1].get("phase") != "done":
        frames.append(ws.receive_json())
    return frames


def test_frames_come_in_protocol_order(client):
    with client.websocket_connect("/ws") as ws:
        ws.send_json(trace_body("lstm-rhymes", "twinkle"))
        frames = receive_trace(ws)
    T = 7
    phases = [f["phase"] for f in frames]
    assert phases == ["start"] + ["forward"] * T + ["backward"] * T + ["done"]
    assert [f["t"] for f in frames[1 : T + 1]] == list(range(T))
    assert [f["t"] for f in frames[T + 1 : 2 * T + 1]] == list(range(T - 1, -1, -1))
    start = frames[0]
    assert start["tokens"] == list("twinkle") and "steps" not in start and "backward" not in start
    assert start["T"] == T and start["loss"] == frames[-1]["loss"]
    # what needs BPTT comes with the done frame (the start frame is sent before it is computed)
    assert not set(start) & {"grad_norms", "global_norm", "clipped", "grad_flow"}
    assert set(frames[-1]) >= {"loss", "grad_norms", "global_norm", "clipped", "grad_flow"}


def test_forward_frames_go_out_before_the_backward_pass_is_computed(monkeypatch, make_client):
    released, waited = threading.Event(), []
    real = TraceService._build

    def build(self, p, form):
        if form == "backward":  # BPTT waits until the client has every forward frame
            waited.append(released.wait(5))
        return real(self, p, form)

    monkeypatch.setattr(TraceService, "_build", build)
    client = make_client()
    http = client.post("/api/trace", json=trace_body(text="hell")).json()
    with client.websocket_connect("/ws") as ws:
        ws.send_json(trace_body(text="hell"))
        first = [ws.receive_json() for _ in range(5)]
        released.set()
        rest = receive_trace(ws)
    assert [f["phase"] for f in first] == ["start"] + ["forward"] * 4
    assert waited == [True]
    assert [f["dh"] for f in rest[:-1]] == [b["dh"] for b in reversed(http["backward"])]
    assert rest[-1]["grad_norms"] == http["grad_norms"]


def test_ws_frames_match_the_http_trace(client):
    body = trace_body("gru-question", "are you good")
    http = client.post("/api/trace", json=body).json()
    with client.websocket_connect("/ws") as ws:
        ws.send_json({"type": "trace", **body})
        frames = receive_trace(ws)
    forward = [f for f in frames if f["phase"] == "forward"]
    assert [f["h"] for f in forward] == [s["h"] for s in http["steps"]]
    assert frames[-1]["loss"] == http["loss"]


def test_batch_sends_each_half_as_one_message_with_the_same_frames(client):
    body = trace_body("lstm-rhymes", "twinkle")
    with client.websocket_connect("/ws") as ws:
        ws.send_json(body)
        single = receive_trace(ws)
        ws.send_json({**body, "batch": True})
        first, second = ws.receive_json(), ws.receive_json()
    assert isinstance(first, list) and isinstance(second, list)
    assert first + second == single
    assert [f["phase"] for f in first] == ["start"] + ["forward"] * 7
    assert second[-1]["phase"] == "done"


def test_several_traces_on_one_socket(client):
    with client.websocket_connect("/ws") as ws:
        for text in ("hell", "he", "hello"):
            ws.send_json(trace_body(text=text))
            frames = receive_trace(ws)
            assert frames[0]["tokens"] == list(text)


def test_feed_continues_from_the_traced_state(client):
    """Live typing steps the model on the current state: trace 'hell' then feed 'o' gives the
    same hidden state as a trace of 'hello' at t=4."""
    full = client.post("/api/trace", json=trace_body(text="hello")).json()
    with client.websocket_connect("/ws") as ws:
        ws.send_json(trace_body(text="hell"))
        receive_trace(ws)
        ws.send_json({"type": "feed", "text": "o"})
        live = ws.receive_json()
    assert live["live"] is True and live["phase"] == "forward"
    assert live["t"] == 4 and live["token"] == "o"
    np.testing.assert_allclose(live["h"], full["steps"][4]["h"], atol=1e-12)
    assert live["top"][0]["token"] == "h"  # after "hello" comes "h" again


def test_feed_from_zero_and_reset(client):
    with client.websocket_connect("/ws") as ws:
        ws.send_json({"type": "feed", "text": "he", "model": "rnn-hello"})
        first = [ws.receive_json(), ws.receive_json()]
        assert [f["t"] for f in first] == [0, 1]
        ws.send_json({"type": "reset"})
        assert ws.receive_json() == {"type": "reset", "ok": True}
        ws.send_json({"type": "feed", "text": "h"})
        again = ws.receive_json()
    assert again["t"] == 0 and again["h"] == first[0]["h"]


@pytest.mark.parametrize(
    "message,words",
    [
        ("not json", "not valid json"),
        ("[1, 2]", "json object"),
        ('{"type": "dance"}', "unknown message type"),
        ('{"model": "rnn-hello"}', "text"),
        ('{"model": "nope", "text": "hi"}', "no model with that id"),
        ('{"model": "rnn-hello", "text": "he\\u0000ll"}', "nul"),
        ('{"model": "rnn-hello", "text": "he\\ud800"}', "surrogate"),
        ('{"type": "feed", "text": "h"}', "trace first"),
        ('{"type": "feed", "text": "h\\u0007", "model": "rnn-hello"}', "control character"),
        ('{"type": "feed", "model": "rnn-hello"}', "text"),
    ],
)
def test_bad_messages_get_an_error_and_the_socket_stays_usable(client, message, words):
    with client.websocket_connect("/ws") as ws:
        ws.send_text(message)
        err = ws.receive_json()
        assert err["type"] == "error"
        assert words in err["message"].lower(), err["message"]
        ws.send_json(trace_body())
        assert receive_trace(ws)[-1]["phase"] == "done"


def test_binary_message_is_read_as_text(client):
    with client.websocket_connect("/ws") as ws:
        ws.send_bytes(b'{"type": "reset"}')
        assert ws.receive_json()["type"] == "reset"


def test_oversized_message_is_refused(make_client):
    c = make_client(ws_max_message_bytes=300)
    with c.websocket_connect("/ws") as ws:
        ws.send_json(trace_body(text="h" * 400))
        err = ws.receive_json()
        assert err["type"] == "error" and "too large" in err["message"].lower()
        ws.send_json({"type": "reset"})
        assert ws.receive_json()["ok"] is True


def test_rate_limit(make_client):
    c = make_client(ws_rate=2)
    with c.websocket_connect("/ws") as ws:
        for _ in range(8):
            ws.send_json({"type": "reset"})
        answers = [ws.receive_json() for _ in range(8)]
    assert sum(a.get("type") == "error" for a in answers) >= 3
    assert any("too many messages" in a.get("message", "").lower() for a in answers)


def test_idle_socket_is_closed(make_client):
    c = make_client(ws_idle_timeout=0.2)
    with c.websocket_connect("/ws") as ws:
        with pytest.raises(WebSocketDisconnect):
            ws.receive_json()


def test_disconnect_mid_stream_frees_the_slot(client):
    traces = client.app.state.traces
    with client.websocket_connect("/ws") as ws:
        ws.send_json(trace_body("lstm-rhymes", "twinkle twinkle little star " * 10))
        assert ws.receive_json()["phase"] == "start"
    # the client is gone; the server stops streaming and frees its trace slot
    deadline = time.monotonic() + 5
    while (traces.active or traces.waiting or traces.streaming) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert traces.active == traces.waiting == traces.streaming == 0
    assert client.get("/api/health").json() == {"status": "ok"}
    with client.websocket_connect("/ws") as ws:
        ws.send_json(trace_body())
        assert receive_trace(ws)[-1]["phase"] == "done"


@pytest.mark.parametrize(
    "origin,ok",
    [
        (None, True),
        ("http://127.0.0.1:8000", True),
        ("http://localhost:8000", True),
        ("http://127.0.0.1:8000.evil.com", False),
        ("http://evil.com", False),
        ("http://127.0.0.1:8001", False),
        ("null", False),
    ],
)
def test_origin_check(client, origin, ok):
    headers = {} if origin is None else {"origin": origin}
    if ok:
        with client.websocket_connect("/ws", headers=headers) as ws:
            ws.send_json({"type": "reset"})
            assert ws.receive_json()["ok"] is True
    else:
        with pytest.raises(WebSocketDisconnect) as e:
            with client.websocket_connect("/ws", headers=headers):
                pass
        assert e.value.code == 1008
