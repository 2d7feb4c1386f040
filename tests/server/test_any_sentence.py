"""Any sentence a student types is traced by every demo model (issue 12, "Any sentence").

No model refuses a sentence for its characters or words: the models trained lower-case
lower-case what they read, and read what they still do not know as the zero vector, or as
``<unk>`` where their vocabulary has one (lstm-printable reads as typed, over printable ASCII;
lstm-sentiment lower-cases, over a few thousand words). The trace says which tokens those were
(`tokens_unknown`, per step `unknown` and `seen_as`), keeps every token as typed (`tokens`),
and scores no guess against an unknown next token.
"""

from __future__ import annotations

import pytest

from engine.tasks import BUILTIN, demo_task
from scripts.train_demos import DEMOS
from server.tracing.binary import unpack
from tests.server.helpers import trace_body

# The demos that read a sentence; the one-to-one and one-to-many demos read its first token and
# name the rest (`tokens_ignored`).
ONE_TOKEN = ("one-to-one", "one-to-many")
DEMO_IDS = [spec["id"] for spec in DEMOS if demo_task(spec["task"]).setup not in ONE_TOKEN]
ONE_TOKEN_IDS = [spec["id"] for spec in DEMOS if demo_task(spec["task"]).setup in ONE_TOKEN]
SENTENCES = [
    "Are you good?",
    "I love this movie!",
    "The quick brown fox jumps over the lazy dog 42 times.",
    "Ça va? naïve café 😀",
]
FOX = SENTENCES[2]
WORDS = {  # what the word model's tokenizer makes of them: punctuation split off
    "Are you good?": ["Are", "you", "good", "?"],
    "I love this movie!": ["I", "love", "this", "movie", "!"],
    FOX: "The quick brown fox jumps over the lazy dog 42 times .".split(),
    "Ça va? naïve café 😀": ["Ça", "va", "?", "naïve", "café", "😀"],
}


class Vocab:
    """What the API says a model reads: its tokens, normalisation and unknown token."""

    def __init__(self, detail: dict):
        self.kind, self.tokens = detail["vocab_kind"], set(detail["vocab"])
        self.normalize, self.unk = detail["normalize"], detail["unk"]

    def looked_up(self, token: str) -> str:
        return token.lower() if self.normalize == "lower" else token


def vocabulary(client, model_id: str) -> tuple[str, Vocab]:
    vocab = Vocab(client.get(f"/api/models/{model_id}").json())
    return vocab.kind, vocab


def check_marks(trace_or_frames: dict, steps: list[dict], vocab: Vocab) -> None:
    """The marks agree with the vocabulary: a token is unknown when its normalised form is not
    in it, and then the model read <unk> (where the vocabulary has one) or nothing."""
    tokens = trace_or_frames["tokens"]
    unknown = [t for t, tok in enumerate(tokens) if vocab.looked_up(tok) not in vocab.tokens]
    assert trace_or_frames["tokens_unknown"] == unknown
    assert trace_or_frames["tokens_seen"] == [
        vocab.unk if t in unknown else vocab.looked_up(tok) for t, tok in enumerate(tokens)
    ]
    assert [s["token"] for s in steps] == tokens  # as typed, none dropped
    assert [s["unknown"] for s in steps] == [t in unknown for t in range(len(tokens))]
    assert [s["seen_as"] for s in steps] == trace_or_frames["tokens_seen"]
    no_input = [s["unknown"] and vocab.unk is None for s in steps]
    assert [s["input_index"] is None for s in steps] == no_input


@pytest.mark.parametrize("model_id", DEMO_IDS)
@pytest.mark.parametrize("text", SENTENCES)
def test_every_demo_model_traces_any_sentence(client, model_id, text):
    r = client.post("/api/trace", json=trace_body(model_id, text))
    assert r.status_code == 200, r.text
    trace = r.json()
    kind, vocab = vocabulary(client, model_id)
    assert trace["tokens"] == (list(text) if kind == "char" else WORDS[text])
    assert trace["normalize"] == vocab.normalize
    check_marks(trace, trace["steps"], vocab)
    assert trace["input_ids"] == [s["input_index"] for s in trace["steps"]]


@pytest.mark.parametrize("model_id", ONE_TOKEN_IDS)
@pytest.mark.parametrize("text", SENTENCES)
def test_the_one_token_demos_read_the_first_token_and_name_the_rest(client, model_id, text):
    r = client.post("/api/trace", json=trace_body(model_id, text))
    assert r.status_code == 200, r.text
    trace = r.json()
    kind, vocab = vocabulary(client, model_id)
    typed = list(text) if kind == "char" else WORDS[text]
    assert trace["tokens"] + trace["tokens_ignored"] == typed  # nothing dropped unsaid
    assert len(trace["tokens"]) == 1 and trace["steps"][0]["token"] == typed[0]
    first = vocab.looked_up(typed[0])
    first_known = first in vocab.tokens
    assert trace["tokens_unknown"] == ([] if first_known else [0])
    assert trace["steps"][0]["seen_as"] == (first if first_known else vocab.unk)


