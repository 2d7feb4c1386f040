"""Generating text: POST /api/sample and {"type": "sample"} on /ws."""

import pytest

from engine import ModelConfig, SequenceModel, Vocabulary, save_model
from tests.server.helpers import trace_body


def sample_body(model="lstm-rhymes", prime="twinkle", **extra) -> dict:
    return {"model": model, "prime": prime, **extra}


def receive_sample(ws) -> list[dict]:
    frames = [ws.receive_json()]
    while frames[-1].get("phase") not in ("sample-done", None):
        frames.append(ws.receive_json())
    return frames


def test_the_same_seed_gives_the_same_text_and_another_seed_another(client):
    body = sample_body(n=60, temperature=1.5, seed=3)
    first = client.post("/api/sample", json=body).json()
    assert client.post("/api/sample", json=body).json() == first
    assert len(first["tokens"]) == 60 and first["text"] == "".join(first["tokens"])
    other = client.post("/api/sample", json={**body, "seed": 4}).json()
    assert other["text"] != first["text"]
    hotter = client.post("/api/sample", json={**body, "temperature": 3.0}).json()
    assert hotter["text"] != first["text"]


@pytest.mark.parametrize("model,prime", [("lstm-rhymes", "twinkle"), ("rnn-hello", "h")])
def test_temperature_zero_is_the_traces_greedy_prediction(client, model, prime):
    """At T = 0 each token is the trace's most likely next token, with the trace's probabilities."""
    gen = client.post("/api/sample", json=sample_body(model, prime, n=25, temperature=0)).json()
    if model == "rnn-hello":
        assert gen["text"].startswith("ello")
    trace = client.post("/api/trace", json=trace_body(model, prime + gen["text"])).json()
    P = len(prime)
    for t, step in enumerate(gen["steps"]):
        traced = trace["steps"][P - 1 + t]
        assert step["token"] == traced["top"][0]["token"]
        assert step["p"] == 1.0 and step["top"][0]["token"] == step["token"]
        assert [q["p_model"] for q in step["top"]] == pytest.approx(
            [q["p"] for q in traced["top"]], abs=1e-12
        )
        assert step["h"] == pytest.approx(traced["h"], abs=1e-12)
        assert step["input_token"] == (prime[-1] if t == 0 else gen["tokens"][t - 1])
    # a temperature so small that z / T overflows is the same limit, not an error
    tiny = sample_body(model, prime, n=25, temperature=1e-310)
    assert client.post("/api/sample", json=tiny).json()["text"] == gen["text"]


def test_each_step_shows_the_distribution_it_drew_from(client):
    gen = client.post("/api/sample", json=sample_body(n=30, temperature=2.0, top_k=8)).json()
    assert gen["prime"] == list("twinkle") and gen["cell"] == "lstm"
    for step in gen["steps"]:
        assert len(step["top"]) == 8 and len(step["h"]) == gen["hidden_size"] == len(step["c"])
        assert set(step["gates"]) == set(gen["gate_names"])
        ps = [q["p"] for q in step["top"]]
        assert ps == sorted(ps, reverse=True)
        # a temperature above 1 flattens the distribution: the favourite loses some of its mass
        assert step["top"][0]["p"] <= step["top"][0]["p_model"] + 1e-12
        drawn = [q for q in step["top"] if q["index"] == step["id"]]
        assert not drawn or drawn[0]["p"] == step["p"]


def test_refusals_are_sentences(client):
    cases = [
        ({"prime": ""}, 422, "prime"),
        ({"prime": "twinkle\x00"}, 422, "NUL"),
        ({"n": 0}, 422, "n:"),
        ({"n": 501}, 422, "n: at most 500"),
        ({"temperature": -0.1}, 422, "temperature"),
        ({"temperature": 5.5}, 422, "temperature"),
        ({"top_k": 21}, 422, "top_k: at most 20"),
        ({"seed": -1}, 422, "seed"),
        ({"prime": "x" * 2001}, 422, "prime: at most 2000 characters"),
        ({"model": "no-such-model"}, 404, "GET /api/models"),
    ]
    for extra, status, words in cases:
        r = client.post("/api/sample", json=sample_body(**extra))
        assert r.status_code == status, (extra, r.text)
        assert words in r.json()["detail"], (extra, r.json())
        assert "xxxxxxxxxx" not in r.json()["detail"]  # the input is never echoed


def test_a_prime_with_tokens_the_model_does_not_know_is_read_as_a_trace_reads_it(client):
    gen = client.post("/api/sample", json=sample_body(prime="twinkle QZ", n=5)).json()
    trace = client.post("/api/trace", json=trace_body("lstm-rhymes", "twinkle QZ")).json()
    assert gen["prime"] == list("twinkle QZ") and gen["prime_unknown"] == trace["tokens_unknown"]
    first = gen["steps"][0]
    assert (first["input_index"], first["input_token"], first["input_seen_as"]) == (None, "Z", None)
    assert [q["p_model"] for q in first["top"]] == pytest.approx(
        [q["p"] for q in trace["steps"][-1]["top"]], abs=1e-12
    )
    second = gen["steps"][1]
    assert second["input_index"] == first["id"] and second["input_seen_as"] == first["token"]


