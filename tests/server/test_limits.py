"""/openapi.json states the limits the server enforces: every bound of every request body is
tried at the bound (accepted) and one past it (refused, naming the field), on a server whose
settings changed the limits, so the schema must follow the settings."""

import re

import pytest

LIMITS = dict(
    max_text_chars=40,
    max_tokens=10,
    max_top_k=3,
    train_max_hidden=4,
    train_max_layers=2,
    train_max_steps=3,
    train_max_text_chars=30,
    max_training_jobs=500,
    api_rate=1e6,
)
WORDS = "you " * 10  # 40 characters, 10 tokens of the word model gru-question
BASES = {
    "TraceRequest": ("/api/trace", {"model": "gru-question", "text": "you"}),
    "GradcheckRequest": (
        "/api/gradcheck",
        {"model": "gru-question", "text": WORDS, "t": 0, "unit": 0},
    ),
    "TrainRequest": ("/api/train", {"task": "hello", "steps": 1, "hidden_size": 2}),
}
KINDS = ("maximum", "minimum", "exclusiveMinimum", "maxLength", "minLength", "maxItems")


def _bounds(schema: dict):
    components = schema["components"]["schemas"]
    for model in BASES:
        for field, prop in components[model]["properties"].items():
            for part in prop.get("anyOf", [prop]):
                for kind in KINDS:
                    if kind in part:
                        yield model, field, part.get("type"), kind, part[kind]


def _value(model: str, field: str, typ: str, size):
    """A value of the field at `size` (a number, or a length) that is otherwise valid."""
    if typ == "string":
        text = (WORDS * 10)[:size] if model != "TrainRequest" else ("ab" * size)[:size]
        return {"model": "m" * size, "task": "t" * size, "name": "n" * size}.get(field, text)
    if typ == "array":
        return {"index": [0] * size}.get(field, [0] * size)
    return size


def _body(model, field, value):
    path, base = BASES[model]
    body = {**base, field: value}
    if model == "TrainRequest" and field == "text":
        body["task"] = "text"
    if model == "GradcheckRequest" and field == "index":
        body = {**body, "quantity": "rnn.weight_hh_l0"}
    if field in ("targets", "truncate") or (model == "TraceRequest" and field == "text"):
        body.setdefault("text", WORDS)
        if field != "text":
            body["text"] = WORDS
    return path, body


def _refused_for(response, field: str) -> bool:
    """A 422 that names the field and a bound (pydantic's words or server.core.limits')."""
    if response.status_code != 422:
        return False
    detail = response.json()["detail"]
    return field in detail and bool(
        re.search(r"at most|at least|less than|greater than|should have", detail)
    )


def _past(kind: str, typ: str, bound):
    if kind in ("minimum", "minLength"):
        return bound - 1
    if kind == "exclusiveMinimum":
        return bound  # the bound itself is refused ...
    return bound * (1 + 1e-9) + 1e-9 if typ == "number" else bound + 1


def _within(kind: str, typ: str, bound):
    if kind == "exclusiveMinimum":
        return bound + 1e-6  # ... and anything above it accepted
    return bound


@pytest.fixture
def limited(make_client):
    return make_client(**LIMITS)


def test_the_schema_states_the_limits_of_the_settings(limited):
    schema = limited.get("/openapi.json").json()
    found = {(m, f, k): v for m, f, _, k, v in _bounds(schema)}
    assert found[("TraceRequest", "text", "maxLength")] == 40
    assert found[("TraceRequest", "top_k", "maximum")] == 3
    assert found[("GradcheckRequest", "t", "maximum")] == 9
    assert found[("TrainRequest", "hidden_size", "maximum")] == 4
    assert found[("TrainRequest", "layers", "maximum")] == 2
    assert found[("TrainRequest", "steps", "maximum")] == 3
    assert found[("TrainRequest", "text", "maxLength")] == 30


def test_every_documented_bound_is_the_enforced_one(limited):
    schema = limited.get("/openapi.json").json()
    checked = 0
    for model, field, typ, kind, bound in _bounds(schema):
        path, body = _body(model, field, _value(model, field, typ, _within(kind, typ, bound)))
        at = limited.post(path, json=body)
        assert not _refused_for(at, field), (model, field, kind, bound, at.text)
        assert at.status_code < 500
        path, body = _body(model, field, _value(model, field, typ, _past(kind, typ, bound)))
        past = limited.post(path, json=body)
        assert _refused_for(past, field), (model, field, kind, bound, past.text)
        checked += 1
    assert checked >= 25
    for job in list(limited.app.state.jobs.jobs):
        limited.delete(f"/api/train/{job}")


def test_a_trace_at_every_limit_at_once_is_answered(limited):
    body = {"model": "gru-question", "text": WORDS, "top_k": 3, "truncate": 10}
    r = limited.post("/api/trace", json={**body, "targets": [0] * 1})
    assert r.status_code == 200, r.text
    assert len(r.json()["steps"]) == 10
