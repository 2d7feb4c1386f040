"""The data the encoder–decoder and tree demos learn from, generated here (seeded), and how they
are measured.

reverse: a string of letters -> the same letters backwards, "abcd" -> "dcba". Without attention
the whole string must pass through the context vector, so accuracy falls as strings get longer;
with attention each output letter can look at its source letter.

sentiment: short phrases with negation, as bracketed trees, "((the movie) (was (not good)))",
labelled negative / positive. Every node whose words include the adjective carries the label of
its own words (Socher-style phrase labels): "good" positive, "(not good)" negative,
"(was (not good))" negative, ...; nodes without the adjective carry none.
"""

from __future__ import annotations

import numpy as np

from engine.seq2seq_config import BOS, EOS
from engine.tokenize import Vocabulary
from engine.tree_parse import Node, parse

REVERSE_ALPHABET = "abcdefgh"


def reverse_vocabularies(alphabet: str = REVERSE_ALPHABET) -> tuple[Vocabulary, Vocabulary]:
    """(source, target) character vocabularies, lower-casing what they read; the target's has
    <bos> and <eos> first."""
    return (
        Vocabulary(list(alphabet), level="char", normalize="lower"),
        Vocabulary([BOS, EOS, *alphabet], level="char", normalize="lower"),
    )


def reverse_pairs(
    n: int, min_len: int, max_len: int, seed: int, alphabet: str = REVERSE_ALPHABET
) -> list[tuple[str, str]]:
    """n (source, target) pairs, lengths uniform in [min_len, max_len]."""
    rng = np.random.default_rng(seed)
    pairs = []
    for _ in range(n):
        k = int(rng.integers(min_len, max_len + 1))
        s = "".join(rng.choice(list(alphabet), k))
        pairs.append((s, s[::-1]))
    return pairs


def accuracy_by_length(model, src_vocab, tgt_vocab, pairs, max_extra: int = 2) -> dict:
    """Exact-match accuracy of greedy decoding, per source length: {length: (right, total)}."""
    from engine.seq2seq_decode import decode

    out: dict[int, list[int]] = {}
    eos = model.config.eos_id
    for src, tgt in pairs:
        dec = decode(model, src_vocab.encode(src), max_len=len(tgt) + max_extra)
        ids = dec.ids[:-1] if dec.ended else dec.ids
        right = dec.ended and ids == list(tgt_vocab.encode(tgt)) and eos not in ids
        cell = out.setdefault(len(src), [0, 0])
        cell[0] += int(right)
        cell[1] += 1
    return {k: tuple(v) for k, v in sorted(out.items())}


# -- sentiment phrases --------------------------------------------------------------------

POSITIVE = ("good", "great", "fun", "nice", "funny")
NEGATIVE = ("bad", "boring", "awful", "dull", "poor")
SUBJECTS = ("the movie", "the film", "the food", "the plot", "it")
VERBS = ("was", "is")
ADVERBS = ("very", "really")
SENTIMENT_LABELS = ("negative", "positive")


def sentiment_words() -> list[str]:
    words: list[str] = []
    for group in (SUBJECTS, VERBS, ADVERBS, POSITIVE, NEGATIVE, ("not",)):
        for phrase in group:
            for w in phrase.split():
                if w not in words:
                    words.append(w)
    return words


def sentiment_phrase(rng: np.random.Generator) -> tuple[str, int]:
    """A bracketed phrase and its label (0 negative, 1 positive)."""
    positive = bool(rng.integers(2))
    adj = str(rng.choice(POSITIVE if positive else NEGATIVE))
    core = adj
    if rng.random() < 0.35:
        core = f"({rng.choice(ADVERBS)} {core})"
    negated = rng.random() < 0.5
    if negated:
        core = f"(not {core})"
    shape = rng.random()
    if shape < 0.3:
        text = core
    elif shape < 0.5:
        text = f"({rng.choice(VERBS)} {core})"
    else:
        subj = str(rng.choice(SUBJECTS))
        subj = f"({subj})" if " " in subj else subj
        text = f"({subj} ({rng.choice(VERBS)} {core}))"
    return text, int(positive != negated)


def phrase_labels(nodes: list[Node]) -> np.ndarray:
    """(N,) each node's label from its own words: the adjective's side, flipped by a "not"
    among them; -1 for a node without the adjective."""
    words = [n.word for n in nodes if n.word is not None]
    y = np.full(len(nodes), -1, dtype=np.int64)
    for i, n in enumerate(nodes):
        span = words[n.span[0] : n.span[1]]
        adj = [w for w in span if w in POSITIVE or w in NEGATIVE]
        if not adj:
            continue
        positive = adj[0] in POSITIVE
        y[i] = int(positive != ("not" in span))
    return y


def sentiment_data(n: int, seed: int) -> list[tuple[str, int]]:
    rng = np.random.default_rng(seed)
    return [sentiment_phrase(rng) for _ in range(n)]


def tree_of(text: str, vocab: Vocabulary) -> tuple[list[Node], np.ndarray]:
    """A phrase's tree and its leaves' ids (NO_TOKEN for unknown words)."""
    nodes = parse(text)
    words = [n.word for n in nodes if n.word is not None]
    return nodes, vocab.lookup(words).ids
