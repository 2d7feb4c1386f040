"""GET /api/models and POST /api/trace on the shipped demo models."""

import numpy as np
import pytest

from tests.server.helpers import trace_body

SUMMARY_FIELDS = {
    "id",
    "cell",
    "description",
    "task",
    "vocab_kind",
    "nonlinearity",
    "peephole",
    "vocab_size",
    "hidden_size",
    "num_layers",
    "bidirectional",
    "setup",  # the page asks a one-to-many model for its steps
    "steps",  # ... unless the model has its own number
    "source",
    "example",
    "kind",
    "attention",
}


def test_demo_models_cover_every_cell(client):
    models = client.get("/api/models").json()
    assert {m["cell"] for m in models if m["kind"] == "sequence"} == {"rnn", "lstm", "gru"}
    for m in models:
        assert set(m) == SUMMARY_FIELDS
        assert m["source"] == "demo"
        assert len(m["description"]) > 40  # a sentence a student can read
    assert {m["id"] for m in models} >= {"rnn-hello", "lstm-rhymes", "gru-question"}


def test_model_detail_has_vocab(client):
    d = client.get("/api/models/rnn-hello").json()
    assert sorted(d["vocab"]) == ["e", "h", "l", "o"]
    assert d["vocab_kind"] == "char"
    q = client.get("/api/models/gru-question").json()
    assert q["labels"] == ["statement", "question"]
    assert q["vocab_kind"] == "word" and q["setup"] == "many-to-one"


def test_unknown_model_is_404(client):
    assert client.get("/api/models/nope").status_code == 404
    r = client.post("/api/trace", json=trace_body(model="nope"))
    assert r.status_code == 404
    assert "nope" not in r.json()["detail"] and "/api/models" in r.json()["detail"]


@pytest.mark.parametrize("model", ["rnn-hello", "lstm-rhymes", "gru-question"])
def test_every_demo_model_traces_its_example(client, model):
    example = client.get(f"/api/models/{model}").json()["example"]
    r = client.post("/api/trace", json=trace_body(model, example))
    assert r.status_code == 200
    t = r.json()
    T = len(t["tokens"])
    assert t["model"] == model and len(t["steps"]) == T == len(t["backward"])
    assert [s["token"] for s in t["steps"]] == t["tokens"]
    H = t["hidden_size"]
    assert all(len(s["h"]) == H for s in t["steps"])
    assert len(t["grad_flow"]) == T
    assert t["global_norm"] > 0


def test_hello_model_predicts_the_next_letter(client):
    t = client.post("/api/trace", json=trace_body("rnn-hello", "hell")).json()
    predicted = [s["top"][0]["token"] for s in t["steps"]]
    assert predicted == ["e", "l", "l", "o"]
    # default targets: next token of the text, none at the last step
    assert [s["target_token"] for s in t["steps"]] == ["e", "l", "l", None]
    assert t["gate_names"] == [] and "pre" in t["steps"][0]


def test_lstm_trace_has_cell_state_and_gates(client):
    t = client.post("/api/trace", json=trace_body("lstm-rhymes", "twinkle")).json()
    assert t["gate_names"] == ["i", "f", "g", "o"]
    assert "c" in t["steps"][0] and "dc" in t["backward"][0]
    assert set(t["backward"][0]["dgates"]) == {"i", "f", "g", "o"}


def test_word_order_changes_the_gru_answer(client):
    """'you are good' and 'are you good': same words, different final state and answer."""
    a = client.post("/api/trace", json=trace_body("gru-question", "you are good")).json()
    b = client.post("/api/trace", json=trace_body("gru-question", "are you good")).json()
    assert sorted(a["tokens"]) == sorted(b["tokens"])
    assert not np.allclose(a["steps"][-1]["h"], b["steps"][-1]["h"], atol=1e-3)
    assert a["steps"][-1]["top"][0]["token"] == "statement"
    assert b["steps"][-1]["top"][0]["token"] == "question"
    assert a["steps"][0]["top"] is None  # many-to-one: only the last step answers


def test_classifier_targets_by_name_and_index(client):
    own = client.post("/api/trace", json=trace_body("gru-question", "are you good")).json()
    assert own["steps"][-1]["target_token"] == "question"  # default: its own prediction
    wrong = client.post(
        "/api/trace", json=trace_body("gru-question", "are you good", targets=["statement"])
    ).json()
    assert wrong["loss"] > own["loss"] + 1
    by_index = client.post(
        "/api/trace", json=trace_body("gru-question", "are you good", targets=[0])
    ).json()
    assert by_index["loss"] == pytest.approx(wrong["loss"])
    bad = client.post(
        "/api/trace", json=trace_body("gru-question", "are you good", targets=["maybe"])
    )
    assert bad.status_code == 422 and "maybe" not in bad.json()["detail"]
    assert "targets[0] is not one of the model's outputs (statement, question)" in bad.text


