"""GET /api/bow and POST /api/bow/predict: the bag-of-words companions beside their recurrent
models ("Order matters"), and their refusals."""

from __future__ import annotations

import pytest

from tests.server.helpers import trace_body


def predict(client, text: str, model: str = "bow-question"):
    return client.post("/api/bow/predict", json={"model": model, "text": text})


def test_the_list_names_each_companion_and_both_accuracies(client):
    listed = {m["id"]: m for m in client.get("/api/bow").json()}
    assert set(listed) == {"bow-question", "bow-sentiment"}
    assert listed["bow-question"]["companion"] == "gru-question"
    assert listed["bow-sentiment"]["companion"] == "lstm-sentiment"
    models = {m["id"] for m in client.get("/api/models").json()}
    for m in listed.values():
        assert m["companion"] in models
        ev = m["evaluation"]
        assert 0 <= ev["accuracy"] <= 1 and 0 <= ev["companion_accuracy"] <= 1 and ev["size"] > 0
    assert listed["bow-sentiment"]["evaluation"]["set"] == "held-out"


def test_the_same_words_give_the_same_vector_and_answer(client):
    a, b = predict(client, "you are good").json(), predict(client, "are you good").json()
    assert a["bag"] == b["bag"] and a["probs"] == b["probs"] and a["label"] == b["label"]
    assert a["tokens"] == ["you", "are", "good"] and [e["count"] for e in a["bag"]] == [1, 1, 1]
    assert sorted(e["id"] for e in a["bag"]) == sorted(a["ids"])
    assert a["companion"]["label"] == "statement" and b["companion"]["label"] == "question"
    assert a["vocab_size"] == len(client.get("/api/models/gru-question").json()["vocab"])


def test_the_companions_answer_is_its_trace(client):
    """The page shows the companion's probabilities from this route: they are its trace's."""
    for text in ("you are good", "are you good", "Are you good?"):
        answer = predict(client, text).json()["companion"]
        trace = client.post("/api/trace", json=trace_body("gru-question", text)).json()
        top = {p["token"]: p["p"] for p in trace["steps"][-1]["top"]}
        assert [top[label] for label in trace["labels"]] == pytest.approx(
            answer["probs"], rel=1e-12
        )


def test_counts_repeat_and_unknown_words_are_marked(client):
    r = predict(client, "Are you good good? Zorblat", model="bow-sentiment").json()
    assert r["tokens"] == ["Are", "you", "good", "good", "?", "Zorblat"]
    assert r["unknown"] == [False, False, False, False, False, True]
    assert r["seen_as"][-1] == "<unk>" and r["seen_as"][0] == "are"
    counts = {e["token"]: e["count"] for e in r["bag"]}
    assert counts["good"] == 2 and counts["<unk>"] == 1


@pytest.mark.parametrize(
    ("body", "status", "says"),
    [
        ({"model": "nope", "text": "good"}, 404, "bag-of-words model"),
        ({"model": "bow-question", "text": "   "}, 422, "no word"),
        ({"model": "bow-question", "text": ""}, 422, "text"),
        ({"model": "bow-question", "text": "a\x00b"}, 422, "NUL"),
        ({"model": "bow-question", "text": "you " * 600}, 422, "max_"),
        ({"model": "bow-question"}, 422, "text"),
        ({"model": "bow-question", "text": "good", "extra": 1}, 422, "does not take"),
        ({"model": "bow-question", "text": 5}, 422, "text"),
    ],
)
def test_bad_requests_are_refused_plainly(client, body, status, says):
    r = client.post("/api/bow/predict", json=body)
    assert r.status_code == status, r.text
    assert says.lower() in r.json()["detail"].lower()


def test_too_many_tokens_is_a_setting(make_client):
    c = make_client(max_tokens=3)
    assert predict(c, "are you good").status_code == 200
    r = predict(c, "are you good ?")
    assert r.status_code == 422 and "max_tokens" in r.json()["detail"]
