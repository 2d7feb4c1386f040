"""The binary form of /ws traces (server/binary.py): exact float64, the same frames as JSON."""

import math
import struct

import numpy as np
import orjson

from server.tracing.binary import pack, unpack
from tests.server.helpers import trace_body


def test_pack_keeps_every_bit_and_aligns_the_data():
    rng = np.random.default_rng(0)
    rows = rng.normal(size=(3, 5)) * 10.0 ** rng.integers(-300, 300, size=(3, 5))
    content = [{"phase": "forward", "t": t, "h": rows[t], "loss": float(t) / 3} for t in range(3)]
    message = pack(content)
    (n,) = struct.unpack_from("<I", message)
    assert (4 + n) % 8 == 0  # a Float64Array can view the data in place
    assert len(message) == 4 + n + rows.size * 8  # 8 bytes a number, no text
    back = unpack(message)
    assert [f["h"] for f in back] == rows.tolist()  # bit for bit
    assert [f["loss"] for f in back] == [0.0, 1 / 3, 2 / 3]


def test_non_finite_numbers_become_null_as_in_json():
    message = pack({"h": np.array([1.5, math.inf, -math.inf, math.nan])})
    assert unpack(message) == {"h": [1.5, None, None, None]}


def test_text_that_is_not_unicode_is_escaped_not_an_error():
    back = unpack(pack({"token": "a\ud800b", "h": np.zeros(2)}))
    assert back == {"token": "a\\ud800b", "h": [0.0, 0.0]}


def receive_json_trace(ws) -> list[dict]:
    frames = []
    while not frames or frames[-1]["phase"] != "done":
        frames += ws.receive_json()
    return frames


def test_ws_binary_trace_equals_the_json_frames(client):
    for body in (
        trace_body("lstm-rhymes", "twinkle, twinkle", flow=True),
        trace_body("gru-question", "are you good", truncate=2, clip=0.5),
        trace_body("rnn-hello", "hello", initial_state="random", seed=3),
    ):
        with client.websocket_connect("/ws") as ws:
            ws.send_json({**body, "batch": True})
            as_json = receive_json_trace(ws)
            ws.send_json({**body, "encoding": "binary"})
            head, tail = ws.receive_bytes(), ws.receive_bytes()
        as_binary = unpack(head) + unpack(tail)
        assert as_binary == as_json
        assert [f["phase"] for f in unpack(head)][:2] == ["start", "forward"]
        assert unpack(tail)[-1]["phase"] == "done"
        if body["model"] == "lstm-rhymes":  # (H=48) 8 bytes a number instead of ~19 characters
            assert len(head) + len(tail) < 0.6 * len(orjson.dumps(as_json))


def test_ws_refuses_an_unknown_encoding_and_stays_usable(client):
    with client.websocket_connect("/ws") as ws:
        ws.send_json({**trace_body(), "encoding": "msgpack"})
        error = ws.receive_json()
        assert error["type"] == "error" and "binary" in error["message"]
        ws.send_json({**trace_body(), "encoding": "binary"})
        assert unpack(ws.receive_bytes())[0]["phase"] == "start"
