"""POST /api/gradcheck on the demo models: the page's "Check gradient" button."""

import pytest

DEMOS = [
    ("rnn-hello", "hell", 8),
    ("lstm-rhymes", "twinkle, twinkle", 48),
    ("gru-question", "are you good", 16),
]


def post(client, **body):
    return client.post("/api/gradcheck", json=body)


@pytest.mark.parametrize(("model", "text", "H"), DEMOS)
def test_the_trace_gradient_passes_the_check(client, model, text, H):
    trace = client.post("/api/trace", json={"model": model, "text": text}).json()
    T = len(trace["steps"])
    for t in (0, T - 1):
        unit = H // 2 + t % 3
        # the body the page sends: clip and truncate null when off
        r = post(client, model=model, text=text, t=t, unit=unit, clip=None, truncate=None)
        assert r.status_code == 200, r.text
        out = r.json()
        assert out["analytic"] == pytest.approx(trace["backward"][t]["dh"][unit], rel=1e-12)
        assert out["rel_error"] < 1e-5, out  # the page shows ✓
        assert out["loss"] == pytest.approx(trace["loss"], rel=1e-9)
        assert f"t={t}" in out["quantity"] and out["note"] is None


def test_cell_state_and_parameter_checks(client):
    r = post(client, model="lstm-rhymes", text="twinkle", t=3, unit=5, quantity="c").json()
    assert r["rel_error"] < 1e-5 and r["quantity"].startswith("dL/dc")
    r = post(client, model="rnn-hello", text="hell", quantity="rnn.weight_hh_l0", index=[1, 2])
    assert r.status_code == 200 and r.json()["rel_error"] < 1e-5
    # the shared demo model's weights are untouched: the trace is the same afterwards
    a = client.post("/api/trace", json={"model": "rnn-hello", "text": "hel", "flow": False})
    post(client, model="rnn-hello", text="hel", quantity="head.bias", index=[0])
    b = client.post("/api/trace", json={"model": "rnn-hello", "text": "hel", "flow": False})
    assert a.json()["steps"] == b.json()["steps"]


def test_truncation_explains_a_mismatch(client):
    body = {"model": "lstm-rhymes", "text": "twinkle, twinkle", "t": 2, "unit": 7}
    full = post(client, **body).json()
    cut = post(client, **body, truncate=1, clip=0.5).json()
    assert full["rel_error"] < 1e-5
    assert cut["numeric"] == pytest.approx(full["numeric"], rel=1e-9)
    assert cut["rel_error"] > 1e-3
    assert "truncate=1" in cut["note"] and "clip" in cut["note"]
    sliding = post(client, **body, truncate=1, truncate_mode="sliding").json()
    assert "sliding" in sliding["note"] and "chunked" in cut["note"]


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        ({"model": "nope", "t": 0, "unit": 0}, 404, "no model"),
        ({"t": 4, "unit": 0}, 422, "0..3"),
        ({"t": 0, "unit": 8}, 422, "0..7"),
        ({"t": -1, "unit": 0}, 422, "t:"),
        ({"unit": 0}, 422, "needs both t and unit"),
        ({"t": 0, "unit": 0, "quantity": "c"}, 422, "LSTM"),
        ({"t": 0, "unit": 0, "direction": 1}, 422, "direction"),
        ({"t": 0, "unit": 0, "layer": 2}, 422, "layer"),
        ({"quantity": "rnn.weight_hh_l0", "index": [8, 0]}, 422, "shape [8, 8]"),
        ({"quantity": "weights"}, 422, "parameter name"),
        ({"text": "he\x00ll", "t": 0, "unit": 0}, 422, "NUL"),
        ({"text": "\x01", "t": 0, "unit": 0}, 422, "control character"),
    ],
)
def test_bad_requests_get_a_clear_4xx(client, body, status, words):
    r = post(client, **{"model": "rnn-hello", "text": "hell", **body})
    assert r.status_code == status, r.text
    assert words in r.json()["detail"]


def test_text_limit_is_the_trace_limit(make_client):
    client = make_client(max_text_chars=10)
    r = post(client, model="rnn-hello", text="hell" * 3, t=0, unit=0)
    assert r.status_code == 422 and "at most 10" in r.json()["detail"]


def test_documented_in_openapi(client):
    op = client.get("/openapi.json").json()["paths"]["/api/gradcheck"]["post"]
    assert op["tags"] == ["gradcheck"]
    assert {"200", "404", "422"} <= set(op["responses"])
