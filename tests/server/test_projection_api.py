"""GET /api/models/{id}/projection: the PCA the path view draws with, its refusals, its cache."""

from __future__ import annotations

import numpy as np
import pytest

from engine.model import ModelConfig, SequenceModel
from engine.projection import fit_model_projection
from engine.storage import load_model, save_model
from engine.tokenize import Vocabulary
from server.core.paths import DEMO_MODELS_DIR


def projection(client, model="gru-question", **query):
    return client.get(f"/api/models/{model}/projection", params=query)


def test_the_projection_is_the_engines_fit_on_the_task(client):
    r = projection(client)
    assert r.status_code == 200, r.text
    body = r.json()
    lm = load_model(DEMO_MODELS_DIR / "gru-question.npz")
    proj, ref, points = fit_model_projection(lm.model, lm.vocab, task_name="classify")
    assert body["model"] == "gru-question" and body["layer"] == 0 and body["direction"] == 0
    assert body["hidden_size"] == 16 and len(body["mean"]) == 16
    np.testing.assert_array_equal(body["mean"], proj.mean)
    np.testing.assert_array_equal(body["components"], proj.components)
    np.testing.assert_array_equal(body["explained_variance_ratio"], proj.explained_variance_ratio)
    assert body["reference"]["source"] == "task"
    assert body["reference"]["states"] == proj.n == len(points)
    assert body["reference"]["sequences"] == len(ref.sequences)
    assert body["extent"] == [[points[:, j].min(), points[:, j].max()] for j in range(2)]
    assert 0 < len(body["points"]) <= 800


def test_a_traced_state_lands_on_the_point_the_page_computes(client):
    body = projection(client).json()
    mean, comps = np.array(body["mean"]), np.array(body["components"])
    a = client.post("/api/trace", json={"model": "gru-question", "text": "you are good"}).json()
    b = client.post("/api/trace", json={"model": "gru-question", "text": "are you good"}).json()
    pa = (np.array([s["h"] for s in a["steps"]]) - mean) @ comps.T
    pb = (np.array([s["h"] for s in b["steps"]]) - mean) @ comps.T
    # the same words in another order end far apart on the page
    spread = np.sqrt(body["explained_variance"][0])
    assert np.linalg.norm(pa[-1] - pb[-1]) > 2 * spread
    # the axes do not depend on the sentence: asked again, the same bytes (cached)
    assert projection(client).content == projection(client).content


def test_cells_of_a_stacked_bidirectional_model(make_client, tmp_path):
    vocab = Vocabulary.from_text("hello world")
    models = tmp_path / "data" / "models"
    models.mkdir(parents=True)
    cfg = ModelConfig(
        cell="lstm", vocab_size=len(vocab), hidden_size=6, num_layers=2, bidirectional=True
    )
    extra = {"id": "bi-lm", "source": "imported", "example": "hello", "name": "bi-lm"}
    save_model(models / "bi-lm.npz", SequenceModel(cfg), vocab, "next-char", "A bi LM.", extra)
    client = make_client(projection_max_steps=120, projection_points=50)
    seen = {}
    for layer, direction in [(0, 0), (0, 1), (1, 0), (1, 1), (-1, 1)]:
        r = projection(client, "bi-lm", layer=layer, direction=direction)
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["layer"] == layer % 2 and body["direction"] == direction
        assert body["reference"]["source"] == "vocabulary"  # no task data, cannot generate
        assert body["reference"]["states"] <= 120 and len(body["points"]) <= 50
        seen[layer, direction] = body["components"]
    assert seen[-1, 1] == seen[1, 1]  # layer -1 is the top layer, 1
    assert len({str(c) for c in seen.values()}) == 4  # four cells, four sets of axes


@pytest.mark.parametrize(
    ("model", "query", "status", "words"),
    [
        ("gru-question", {"layer": 1}, 422, "1 layer(s)"),
        ("gru-question", {"layer": -2}, 422, "1 layer(s)"),
        ("gru-question", {"direction": 1}, 422, "forward only"),
        ("gru-question", {"direction": 2}, 422, "use 0 (forward) or 1"),
        ("gru-question", {"layer": "top"}, 422, "layer"),
        ("no-such-model", {}, 404, "no model with that id"),
    ],
)
def test_refusals_are_sentences(client, model, query, status, words):
    r = projection(client, model, **query)
    assert r.status_code == status, r.text
    detail = r.json()["detail"]
    assert isinstance(detail, str) and words in detail and detail.endswith(".")


def test_a_model_too_large_for_max_work_is_refused(make_client):
    client = make_client(max_work=10)
    r = projection(client)
    assert r.status_code == 422 and "max_work" in r.json()["detail"]


def test_the_fit_follows_max_work(make_client):
    # gru-question: 3 gates x 16^2 per step; room for 100 steps of reference states
    client = make_client(max_work=100 * 3 * 16**2)
    body = projection(client).json()
    assert 0 < body["reference"]["states"] <= 100
