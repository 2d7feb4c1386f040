"""Reading sentences as trees (engine/tree_parse.py)."""

import pytest

from engine.tree_parse import bracketed, parse


def test_bracketed_sentence():
    nodes = parse("((the movie) (was (not good)))")
    assert [n.word for n in nodes if n.word] == ["the", "movie", "was", "not", "good"]
    assert bracketed(nodes) == "((the movie) (was (not good)))"
    assert nodes[-1].span == (0, 5)
    for i, n in enumerate(nodes):
        assert all(c < i for c in n.children)  # post-order
        assert len(n.children) in (0, 2)


def test_plain_text_is_right_branching():
    assert bracketed(parse("the movie was not good")) == "(the (movie (was (not good))))"
    assert bracketed(parse("good")) == "good"


def test_single_parts_and_long_brackets():
    assert bracketed(parse("((good))")) == "good"
    assert bracketed(parse("(a b c)")) == "(a (b c))"
    assert bracketed(parse("(very good!)")) == "(very (good !))"


@pytest.mark.parametrize(
    "text,message",
    [
        ("(a b))", "closes no"),
        ("((a b)", "never closed"),
        ("(a ())", "empty"),
        ("(a b) c", "outside the outermost"),
        ("   ", "no words"),
        ("()", "empty"),
    ],
)
def test_bad_brackets_say_what_is_wrong(text, message):
    with pytest.raises(ValueError, match=message):
        parse(text)
