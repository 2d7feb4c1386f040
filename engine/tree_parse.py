"""Reading a sentence as a binary tree, for the recursive network (engine/tree.py).

Bracketed input: "((the movie) (was (not good)))". A bracket holds two parts, each a word or a
bracket; a bracket around one part is that part ("(good)" is the leaf good); a bracket with more
than two parts is read right-branching, "(a b c)" = "(a (b c))". Words are split as the word-level
vocabulary splits them (engine.tokenize.split_words), so punctuation is a word of its own.

Unbracketed input (no "(" or ")" at all) is read as the **right-branching** tree: "the movie was
not good" = (the (movie (was (not good)))): each word combines with everything after it, so a
negation combines with the phrase it negates.

Bad brackets raise ValueError saying where: a ")" with no "(" open, a "(" never closed, an
empty "()", text outside the outermost bracket, no words at all.

The tree is a list of nodes in post-order (children before their parent, the root last):
Node(word, children, span). A leaf has a word and no children; an internal node has two
children (indices into the list) and no word; span is the (first, last + 1) word positions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from engine.tokenize import split_words

_PIECE = re.compile(r"\(|\)|[^\s()]+")


@dataclass(frozen=True)
class Node:
    word: str | None  # a leaf's word; None for an internal node
    children: tuple[int, ...]  # () for a leaf, (left, right) for an internal node
    span: tuple[int, int]  # the words it covers: [first, last + 1)


def parse(text: str) -> list[Node]:
    """Bracketed or plain text -> the tree's nodes in post-order (see the module docstring)."""
    if "(" not in text and ")" not in text:
        words = split_words(text)
        if not words:
            raise ValueError("the text has no words")
        return right_branching(words)
    nested = _nest(text)
    nodes: list[Node] = []
    _emit(nested, nodes, [0])
    return nodes


def right_branching(words: list[str]) -> list[Node]:
    """(w_0 (w_1 (... (w_{n-2} w_{n-1})))) in post-order."""
    nodes = [Node(w, (), (i, i + 1)) for i, w in enumerate(words)]
    right = len(words) - 1
    for i in range(len(words) - 2, -1, -1):
        nodes.append(Node(None, (i, right), (i, len(words))))
        right = len(nodes) - 1
    # post-order: leaves first is still children-before-parents; the root is last
    return nodes


def _nest(text: str):
    """Text -> nested lists of words; ValueError for bad brackets."""
    stack: list[list] = [[]]
    position = 0
    for m in _PIECE.finditer(text):
        piece, position = m.group(), m.start()
        if piece == "(":
            stack.append([])
        elif piece == ")":
            if len(stack) == 1:
                raise ValueError(f"a ')' at character {position} closes no '('")
            group = stack.pop()
            if not group:
                raise ValueError(f"an empty '()' ends at character {position}")
            stack[-1].append(group)
        else:
            stack[-1].extend(split_words(piece))
    if len(stack) > 1:
        raise ValueError(f"{len(stack) - 1} '(' never closed: add ')' at the end")
    top = stack[0]
    if not top:
        raise ValueError("the text has no words")
    if len(top) > 1:
        raise ValueError(
            "there are words outside the outermost brackets: put the whole sentence in one "
            "pair of brackets, e.g. ((the movie) (was good))"
        )
    return top[0]


def _emit(item, nodes: list[Node], counter: list[int]) -> int:
    """Append item's nodes in post-order; return its index. counter[0]: the next word position."""
    if isinstance(item, str):
        i = counter[0]
        counter[0] += 1
        nodes.append(Node(item, (), (i, i + 1)))
        return len(nodes) - 1
    if len(item) == 1:
        return _emit(item[0], nodes, counter)  # "(x)" is x
    first = counter[0]
    left = _emit(item[0], nodes, counter)
    right = _emit(item[1:] if len(item) > 2 else item[1], nodes, counter)  # right-branching
    nodes.append(Node(None, (left, right), (first, counter[0])))
    return len(nodes) - 1


def bracketed(nodes: list[Node]) -> str:
    """The tree written back with brackets: the inverse of parse (for bracketed trees)."""

    def write(i: int) -> str:
        n = nodes[i]
        if n.word is not None:
            return n.word
        return f"({write(n.children[0])} {write(n.children[1])})"

    return write(len(nodes) - 1)
