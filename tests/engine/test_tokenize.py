"""Vocabulary: character and word level, Unicode, unknown tokens, one-hot, JSON."""

import numpy as np
import pytest

from engine.tokenize import Vocabulary, split_words


def test_char_vocabulary_in_order_of_first_appearance_round_trips():
    v = Vocabulary.from_text("hello")
    assert v.tokens == ["h", "e", "l", "o"]
    ids = v.encode("hello")
    assert ids.tolist() == [0, 1, 2, 2, 3]
    assert v.decode(ids) == "hello"


def test_any_unicode_text_is_one_token_per_code_point():
    text = "naïve café — 東京 🙂!"
    v = Vocabulary.from_text(text)
    assert v.decode(v.encode(text)) == text
    assert "🙂" in v and "東" in v
    assert len(v.encode(text)) == len(text)


def test_word_level_keeps_punctuation_as_tokens():
    assert split_words("Hello, world! It's  fine.") == [
        "Hello",
        ",",
        "world",
        "!",
        "It",
        "'",
        "s",
        "fine",
        ".",
    ]
    v = Vocabulary.from_text("the cat sat. the dog sat!", level="word")
    assert v.tokens == ["the", "cat", "sat", ".", "dog", "!"]
    assert v.decode(v.encode("the dog sat.")) == "the dog sat ."


def test_unknown_tokens_raise_a_clear_error_listing_them():
    v = Vocabulary.from_text("abc")
    with pytest.raises(ValueError, match="'x', 'y'"):
        v.encode("axbyx")


def test_unknown_tokens_map_to_unk_when_the_vocabulary_has_one():
    v = Vocabulary.from_text("the cat", level="word", unk="<unk>")
    assert v.tokens[-1] == "<unk>"
    ids = v.encode("the dog")
    assert v.decode_tokens(ids) == ["the", "<unk>"]


def test_min_count_drops_rare_tokens():
    v = Vocabulary.from_text("aab", unk="<unk>", min_count=2)
    assert v.tokens == ["a", "<unk>"]


def test_one_hot_rows():
    v = Vocabulary(["a", "b", "c"])
    x = v.one_hot(v.encode("cab"))
    np.testing.assert_array_equal(x, np.eye(3)[[2, 0, 1]])
    with pytest.raises(ValueError):
        v.one_hot([3])


def test_json_round_trip_keeps_level_unk_and_order():
    v = Vocabulary.from_text("Zürich, Genève!", level="word", unk="<unk>")
    w = Vocabulary.from_json(v.to_json())
    assert w == v and w.tokens == v.tokens and w.level == "word" and w.unk == "<unk>"


def test_bad_vocabularies_are_refused():
    with pytest.raises(ValueError, match="duplicate"):
        Vocabulary(["a", "a"])
    with pytest.raises(ValueError, match="level"):
        Vocabulary(["a"], level="byte")
    with pytest.raises(ValueError):
        Vocabulary.from_json('{"level": "char"}')
    with pytest.raises(ValueError, match="outside"):
        Vocabulary(["a"]).decode([1])
