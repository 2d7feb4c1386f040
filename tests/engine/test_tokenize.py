"""Vocabulary: character and word level, Unicode, normalisation, unknown tokens, one-hot, JSON."""

import numpy as np
import pytest

from engine.tokenize import NO_TOKEN, Vocabulary, split_words


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


def test_word_level_splits_punctuation_off_the_words_people_type():
    assert split_words("Are you good?") == ["Are", "you", "good", "?"]
    assert split_words("I love this movie!") == ["I", "love", "this", "movie", "!"]
    assert split_words("the lazy dog 42 times.") == ["the", "lazy", "dog", "42", "times", "."]
    assert split_words("Ça va? naïve café 😀") == ["Ça", "va", "?", "naïve", "café", "😀"]


def test_unknown_tokens_raise_a_clear_error_listing_them_when_encoding_strictly():
    v = Vocabulary.from_text("abc")
    with pytest.raises(ValueError, match="'x', 'y'"):
        v.encode("axbyx")


def test_a_lower_case_vocabulary_reads_capitals_as_their_lower_case_letters():
    v = Vocabulary.from_text("are you good", level="word", normalize="lower")
    enc = v.read("Are YOU good?")
    assert enc.tokens == ["Are", "YOU", "good", "?"]  # as typed, nothing dropped
    assert enc.normalized == ["are", "you", "good", "?"]
    assert enc.seen == ["are", "you", "good", None]
    assert enc.unknown.tolist() == [False, False, False, True]
    assert enc.unknown_steps == [3]
    assert enc.ids.tolist() == [0, 1, 2, NO_TOKEN]
    assert v.encode("Are you good").tolist() == [0, 1, 2]
    # without normalisation a capital is a different token
    assert Vocabulary.from_text("are").read("Are").unknown.tolist() == [True, False, False]


def test_lower_casing_keeps_one_typed_token_one_step():
    v = Vocabulary.from_text("hi", normalize="lower")
    enc = v.read("HİI")  # "İ".lower() is two code points: still one step, unknown
    assert enc.tokens == ["H", "İ", "I"] and len(enc.ids) == 3
    assert enc.seen == ["h", None, "i"]


def test_from_text_builds_the_vocabulary_from_the_normalised_tokens():
    v = Vocabulary.from_text("Hello hello", level="word", normalize="lower")
    assert v.tokens == ["hello"]


def test_an_unknown_token_is_read_as_no_token_or_as_unk():
    enc = Vocabulary.from_text("abc").read("axb")
    assert enc.ids.tolist() == [0, NO_TOKEN, 1] and enc.seen == ["a", None, "b"]
    enc = Vocabulary.from_text("abc", unk="<unk>").read("axb")
    assert enc.ids.tolist() == [0, 3, 1] and enc.seen == ["a", "<unk>", "b"]
    assert enc.unknown.tolist() == [False, True, False]


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


def test_json_round_trip_keeps_level_unk_normalisation_and_order():
    v = Vocabulary.from_text("Zürich, Genève!", level="word", unk="<unk>", normalize="lower")
    w = Vocabulary.from_json(v.to_json())
    assert w == v and w.tokens == v.tokens and w.level == "word" and w.unk == "<unk>"
    assert w.normalize == "lower" and w.tokens[0] == "zürich"


def test_a_vocabulary_saved_before_normalisation_existed_reads_tokens_as_typed():
    v = Vocabulary.from_dict({"level": "char", "unk": None, "tokens": ["a", "b"]})
    assert v.normalize is None and v.read("A").unknown.tolist() == [True]


def test_bad_vocabularies_are_refused():
    with pytest.raises(ValueError, match="duplicate"):
        Vocabulary(["a", "a"])
    with pytest.raises(ValueError, match="level"):
        Vocabulary(["a"], level="byte")
    with pytest.raises(ValueError, match="normalize"):
        Vocabulary(["a"], normalize="upper")
    with pytest.raises(ValueError):
        Vocabulary.from_json('{"level": "char"}')
    with pytest.raises(ValueError, match="outside"):
        Vocabulary(["a"]).decode([1])
