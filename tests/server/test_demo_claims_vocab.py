"""The claims of the realistic-vocabulary demos and of the bag-of-words companions, measured on
the files we SHIP (server/demo_models/lstm-printable.npz, lstm-sentiment.npz, bow/*.npz).

Descriptions (scripts/train_demos.py, scripts/bow_demos.py) and the Order matters view:
- lstm-printable: "over every printable ASCII character: capitals, digits and punctuation, so
  'The quick brown fox jumps over the lazy dog 42 times.' is read letter by letter with nothing
  unknown (an accent or an emoji reads as <unk>)"
  -> test_printable_reads_the_fox_with_nothing_unknown;
  "guesses the next character" (on everyday text it never read, as the description's figure says)
  -> test_printable_guesses_the_next_character_of_text_it_never_read
- lstm-sentiment: "reads a sentence word by word, each word a 16-number embedding",
  "2,728 everyday English words" -> test_sentiment_reads_words_through_an_embedding;
  "'good' is positive, 'not good' negative, 'not bad at all' positive; ... 'it was good , not
  bad' is positive, 'it was bad , not good' negative" -> test_sentiment_learned_negation_and_order
- bow-*: "It sees only which words a sentence has, not their order ... the same input ... the
  same answer" -> test_a_bag_gives_reordered_sentences_the_same_answer; the view's "both
  models' accuracy on the same sentences" (the files' "evaluation")
  -> test_the_recorded_accuracies_are_measured; the recurrent companion tells the pairs apart
  -> test_the_recurrent_companion_tells_the_pairs_apart
"""

from __future__ import annotations

import string
from functools import cache

import numpy as np
import pytest

from engine.bow import accuracy
from engine.bow_storage import LoadedBow, load_bow
from engine.everyday import corpus
from engine.lexicon import all_words
from engine.storage import LoadedModel, load_model
from engine.tasks import demo_task
from engine.train import evaluate
from scripts.bow_demos import BOW_DEMOS
from scripts.train_demos import DEMOS
from server.core.paths import DEMO_MODELS_DIR

FOX = "The quick brown fox jumps over the lazy dog 42 times."
PAIRS = {
    "bow-question": [("you are good", "are you good"), ("they will run", "will they run")],
    "bow-sentiment": [
        ("it was good , not bad", "it was bad , not good"),
        ("the film was not good but bad", "the film was not bad but good"),
    ],
}


@cache
def shipped(model_id: str) -> LoadedModel:
    return load_model(DEMO_MODELS_DIR / f"{model_id}.npz")


@cache
def bag(model_id: str) -> LoadedBow:
    return load_bow(DEMO_MODELS_DIR / "bow" / f"{model_id}.npz")


def label(model_id: str, text: str) -> str:
    m = shipped(model_id)
    probs = m.model.forward(m.vocab.read(text).ids).probs[-1]
    return m.metadata["labels"][int(probs.argmax())]


def description(model_id: str) -> str:
    return next(s["description"] for s in DEMOS if s["id"] == model_id)


# -- lstm-printable ----------------------------------------------------------------------------


def test_printable_reads_the_fox_with_nothing_unknown():
    m = shipped("lstm-printable")
    visible = set(string.printable) - set("\t\r\x0b\x0c")
    assert visible <= set(m.vocab.tokens) and len(visible) == 96  # 95 visible + space, "\n"
    assert m.vocab.normalize is None and m.vocab.unk == "<unk>"
    assert not m.vocab.read(FOX).unknown.any()
    emoji = m.vocab.read("café 😀")
    assert emoji.unknown.tolist() == [False, False, False, True, False, True]
    assert emoji.seen[3] == emoji.seen[5] == "<unk>"
    assert "nothing unknown" in description("lstm-printable")


def test_printable_guesses_the_next_character_of_text_it_never_read():
    m = shipped("lstm-printable")
    text = corpus(4000, seed=12345)  # the grammar's text, drawn with a seed it was not trained on
    assert text not in demo_task("printable").text
    ids = m.vocab.read(text).ids
    probs = m.model.forward(ids[:-1]).probs
    hits = float(np.mean(probs.argmax(axis=1) == ids[1:]))
    loss = float(-np.mean(np.log(probs[np.arange(len(ids) - 1), ids[1:]])))
    assert hits >= PRINTABLE_HITS, hits
    assert f"{round(100 * PRINTABLE_HITS)}%" in description("lstm-printable")
    assert loss < np.log(len(m.vocab)) / 2  # far better than a uniform guess (log V)


PRINTABLE_HITS = 0.74  # the description's figure (measured: 0.743 on this text)


# -- lstm-sentiment ----------------------------------------------------------------------------


