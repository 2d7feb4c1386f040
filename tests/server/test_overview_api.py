"""The all-cells overview through the API: the start frame (and the POST body) carries every
cell's ‖h_t‖, the done frame every cell's ‖dL/dh_t‖ and its two parts, as the engine computes
them, in the JSON and the binary form alike; live frames carry every layer's ‖h_t‖."""

import numpy as np

from engine.model import ModelConfig, SequenceModel
from engine.tokenize import Vocabulary
from engine.trace import build_trace
from server.models.registry import Registry
from server.tracing.binary import unpack

VOCAB = Vocabulary.from_text("hello world", level="char")
TEXT = "hello world"


def _add(data_dir, **fields) -> tuple[str, SequenceModel]:
    cfg = ModelConfig(vocab_size=len(VOCAB), seed=5, **fields)
    model = SequenceModel(cfg)
    entry = Registry(data_dir).add(
        model, VOCAB, source="trained", name="stack", task="next-char", description=""
    )
    return entry.id, model


def test_overview_in_every_form_equals_the_engines(make_client, tmp_path):
    model_id, model = _add(tmp_path / "data", cell="lstm", hidden_size=6, num_layers=2,
                           bidirectional=True)  # fmt: skip
    client = make_client()
    want = build_trace(model, VOCAB.encode(TEXT), layer=0, direction=1)
    body = {"model": model_id, "text": TEXT, "layer": 0, "direction": 1}
    posted = client.post("/api/trace", json=body).json()
    with client.websocket_connect("/ws") as ws:
        ws.send_json({**body, "encoding": "binary"})
        head, tail = unpack(ws.receive_bytes()), unpack(ws.receive_bytes())
        ws.send_json({**body, "batch": True})
        jhead, jtail = ws.receive_json(), ws.receive_json()
    for start, done in ((head[0], tail[-1]), (jhead[0], jtail[-1]), (posted, posted)):
        assert start["overview"] == want["overview"]
        assert done["overview_backward"] == want["overview_backward"]
        assert start["jordan"] is False and start["peepholes"] is None
    assert "overview_backward" not in head[0] and "overview" not in tail[-1]
    # 2 layers x 2 directions x T numbers: small next to the shown cell's frames
    assert np.shape(posted["overview"]["h_norm"]) == (2, 2, len(TEXT))
    assert np.shape(posted["overview_backward"]["dh_in_norm"]) == (2, 2, len(TEXT))


def test_live_frames_carry_every_layers_h_norm(make_client, tmp_path):
    model_id, model = _add(tmp_path / "data", cell="gru", hidden_size=4, num_layers=3)
    client = make_client()
    with client.websocket_connect("/ws") as ws:
        ws.send_json({"model": model_id, "text": "hel", "batch": True})
        ws.receive_json(), ws.receive_json()
        ws.send_json({"type": "feed", "text": "l"})
        live = ws.receive_json()
    whole = build_trace(model, VOCAB.encode("hell"))
    got = np.array(live["h_norms"])[:, 0]
    want = [whole["overview"]["h_norm"][li][0][3] for li in range(3)]
    assert np.allclose(got, want, rtol=1e-12)


def test_a_peephole_models_weights_come_with_its_trace(make_client, tmp_path):
    model_id, model = _add(tmp_path / "data", cell="lstm", hidden_size=3, peephole=True)
    trace = make_client().post("/api/trace", json={"model": model_id, "text": "he"}).json()
    assert trace["peepholes"]["w_co"] == model.params["rnn.w_co_l0"].tolist()
