"""Every sentence the encoder–decoder and tree demos' descriptions state (written by
scripts/train_seq2seq_demos.py) is measured here on the files we SHIP, by the engine calls the
API uses.

- gru-reverse / gru-reverse-attention: "A GRU encoder–decoder (32 hidden units) with(out)
  attention", "reverses a string of the letters a–h", "Measured on 100 new random strings of each
  length: X% of 3–4 letter strings and Y% of 8–10 letter strings come out exactly right"
  -> test_reverse_descriptions_quote_what_the_shipped_files_do (greedy decoding of the same
  strings, drawn from a seed training never uses; the long ones almost never trained on);
  and the point of the pair, attention visibly helps on longer inputs
  -> test_attention_helps_on_longer_inputs.
- tree-sentiment: "tells 'good' (positive) from 'not good' (negative) and 'not bad' (positive)
  from 'bad' (negative), alone or in '((the movie) (was (not good)))'. N% of 500 new random
  phrases right at the root" -> test_tree_sentiment_negation_flips_the_side and
  test_tree_sentiment_held_out_accuracy.
"""

from __future__ import annotations

import re
from functools import cache

import numpy as np
import pytest

from engine.seq2seq_tasks import accuracy_by_length, sentiment_data, tree_of
from engine.storage import load_model
from scripts.train_seq2seq_demos import HELD_OUT_PER_LENGTH, LONG, SHORT, held_out, share
from server.core.paths import DEMO_MODELS_DIR


@cache
def loaded(model_id: str):
    return load_model(DEMO_MODELS_DIR / f"{model_id}.npz")


@cache
def accuracy(model_id: str) -> dict:
    m = loaded(model_id)
    return accuracy_by_length(m.model, m.vocab, m.target_vocab, held_out())


@pytest.mark.parametrize("model_id", ["gru-reverse", "gru-reverse-attention"])
def test_reverse_descriptions_quote_what_the_shipped_files_do(model_id):
    m = loaded(model_id)
    d = m.description
    assert m.kind == "seq2seq" and m.model.config.cell == "gru"
    assert f"({m.model.config.hidden_size} hidden units)" in d
    assert (m.model.config.attention is not None) == ("with Luong attention" in d)
    assert "reverses a string of the letters a–h" in d
    assert set(m.vocab.tokens) == set("abcdefgh")
    assert f"{HELD_OUT_PER_LENGTH} new random strings of each length" in d
    said = re.search(r"(\d+)% of 3–4 letter strings and (\d+)% of 8–10 letter strings", d)
    acc = accuracy(model_id)
    assert int(said.group(1)) == round(100 * share(acc, SHORT))
    assert int(said.group(2)) == round(100 * share(acc, LONG))
    # the long ones are (almost all) strings it never trained on
    from engine.seq2seq_tasks import reverse_pairs

    train = {s for s, _ in reverse_pairs(20000, 2, 10, seed=1)}
    long_held = [s for s, _ in held_out() if len(s) >= 8]
    assert sum(s in train for s in long_held) < 0.05 * len(long_held)


def test_attention_helps_on_longer_inputs():
    plain, att = accuracy("gru-reverse"), accuracy("gru-reverse-attention")
    # both do short strings; on the long ones attention is far better
    assert share(plain, SHORT) >= 0.9 and share(att, SHORT) >= 0.9
    assert share(att, LONG) >= 0.8
    assert share(att, LONG) - share(plain, LONG) >= 0.3
    # and the gap grows with the length
    gaps = [att[k][0] / att[k][1] - plain[k][0] / plain[k][1] for k in sorted(att)]
    assert np.mean(gaps[-3:]) > np.mean(gaps[:3]) + 0.3


def _root(text: str) -> str:
    m = loaded("tree-sentiment")
    nodes, ids = tree_of(text, m.vocab)
    run = m.model.forward(nodes, ids)
    return m.metadata["labels"][int(run.probs[-1].argmax())]


def test_tree_sentiment_negation_flips_the_side():
    d = loaded("tree-sentiment").description
    assert "'good' (positive) from 'not good' (negative)" in d
    assert "'not bad' (positive) from 'bad' (negative)" in d
    assert _root("good") == "positive" and _root("not good") == "negative"
    assert _root("bad") == "negative" and _root("not bad") == "positive"
    assert _root("((the movie) (was (not good)))") == "negative"
    assert _root("((the movie) (was good))") == "positive"
    # the two land on different sides: their root vectors' predictions differ with margin
    m = loaded("tree-sentiment")
    p = [m.model.forward(*tree_of(t, m.vocab)).probs[-1][1] for t in ("good", "not good")]
    assert p[0] > 0.9 and p[1] < 0.1


def test_tree_sentiment_held_out_accuracy():
    m = loaded("tree-sentiment")
    said = int(re.search(r"(\d+)% of 500 new random phrases", m.description).group(1))
    held = sentiment_data(500, seed=2)
    right = sum(
        int(m.model.forward(*tree_of(text, m.vocab)).probs[-1].argmax() == label)
        for text, label in held
    )
    assert said == round(100 * right / 500)


def test_attention_model_writes_the_letter_it_attends_to():
    """What the what-if shows: all of a step's attention moved onto source letter s, the step
    writes s (every step, every letter of a 7-letter string)."""
    from engine.seq2seq_decode import focus, whatif

    m = loaded("gru-reverse-attention")
    src = "abcdefg"
    run = m.model.forward(m.vocab.encode(src), m.target_vocab.encode(src[::-1]))
    names = m.target_vocab.tokens
    for t in range(len(src)):
        wrote = [names[int(whatif(run, t, focus(7, s)).probs.argmax())] for s in range(7)]
        assert wrote == list(src), t