def test_sentiment_reads_words_through_an_embedding():
    m = shipped("lstm-sentiment")
    cfg = m.model.config
    assert cfg.input_encoding == "embedding" and cfg.embed_size == 16 and cfg.hidden_size == 32
    assert m.vocab.level == "word" and m.vocab.normalize == "lower" and m.vocab.unk == "<unk>"
    words = all_words()
    assert len(words) == 2728 and set(words) <= set(m.vocab.tokens)
    assert "2,728 everyday English words" in description("lstm-sentiment")
    for everyday in ("the", "movie", "pizza", "friend", "monday", "london", "love", "seven"):
        assert everyday in m.vocab


def test_sentiment_learned_negation_and_order():
    claims = {
        "good": "positive",
        "not good": "negative",
        "not bad at all": "positive",
        "bad": "negative",
        "it was good , not bad": "positive",
        "it was bad , not good": "negative",
        "I love this movie!": "positive",
        "The movie was not bad at all.": "positive",
        "The pizza wasn't good.": "negative",
    }
    for text, expected in claims.items():
        assert label("lstm-sentiment", text) == expected, text


def test_sentiment_held_out_accuracy():
    m = shipped("lstm-sentiment")
    task = demo_task("sentiment")
    train = {t for t, _ in task.examples}
    assert not any(t in train for t, _ in task.test_examples)  # held out
    held_out = [(m.vocab.encode(t), y) for t, y in task.test_examples]
    assert evaluate(m.model, held_out)["accuracy"] >= 0.9


# -- the panels' explanations (explain.js), on these two models --------------------------------


@pytest.mark.parametrize("model_id", ["lstm-printable", "lstm-sentiment"])
def test_gates_lie_between_0_and_1_and_unknown_tokens_read_unk(model_id):
    """cell: "Gates that pass through a sigmoid ... lie between 0 and 1"; tokens: "A token the
    model does not know ... reads ... <unk> if its vocabulary has one"."""
    m = shipped(model_id)
    read = m.vocab.read("Ça va 😀")
    assert read.unknown.any() and all(read.seen[t] == "<unk>" for t in read.unknown_steps)
    run = m.model.forward(read.ids)
    unk_row = m.model.encode([m.vocab.index["<unk>"]])[1][0]
    for t in read.unknown_steps:
        np.testing.assert_array_equal(run.x[t], unk_row)
    tape = run.tapes[0][0]
    for name in set(tape.gate_names) & set("iforz"):
        assert np.all((tape.gates[name] >= 0) & (tape.gates[name] <= 1)), name


# -- bag of words ------------------------------------------------------------------------------


@pytest.mark.parametrize("spec", BOW_DEMOS, ids=lambda s: s["id"])
def test_a_bag_gives_reordered_sentences_the_same_answer(spec):
    b = bag(spec["id"])
    assert b.metadata["companion"] == spec["companion"]
    assert b.vocab.tokens == shipped(spec["companion"]).vocab.tokens  # one id per token in both
    for first, second in PAIRS[spec["id"]]:
        x1, x2 = (b.model.bag(b.vocab.read(t).ids) for t in (first, second))
        np.testing.assert_array_equal(x1, x2)
        assert np.array_equal(b.model.forward_vector(x1).p, b.model.forward_vector(x2).p)


@pytest.mark.parametrize("spec", BOW_DEMOS, ids=lambda s: s["id"])
def test_the_recurrent_companion_tells_the_pairs_apart(spec):
    for first, second in PAIRS[spec["id"]]:
        assert label(spec["companion"], first) != label(spec["companion"], second), first


@pytest.mark.parametrize("spec", BOW_DEMOS, ids=lambda s: s["id"])
def test_the_recorded_accuracies_are_measured(spec):
    b, companion = bag(spec["id"]), shipped(spec["companion"])
    task = demo_task(spec["task"])
    which, sentences = (
        ("held-out", task.test_examples)
        if task.test_examples
        else (
            "training",
            task.examples,
        )
    )
    encoded = [(companion.vocab.encode(t), y) for t, y in sentences]
    ev = b.metadata["evaluation"]
    assert (ev["set"], ev["size"]) == (which, len(encoded))
    assert ev["accuracy"] == pytest.approx(accuracy(b.model, encoded), abs=1e-12)
    rnn = evaluate(companion.model, encoded)["accuracy"]
    assert ev["companion_accuracy"] == pytest.approx(rnn, abs=1e-12)
    assert rnn > ev["accuracy"] + 0.1  # order is worth something on these sentences
    if spec["id"] == "bow-question":  # every sentence has a twin with the other label
        assert ev["accuracy"] == pytest.approx(0.5)
