"""Error messages never repeat what the user sent (docs/server.md promises it): a distinctive
marker goes into every field of every route, HTTP and WebSocket, in every shape a field may
be given, and no error that comes back contains it."""

import io
import json

import numpy as np
import pytest

from tests.server.helpers import trace_body

MARKER = "Zq7xMarkerx7qZ"
SHAPES = [
    MARKER,
    [MARKER],
    [MARKER, MARKER],
    {MARKER: MARKER},
    {"h": [MARKER], MARKER: 1},
    "hell" + MARKER,
    f"are you {MARKER} good",
]
VALID_BODIES = {  # a body each JSON route accepts, so that only the field under test is wrong
    "/api/trace": trace_body(),
    "/api/gradcheck": trace_body(t=0, unit=0),
    "/api/train": {"task": "hello", "steps": 1, "hidden_size": 2},
    "/api/sample": {"model": "rnn-hello", "prime": "h", "n": 3},
    # encoder–decoder and tree routes: tests/server/test_seq2seq_api.py checks them on their
    # own models
    "/api/seq2seq/trace": {"model": "rnn-hello", "source": "ab"},
    "/api/seq2seq/whatif": {"model": "rnn-hello", "source": "ab", "t": 0, "focus": 0},
    "/api/tree/trace": {"model": "rnn-hello", "text": "good"},
    "/api/bow/predict": {"model": "bow-question", "text": "you are good"},
    # a room that does not exist (tests/server/test_rooms.py drives real rooms)
    "/api/rooms/{code}/state": {"state": {"model": "rnn-hello", "t": 2}},
}


def _properties(schema: dict, ref: str) -> list[str]:
    name = ref.rsplit("/", 1)[1]
    return list(schema["components"]["schemas"][name]["properties"])


def _assert_no_echo(response, what) -> None:
    assert response.status_code < 500, (what, response.text)
    if response.status_code >= 400:
        assert MARKER not in response.text, (what, response.text)


def _json_cases(schema: dict):
    for path, ops in schema["paths"].items():
        for method, op in ops.items():
            content = op.get("requestBody", {}).get("content", {})
            if "application/json" not in content:
                continue
            base = VALID_BODIES[path]
            ref = content["application/json"]["schema"]["$ref"]
            for field in [*_properties(schema, ref), MARKER]:
                for shape in SHAPES:
                    for model in ("rnn-hello", "gru-question"):
                        swap = "model" in base and path != "/api/bow/predict"
                        body = {**base, "model": model} if swap else dict(base)
                        yield method, path, {**body, field: shape}


def test_no_json_route_echoes_a_field(make_client):
    # hundreds of requests: none held back as too many
    client = make_client(api_rate=1e6, max_training_jobs=10_000)
    schema = client.get("/openapi.json").json()
    n = 0
    for method, path, body in _json_cases(schema):
        response = client.request(method, path, json=body)
        assert response.status_code != 429
        _assert_no_echo(response, (path, body))
        n += 1
    assert n > 300
    for job in list(client.app.state.jobs.jobs):
        client.delete(f"/api/train/{job}")


def test_no_path_parameter_is_echoed(client):
    schema = client.get("/openapi.json").json()
    paths = [p for p in schema["paths"] if "{" in p] + ["/vendor/plotly-{v}.min.js"]
    for path in paths:
        url = path.split("{")[0] + MARKER + path.split("}", 1)[1]
        for method in ("get", "delete", "post"):
            _assert_no_echo(client.request(method, url), url)
    _assert_no_echo(client.get("/" + MARKER), "a page that does not exist")
    with client.websocket_connect(f"/ws/train/{MARKER}") as ws:
        assert MARKER not in ws.receive_text()


def _npz(**arrays) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def test_no_upload_field_is_echoed(make_client):
    client = make_client(api_rate=1e6)
    rng = np.random.default_rng(0)
    good = _npz(
        weight_ih_l0=rng.standard_normal((2, 2)),
        weight_hh_l0=rng.standard_normal((2, 2)),
        bias_ih_l0=np.zeros(2),
        bias_hh_l0=np.zeros(2),
    )
    fields = ["cell", "vocab", "vocab_kind", "labels", "name", "description"]
    values = [MARKER, json.dumps([MARKER, MARKER]), json.dumps([MARKER]), json.dumps(MARKER)]
    for field in fields:
        for value in values:
            data = {"vocab": '["a", "b"]', field: value}
            r = client.post("/api/models/import", files={"file": ("m.npz", good)}, data=data)
            _assert_no_echo(r, (field, value))
    for name, content in [(MARKER + ".npz", MARKER.encode()), ("m.npz", good[:100] + b"x")]:
        r = client.post(
            "/api/models/import", files={"file": (name, content)}, data={"vocab": '["a"]'}
        )
        _assert_no_echo(r, name)


@pytest.mark.parametrize("kind", ["trace", "feed", "reset", "sample", MARKER])
def test_no_websocket_message_field_is_echoed(make_client, kind):
    client = make_client(ws_rate=1e6)
    fields = ["type", "model", "text", "encoding", "batch", "targets", "initial_state", "top_k"]
    fields += ["layer", "direction", "truncate", "clip", "seed", "flow", MARKER]
    fields += ["prime", "n", "temperature"]  # a sample's
    with client.websocket_connect("/ws") as ws:
        ws.send_text(MARKER)
        assert MARKER not in ws.receive_text()
        for field in fields:
            for shape in SHAPES:
                for model in ("rnn-hello", "gru-question"):
                    base = {**trace_body(model=model), "prime": "h", "n": 2}
                    message = {"type": kind, **base, field: shape}
                    ws.send_text(json.dumps(message))
                    ws.send_text('{"type": "reset"}')  # its answer ends this message's
                    while (answer := json.loads(ws.receive_text())).get("type") != "reset":
                        if answer.get("type") == "error":
                            assert MARKER not in answer["message"], (message, answer)