def test_the_token_limit_is_a_setting(make_client):
    client = make_client(max_sample_tokens=7)
    assert client.post("/api/sample", json=sample_body(n=7)).status_code == 200
    r = client.post("/api/sample", json=sample_body(n=8))
    assert r.status_code == 422 and "n: at most 7" in r.json()["detail"]
    # the OpenAPI schema states the limit this server enforces
    props = client.get("/openapi.json").json()["components"]["schemas"]["SampleRequest"]
    assert props["properties"]["n"]["maximum"] == 7


def test_the_prime_and_the_tokens_count_as_work(make_client):
    # lstm-rhymes: 1 layer x 4 gates x H^2 per step; room for 10 steps
    H = make_client().get("/api/models/lstm-rhymes").json()["hidden_size"]
    client = make_client(max_work=10 * 4 * H**2)
    assert client.post("/api/sample", json=sample_body(prime="twin", n=6)).status_code == 200
    r = client.post("/api/sample", json=sample_body(prime="twin", n=7))
    assert r.status_code == 422 and "max_work" in r.json()["detail"]


def test_only_language_models_generate(make_client, tmp_path):
    # a bidirectional language model reads the future: it cannot generate either
    vocab = Vocabulary.from_text("hello world")
    models = tmp_path / "data" / "models"
    models.mkdir(parents=True)
    bi = SequenceModel(ModelConfig(cell="lstm", vocab_size=len(vocab), bidirectional=True))
    extra = {"id": "bi-lm", "source": "imported", "example": "hello", "name": "bi-lm"}
    save_model(models / "bi-lm.npz", bi, vocab, "next-char", "A bidirectional LM.", extra)
    client = make_client()
    for model, prime, words in [
        ("gru-question", "you are good", "classifier"),
        ("bi-lm", "hello", "forward only"),
    ]:
        r = client.post("/api/sample", json=sample_body(model, prime))
        assert r.status_code == 422, r.text
        detail = r.json()["detail"]
        assert "cannot generate text" in detail and words in detail and "language model" in detail


def test_websocket_frames_are_the_post_steps(client):
    body = sample_body(n=12, temperature=1.0, seed=8)
    post = client.post("/api/sample", json=body).json()
    with client.websocket_connect("/ws") as ws:
        ws.send_json({"type": "sample", **body})
        frames = receive_sample(ws)
    assert [f["phase"] for f in frames] == ["sample"] * 12 + ["sample-done"]
    assert [f["t"] for f in frames[:-1]] == list(range(12))
    for frame, step in zip(frames, post["steps"], strict=False):
        assert {k: v for k, v in frame.items() if k != "phase"} == step
    done = frames[-1]
    assert done["text"] == post["text"] and done["tokens"] == post["tokens"]
    assert "steps" not in done


def test_websocket_batch_sends_one_message(client):
    with client.websocket_connect("/ws") as ws:
        ws.send_json({"type": "sample", "batch": True, **sample_body("rnn-hello", "h", n=5)})
        frames = ws.receive_json()
    assert [f["phase"] for f in frames] == ["sample"] * 5 + ["sample-done"]
    assert frames[-1]["text"] == "elloh"


def test_websocket_errors_keep_the_socket_and_the_live_state(client):
    with client.websocket_connect("/ws") as ws:
        ws.send_json(trace_body("rnn-hello", "hel"))
        while ws.receive_json().get("phase") != "done":
            pass
        for bad in [
            {"type": "sample", "model": "gru-question", "prime": "you are good"},
            {"type": "sample", "model": "rnn-hello", "prime": "h", "n": 10_000},
            {"type": "sample", "model": "rnn-hello"},
        ]:
            ws.send_json(bad)
            error = ws.receive_json()
            assert error["type"] == "error" and error["message"].endswith("."), error
        ws.send_json({"type": "sample", **sample_body("rnn-hello", "h", n=3)})
        assert receive_sample(ws)[-1]["text"] == "ell"
        # live typing goes on from the trace's end: sampling did not move it
        ws.send_json({"type": "feed", "text": "l"})
        live = ws.receive_json()
    assert live["live"] and live["t"] == 3 and live["token"] == "l"
    assert live["top"][0]["token"] == "o"


def test_documented(client):
    schema = client.get("/openapi.json").json()
    op = schema["paths"]["/api/sample"]["post"]
    assert op["summary"] and "422" in op["responses"]
    props = schema["components"]["schemas"]["SampleRequest"]["properties"]
    assert {"model", "prime", "n", "temperature", "seed", "top_k"} <= set(props)


def test_a_trace_process_generates_what_a_thread_does(make_client):
    body = sample_body(n=30, temperature=1.2, seed=6)
    in_thread = make_client().post("/api/sample", json=body).json()
    client = make_client(trace_processes=1)
    assert client.app.state.traces.pool is not None  # started with the app
    assert client.post("/api/sample", json=body).json() == in_thread
    with client.websocket_connect("/ws") as ws:
        ws.send_json({"type": "sample", **body})
        assert receive_sample(ws)[-1]["text"] == in_thread["text"]
    bad = client.post("/api/sample", json=sample_body("gru-question", "you are good"))
    assert bad.status_code == 422
