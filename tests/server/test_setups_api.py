"""The four set-ups through the API: one-to-many says how many steps, one-to-one reads one token,
and an explicit initial state of any documented size is accepted."""

import numpy as np
import pytest

from engine.model import ModelConfig, SequenceModel
from engine.tokenize import Vocabulary
from engine.trace import build_trace
from server.models.registry import Registry

VOCAB = Vocabulary.from_text("hello", level="char")


def _add(data_dir, setup: str, hidden: int = 6, cell: str = "lstm") -> tuple[str, SequenceModel]:
    cfg = ModelConfig(
        cell=cell, vocab_size=len(VOCAB), hidden_size=hidden, output_size=len(VOCAB), setup=setup
    )
    model = SequenceModel(cfg)
    entry = Registry(data_dir).add(
        model, VOCAB, source="trained", name=setup, task="next-char", description="", example="h"
    )
    return entry.id, model


@pytest.fixture
def models(make_client, tmp_path):
    ids = {setup: _add(tmp_path / "data", setup) for setup in ("one-to-many", "one-to-one")}
    return make_client(), ids


def test_one_to_many_runs_the_steps_it_is_asked_for(models):
    client, ids = models
    model_id, model = ids["one-to-many"]
    r = client.post("/api/trace", json={"model": model_id, "text": "h", "steps": 5})
    assert r.status_code == 200, r.text
    trace = r.json()
    assert len(trace["steps"]) == 5 and trace["tokens"] == ["h"]
    expected = build_trace(model, np.array([VOCAB.encode("h")[0]]), steps=5)
    assert np.allclose([s["h"] for s in trace["steps"]], [s["h"] for s in expected["steps"]])


def test_one_to_many_with_targets_takes_one_per_step(models):
    client, ids = models
    body = {"model": ids["one-to-many"][0], "text": "h", "targets": ["e", "l", "l", "o"]}
    trace = client.post("/api/trace", json=body).json()
    assert [s["target_token"] for s in trace["steps"]] == ["e", "l", "l", "o"]
    assert trace["loss"] == pytest.approx(sum(s["loss"] for s in trace["steps"]))


@pytest.mark.parametrize(
    ("setup", "body", "words"),
    [
        ("one-to-many", {"text": "h"}, "how many steps"),
        ("one-to-one", {"text": "h", "steps": 3}, "only one-to-many"),
    ],
)
def test_a_request_the_set_up_cannot_run_gets_a_sentence(models, setup, body, words):
    client, ids = models
    r = client.post("/api/trace", json={"model": ids[setup][0], **body})
    assert r.status_code == 422 and words in r.json()["detail"]
    with client.websocket_connect("/ws") as ws:
        ws.send_json({"model": ids[setup][0], **body})
        message = ws.receive_json()
        assert message["type"] == "error" and words in message["message"]


@pytest.mark.parametrize(("setup", "extra"), [("one-to-one", {}), ("one-to-many", {"steps": 3})])
def test_a_one_token_set_up_reads_the_first_token_and_names_the_rest(models, setup, extra):
    client, ids = models
    body = {"model": ids[setup][0], **extra}
    trace = client.post("/api/trace", json={**body, "text": "hello"}).json()
    alone = client.post("/api/trace", json={**body, "text": "h"}).json()
    assert trace["tokens"] == ["h"] and trace["tokens_ignored"] == list("ello")
    assert alone["tokens_ignored"] == []
    assert [s["h"] for s in trace["steps"]] == [s["h"] for s in alone["steps"]]


def test_one_to_one_reads_its_one_token(models):
    client, ids = models
    trace = client.post("/api/trace", json={"model": ids["one-to-one"][0], "text": "e"}).json()
    assert len(trace["steps"]) == 1 and trace["steps"][0]["top"]


def test_explicit_initial_state_of_a_wide_model(make_client, tmp_path):
    """{"h": [..H]} is documented; it must not be capped at 16 numbers."""
    model_id, model = _add(tmp_path / "data", "many-to-many", hidden=40, cell="gru")
    client = make_client()
    h0 = list(np.linspace(-0.5, 0.5, 40))
    r = client.post(
        "/api/trace", json={"model": model_id, "text": "hell", "initial_state": {"h": h0}}
    )
    assert r.status_code == 200, r.text
    expected = build_trace(model, VOCAB.encode("hell"), state=[[np.array(h0)]])
    assert np.allclose(r.json()["steps"][0]["h"], expected["steps"][0]["h"], atol=1e-12)
    per_cell = client.post(
        "/api/trace", json={"model": model_id, "text": "hell", "initial_state": {"h": [h0]}}
    )
    assert per_cell.status_code == 200 and per_cell.json()["steps"] == r.json()["steps"]
    wrong = client.post(
        "/api/trace", json={"model": model_id, "text": "hell", "initial_state": {"h": h0[:39]}}
    )
    assert wrong.status_code == 422 and "40 numbers" in wrong.json()["detail"]


def test_live_typing_shows_the_layer_the_trace_showed(make_client, tmp_path):
    """A 2-layer model traced at layer 0: the live frames that continue it are layer 0's too."""
    cfg = ModelConfig(cell="gru", vocab_size=len(VOCAB), hidden_size=5, num_layers=2, seed=3)
    model = SequenceModel(cfg)
    model_id = (
        Registry(tmp_path / "data")
        .add(model, VOCAB, source="trained", name="deep", task="next-char", description="")
        .id
    )
    client = make_client()
    with client.websocket_connect("/ws") as ws:
        ws.send_json({"model": model_id, "text": "hel", "layer": 0, "batch": True})
        head, tail = ws.receive_json(), ws.receive_json()
        assert head[0]["layer"] == 0 and tail[-1]["phase"] == "done"
        ws.send_json({"type": "feed", "text": "lo"})
        live = [ws.receive_json(), ws.receive_json()]
    whole = build_trace(model, VOCAB.encode("hello"), layer=0)
    for frame, step in zip(live, whole["steps"][3:], strict=True):
        assert np.allclose(frame["h"], step["h"], atol=1e-12)
    top = build_trace(model, VOCAB.encode("hello"), layer=1)
    assert not np.allclose(live[-1]["h"], top["steps"][-1]["h"])