@pytest.mark.parametrize("model_id", ["lstm-rhymes", "rnn-rhymes", "gru-rhymes"])
def test_the_rhymes_models_mark_what_the_rhymes_never_had(client, model_id):
    trace = client.post("/api/trace", json=trace_body(model_id, FOX)).json()
    unknown = [trace["tokens"][t] for t in trace["tokens_unknown"]]
    assert unknown == ["q", "x", "z", "4", "2"]  # capitals are read lower-case: "T" is "t"
    assert trace["steps"][0]["token"] == "T" and trace["steps"][0]["seen_as"] == "t"


@pytest.mark.parametrize("model_id", ["lstm-rhymes", "rnn-hello"])
def test_no_guess_is_scored_against_an_unknown_next_token(client, model_id):
    trace = client.post("/api/trace", json=trace_body(model_id, FOX)).json()
    steps, unknown = trace["steps"], set(trace["tokens_unknown"])
    for t, step in enumerate(steps[:-1]):
        if t + 1 in unknown:
            assert step["target"] is None and step["loss"] is None, t
        else:  # the next character, lower-cased
            assert step["target_token"] == steps[t + 1]["seen_as"] and step["loss"] > 0
    losses = [s["loss"] for s in steps if s["loss"] is not None]
    assert trace["loss"] == pytest.approx(sum(losses), rel=1e-12)


def test_the_question_model_still_tells_questions_from_statements(client):
    def label(text: str) -> str:
        trace = client.post("/api/trace", json=trace_body("gru-question", text)).json()
        return trace["labels"][trace["steps"][-1]["top"][0]["index"]]

    assert label("Are you good?") == "question"  # "?" is not one of its 31 words: a zero input
    assert label("You are good.") == "statement"
    trace = client.post("/api/trace", json=trace_body("gru-question", "I love this movie!")).json()
    assert trace["tokens_seen"] == ["i", None, None, None, None]


@pytest.mark.parametrize("model_id", DEMO_IDS)
def test_the_websocket_trace_marks_the_unknown_tokens_too(client, model_id):
    _, vocab = vocabulary(client, model_id)
    with client.websocket_connect("/ws") as ws:
        for text in SENTENCES:
            ws.send_json(trace_body(model_id, text))
            frames = [ws.receive_json()]
            while frames[-1]["phase"] != "done":
                frames.append(ws.receive_json())
            start = frames[0]
            forward = [f for f in frames if f["phase"] == "forward"]
            check_marks(start, forward, vocab)
        ws.send_json({**trace_body(model_id, FOX), "encoding": "binary"})  # the page's form
        frames = unpack(ws.receive_bytes()) + unpack(ws.receive_bytes())
    check_marks(frames[0], [f for f in frames if f["phase"] == "forward"], vocab)
    assert frames[-1]["phase"] == "done"


def test_live_typing_an_unknown_character_steps_on_a_zero_vector(client):
    with client.websocket_connect("/ws") as ws:
        ws.send_json(trace_body("lstm-rhymes", "the"))
        frames = [ws.receive_json()]
        while frames[-1]["phase"] != "done":
            frames.append(ws.receive_json())
        for text, seen in (("Q", None), ("T", "t"), ("😀", None)):
            ws.send_json({"type": "feed", "text": text})
            frame = ws.receive_json()
            assert frame["phase"] == "forward" and frame["live"] is True
            assert frame["token"] == text and frame["seen_as"] == seen
            assert frame["unknown"] is (seen is None)
            assert (frame["input_index"] is None) is (seen is None)
        assert frame["t"] == 5
        # the state moved on through the unknown steps: the socket is still in step
        ws.send_json({"type": "feed", "text": "x"})
        assert ws.receive_json()["t"] == 6


def test_a_gradient_check_at_an_unknown_step_agrees(client):
    r = client.post("/api/gradcheck", json={"model": "rnn-hello", "text": "hex", "t": 2, "unit": 3})
    assert r.status_code == 200, r.text
    assert r.json()["rel_error"] < 1e-6


def test_the_demo_models_say_they_lower_case_as_the_training_script_writes(client):
    for spec in DEMOS:
        m = client.get(f"/api/models/{spec['id']}").json()
        expected = demo_task(spec["task"]).vocabulary()
        assert m["vocab"] == expected.tokens
        assert (m["normalize"], m["unk"]) == (expected.normalize, expected.unk)
        if spec["task"] in BUILTIN:
            assert m["normalize"] == "lower" and m["unk"] is None
    assert demo_task("printable").vocabulary().normalize is None  # capitals are its own tokens
    for task in ("hello", "rhymes"):  # trained lower-case: the texts have no capitals
        assert BUILTIN[task].text == BUILTIN[task].text.lower()
    assert all(t == t.lower() for t, _ in BUILTIN["question"].examples)


def test_a_trace_process_reads_unknown_tokens_as_a_thread_does(make_client):
    threads = make_client(trace_processes=0)
    processes = make_client(trace_processes=1)
    body = trace_body("gru-rhymes", FOX)
    assert (
        processes.post("/api/trace", json=body).json()
        == threads.post("/api/trace", json=body).json()
    )