def test_lm_targets_given_as_tokens(client):
    t = client.post("/api/trace", json=trace_body(targets=["e", "l", "l", "o"])).json()
    assert [s["target_token"] for s in t["steps"]] == ["e", "l", "l", "o"]
    bad = client.post("/api/trace", json=trace_body(targets=["e"]))
    assert bad.status_code == 422 and "4 targets" in bad.json()["detail"]


def test_initial_states(client):
    zeros = client.post("/api/trace", json=trace_body()).json()
    r1 = client.post("/api/trace", json=trace_body(initial_state="random", seed=1)).json()
    r1b = client.post("/api/trace", json=trace_body(initial_state="random", seed=1)).json()
    r2 = client.post("/api/trace", json=trace_body(initial_state="random", seed=2)).json()
    assert r1["steps"][0]["h"] == r1b["steps"][0]["h"]
    assert r1["steps"][0]["h"] != r2["steps"][0]["h"] != zeros["steps"][0]["h"]
    explicit = client.post("/api/trace", json=trace_body(initial_state={"h": [0.0] * 8})).json()
    assert explicit["steps"][0]["h"] == pytest.approx(zeros["steps"][0]["h"])
    wrong = client.post("/api/trace", json=trace_body(initial_state={"h": [0.0] * 3}))
    assert wrong.status_code == 422 and "8 numbers" in wrong.json()["detail"]


def test_truncate_and_clip_are_reported(client):
    t = client.post(
        "/api/trace", json=trace_body("lstm-rhymes", "twinkle twinkle", truncate=2, clip=0.01)
    ).json()
    assert t["truncate"] == 2 and t["clip"] == 0.01 and t["clipped"] is True
    full = client.post("/api/trace", json=trace_body("lstm-rhymes", "twinkle twinkle")).json()
    assert t["backward"][0]["dh_norm"] != full["backward"][0]["dh_norm"]


def test_truncation_mode_and_chunks_are_reported(client):
    """The page draws the chunk boundaries from `truncation`; chunked is the default."""
    text = "twinkle twinkle"  # 15 characters
    t = client.post("/api/trace", json=trace_body("lstm-rhymes", text, truncate=4)).json()
    assert t["truncation"] == {
        "k": 4,
        "mode": "chunked",
        "chunks": [[0, 4], [4, 8], [8, 12], [12, 15]],
    }
    flow = np.array(t["grad_flow"])
    assert flow[4, 3] == 0 and flow[5, 4] > 0  # step 4 starts a chunk: nothing flows to 3
    s = client.post(
        "/api/trace", json=trace_body("lstm-rhymes", text, truncate=4, truncate_mode="sliding")
    ).json()
    assert s["truncation"] == {"k": 4, "mode": "sliding", "chunks": None}
    assert np.array(s["grad_flow"])[4, 3] > 0
    assert s["grad_norms"] != t["grad_norms"]
    assert (
        client.post("/api/trace", json=trace_body("lstm-rhymes", text)).json()["truncation"] is None
    )
    bad = client.post("/api/trace", json=trace_body("lstm-rhymes", text, truncate_mode="window"))
    assert bad.status_code == 422


def test_top_k_and_layer_limits(client):
    t = client.post("/api/trace", json=trace_body(top_k=2)).json()
    assert len(t["steps"][0]["top"]) == 2
    assert client.post("/api/trace", json=trace_body(top_k=999)).status_code == 422
    r = client.post("/api/trace", json=trace_body(layer=3))
    assert r.status_code == 422 and "layer" in r.json()["detail"]
    r = client.post("/api/trace", json=trace_body(direction=1))
    assert r.status_code == 422 and "direction" in r.json()["detail"]


def test_grad_flow_is_null_beyond_the_flow_limit(make_client):
    c = make_client(flow_limit=3)
    assert c.post("/api/trace", json=trace_body(text="hell")).json()["grad_flow"] is None
    assert c.post("/api/trace", json=trace_body(text="hel")).json()["grad_flow"] is not None


def test_model_list_says_each_rnn_nonlinearity(client):
    models = {m["id"]: m for m in client.get("/api/models").json()}
    assert models["rnn-hello"]["nonlinearity"] == "tanh"
    assert models["lstm-rhymes"]["nonlinearity"] is None  # LSTM and GRU have no choice of it
    assert client.get("/api/models/rnn-hello").json()["nonlinearity"] == "tanh"
