"""Every bad request gets a 4xx with a readable `detail` string: never a 500 or a traceback."""

import json

import pytest

from tests.server.helpers import trace_body


def post_raw(client, body: bytes, content_type="application/json", **headers):
    return client.post(
        "/api/trace", content=body, headers={"content-type": content_type, **headers}
    )


def assert_clear(r, status, *words):
    assert r.status_code == status, r.text
    detail = r.json()["detail"]
    assert isinstance(detail, str) and detail
    assert "Traceback" not in detail
    for w in words:
        assert w.lower() in detail.lower(), detail


def test_megabyte_text_is_refused_before_parsing(client):
    r = client.post("/api/trace", json=trace_body(text="a" * 1_000_000))
    assert_clear(r, 413, "too large")


def test_big_body_without_content_length_is_refused(client):
    def chunks():
        for _ in range(100):
            yield b"x" * 10_000

    r = client.post("/api/trace", content=chunks(), headers={"content-type": "application/json"})
    assert_clear(r, 413, "too large")


def test_text_over_the_character_limit(make_client):
    c = make_client(max_text_chars=10)
    assert_clear(c.post("/api/trace", json=trace_body(text="h" * 11)), 422, "at most 10")


def test_too_many_tokens(make_client):
    c = make_client(max_tokens=5)
    assert_clear(
        c.post("/api/trace", json=trace_body(text="hellohello")), 422, "10 tokens", "at most 5"
    )


@pytest.mark.parametrize(
    "body,words",
    [
        (b"{not json", ["not valid json"]),
        (b"", ["required"]),
        (b"[1, 2]", ["json object"]),
        (b'"text"', ["json object"]),
        (b"\xff\xfe", ["json"]),
        (json.dumps({"model": "rnn-hello"}).encode(), ["text", "required"]),
        (json.dumps({"model": "rnn-hello", "text": 5}).encode(), ["text"]),
        (json.dumps({"model": ["x"], "text": "hell"}).encode(), ["model"]),
        (json.dumps(trace_body(top_k="many")).encode(), ["top_k"]),
        (json.dumps(trace_body(truncate=-1)).encode(), ["truncate"]),
        (json.dumps(trace_body(initial_state="sideways")).encode(), ["initial_state"]),
        (json.dumps(trace_body(text="")).encode(), ["text"]),
    ],
)
def test_malformed_requests(client, body, words):
    assert_clear(post_raw(client, body), 422, *words)


def test_wrong_content_type(client):
    r = post_raw(client, b"model=rnn-hello&text=hell", "application/x-www-form-urlencoded")
    assert r.status_code == 422
    assert isinstance(r.json()["detail"], str)


@pytest.mark.parametrize(
    "char,name", [("\x00", "NUL"), ("\x07", "U+0007"), ("\x1b", "U+001B"), ("\x7f", "U+007F")]
)
def test_control_characters_are_named(client, char, name):
    r = client.post("/api/trace", json=trace_body(text=f"he{char}ll"))
    assert_clear(r, 422, name, "position 2")


def test_tab_and_newline_are_allowed(client):
    r = client.post("/api/trace", json=trace_body("lstm-rhymes", "twinkle,\ntwinkle"))
    assert r.status_code == 200


def test_lone_surrogate_does_not_crash(client):
    # The JSON escape \ud800 decodes to a lone surrogate, which cannot be encoded as UTF-8.
    r = post_raw(client, b'{"model": "rnn-hello", "text": "he\\ud800ll"}')
    assert_clear(r, 422, "surrogate")
    r = post_raw(client, b'{"model": "rnn-\\udfff", "text": "hell"}')
    assert r.status_code in (404, 422)
    assert isinstance(r.json()["detail"], str)


def test_unknown_characters_and_words_are_marked_not_refused(client):
    r = client.post("/api/trace", json=trace_body(text="helpxhq"))
    assert r.status_code == 200 and r.json()["tokens_unknown"] == [3, 4, 6]
    r = client.post("/api/trace", json=trace_body("gru-question", "are you purple"))
    assert r.status_code == 200 and r.json()["tokens_unknown"] == [2]


def test_a_target_the_model_cannot_output_is_refused_clearly(client):
    r = client.post("/api/trace", json=trace_body(text="hell", targets=["e", "l", "l", "pz"]))
    assert_clear(r, 422, "targets[3] is not one of the model's outputs (h, e, l, o)")
    assert "pz" not in r.json()["detail"]  # the user's text is not repeated


def test_text_of_only_spaces_for_a_word_model(client):
    assert_clear(
        client.post("/api/trace", json=trace_body("gru-question", "   ")), 422, "no tokens"
    )


def test_unknown_fields_are_ignored_but_types_checked(client):
    assert client.post("/api/trace", json=trace_body(colour="red")).status_code == 200
    assert client.post("/api/trace", json=trace_body(clip=0)).status_code == 422


def test_bad_content_length_header(client):
    r = post_raw(client, b"{}", **{"content-length": "abc"})
    assert r.status_code in (400, 413, 422)
