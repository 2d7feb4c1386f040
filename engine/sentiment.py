"""Sentiment with negation: sentences generated from a template grammar over the shipped word
lists (engine/lexicon.py), each labelled negative (0) or positive (1) by how it was built.

What decides the label (s = the polarity of the sentiment word, +1 or -1):
- plain:      "the pizza was really good"                       -> s
- negated:    "the pizza was not good", "wasn't good", "was never good",
              "was not bad at all"                              -> -s
- short:      "good", "not good", "not bad at all", "very bad"   -> s or -s
- verbs:      "i loved the film", "we did not enjoy the stay"   -> s or -s
- contrast:   "the stay was good , not bad", "the stay was not good but bad",
              "i expected it to be bad , but it was good"       -> the LAST judgement's s
  The contrast sentences come in pairs with the same words in another order and the opposite
  label: a bag of words cannot tell them apart, a recurrent model can.
Neutral clauses (who, where, when, with what: every neutral word of the lists) are added before
or after, and about one sentence in twenty carries a made-up word the vocabulary does not have
(the model learns to read ``<unk>``). Sentences are lower-case and not always grammatical.

``split()`` gives a seeded training set and a held-out test set with no sentence in common.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.lexicon import all_words, lexicon

LABELS = ["negative", "positive"]
PUNCTUATION = [".", ",", "!", "?", "'", ":", ";", "-", '"', "(", ")"]
# Negated auxiliaries before a verb's base form: "didn't" is read as "didn ' t".
AUXILIARIES = [
    "did not", "didn't", "do not", "don't", "never", "doesn't", "won't", "wouldn't",
    "couldn't", "can't", "cannot", "shouldn't", "haven't", "hasn't", "hadn't", "can not",
]  # fmt: skip
# Made-up words: not in the vocabulary, read as <unk> (they never carry the sentiment).
NONCE = [
    "blicket", "wug", "dax", "fep", "toma", "zorp", "glim", "plonk", "snerg", "quib", "vorn",
    "trell", "mipsy", "fradle", "gombu", "yarrow", "pilkins", "draxo", "kelvo", "sprock",
]  # fmt: skip


def vocabulary_tokens() -> list[str]:
    """Every token the sentiment vocabulary has: the shipped words, then the punctuation."""
    return [*all_words(), *PUNCTUATION]


class _Deck:
    """Draw words so that every word of a group comes up before any comes up again."""

    def __init__(self, words, rng: np.random.Generator):
        self.words, self.rng, self.left = list(words), rng, []

    def draw(self) -> str:
        if not self.left:
            self.left = list(self.rng.permutation(self.words))
        return str(self.left.pop())


@dataclass
class _Grammar:
    rng: np.random.Generator

    def __post_init__(self) -> None:
        lx, rng = lexicon(), self.rng
        deck = lambda *groups: _Deck([w for g in groups for w in lx[g]], rng)  # noqa: E731
        self.adjs = {1: deck("positive_adjectives"), -1: deck("negative_adjectives")}
        self.verbs = {1: deck("positive_verbs"), -1: deck("negative_verbs")}
        base = lambda g: _Deck([w for w in lx[g] if not w.endswith("ed")], rng)  # noqa: E731
        self.base_verbs = {1: base("positive_verbs"), -1: base("negative_verbs")}
        self.review = deck("review_nouns")
        self.noun = deck("nouns", "more_nouns")
        self.neutral_adj = deck("neutral_adjectives")
        self.action = deck("verbs", "more_verbs")
        self.name, self.place = deck("names"), deck("places")
        self.time, self.number = deck("times"), deck("numbers")
        self.adverb, self.function = deck("adverbs"), deck("function")
        self.intensifier = deck("intensifiers")
        self.nonce = _Deck(NONCE, rng)

    def p(self, prob: float) -> bool:
        return bool(self.rng.random() < prob)

    def pick(self, *options: str) -> str:
        return str(options[int(self.rng.integers(len(options)))])

    # -- pieces --------------------------------------------------------------------------

    def judged(self) -> str:
        """What is judged: "the pizza", "this old film", "my film", "it"."""
        if self.p(0.15):
            return self.pick("it", "this", "that", "everything", "they", "these", "those")
        det = self.pick("the", "the", "this", "that", "my", "our", "their")
        mid = f"{self.neutral_adj.draw()} " if self.p(0.3) else ""
        return f"{det} {mid}{self.review.draw()}"

    def be(self, what: str = "") -> str:
        if what in ("they", "these", "those"):
            return self.pick("were", "are")
        return self.pick("was", "was", "is", "seemed", "looked", "felt", "tasted", "sounded")

    def adj(self, s: int) -> str:
        """A sentiment adjective of polarity s, sometimes intensified."""
        word = self.adjs[s].draw()
        return f"{self.intensifier.draw()} {word}" if self.p(0.3) else word

    def negation(self, be: str) -> str:
        """be + a negation: "was not", "wasn't", "was never", "was hardly"."""
        contracted = {"was": "wasn't", "is": "isn't", "were": "weren't", "are": "aren't"}
        adverb = self.pick("not", "not", "never", "hardly", "barely", "scarcely")
        forms = [f"{be} not", f"{be} {adverb}"]
        if be in contracted:
            forms.append(contracted[be])
        return self.pick(*forms)

    def aside(self) -> str:
        """A neutral clause: who, where, when, what (any neutral word, no sentiment)."""
        who = self.name.draw() if self.p(0.5) else self.pick("we", "i", "they", "my friend")
        forms = [
            f"on {self.time.draw()} {who} {self.action.draw()} the {self.noun.draw()}",
            f"{who} {self.action.draw()} {self.number.draw()} {self.noun.draw()} in "
            f"{self.place.draw()}",
            f"{self.adverb.draw()} {who} {self.action.draw()} a {self.neutral_adj.draw()} "
            f"{self.noun.draw()}",
            f"{who} {self.action.draw()} {self.function.draw()} the {self.noun.draw()} "
            f"{self.function.draw()} {self.time.draw()}",
        ]
        text = self.pick(*forms)
        if self.p(0.3):  # the rest of the punctuation, around the clause
            text = self.pick(
                f"( {text} )", f'" {text} "', f"- {text} -", f"{text} ;", f"{text} :", f"{text} ?"
            )
        if self.p(0.1):  # a word the vocabulary does not have
            words = text.split()
            words[int(self.rng.integers(len(words)))] = self.nonce.draw()
            text = " ".join(words)
        return text

    # -- sentences -----------------------------------------------------------------------

    def judgement(self, s: int) -> tuple[str, int]:
        """One judgement of polarity s, plain or negated: (text, its sentiment)."""
        form = int(self.rng.integers(8))
        what = self.judged()
        be = self.be(what)
        if form == 0:
            return f"{what} {be} {self.adj(s)}", s
        if form == 1:
            return f"{what} {self.negation(be)} {self.adj(s)}", -s
        if form == 2:
            return f"{what} {be} not {self.adjs[s].draw()} at all", -s
        if form == 6:
            nothing = [
                f"there was nothing {self.adjs[s].draw()} about {what}",
                f"there was no {self.adjs[s].draw()} {self.review.draw()}",
                f"{what} {be} neither {self.adjs[s].draw()} nor {self.adjs[s].draw()}",
                f"nobody {self.verbs[s].draw()} {what}",
            ]
            return self.pick(*nothing), -s
        if form == 3:
            short = [
                (self.adj(s), s),
                (f"not {self.adj(s)}", -s),
                (f"not {self.adjs[s].draw()} at all", -s),
                (f"never {self.adjs[s].draw()}", -s),
            ]
            return short[int(self.rng.integers(len(short)))]
        who = self.pick("i", "we", "they", "my friend", self.name.draw())
        if form in (4, 7):
            return f"{who} {self.verbs[s].draw()} {what}", s
        aux = self.pick(*AUXILIARIES)
        return f"{who} {aux} {self.base_verbs[s].draw()} {what}", -s

    def contrast(self, s: int) -> tuple[str, int]:
        """Two opposite judgements; the last one decides (its polarity s)."""
        first, last = self.adjs[-s].draw(), self.adjs[s].draw()
        what, be = self.judged(), self.be()
        forms = [
            f"{what} {be} {last} , not {first}",
            f"{what} {be} not {first} but {last}",
            f"i expected {what} to be {first} , but it was {last}",
            f"{what} {be} {first} at first but {last} in the end",
            f"{what} {be} {last} rather than {first}",
        ]
        return self.pick(*forms), s

    def sentence(self) -> tuple[str, int]:
        """One labelled sentence: (text, 0 negative | 1 positive)."""
        s = 1 if self.p(0.5) else -1
        text, sign = self.contrast(s) if self.p(0.25) else self.judgement(s)
        if self.p(0.5):
            text = f"{self.aside()} , and {text}" if self.p(0.5) else f"{text} , {self.aside()}"
        if self.p(0.4):
            text += self.pick(" .", " !", " .", " !", " ...")
        return text.replace(" ...", " ."), int(sign > 0)


def generate(n: int, seed: int) -> list[tuple[str, int]]:
    """n labelled sentences (duplicates possible), from a seeded grammar."""
    grammar = _Grammar(np.random.default_rng(seed))
    return [grammar.sentence() for _ in range(n)]


def split(
    n_train: int = 12000, n_test: int = 2000, seed: int = 0
) -> tuple[list[tuple[str, int]], list[tuple[str, int]]]:
    """A training set and a held-out test set (no test sentence is a training sentence)."""
    train = list(dict.fromkeys(generate(n_train, seed)))
    seen = {text for text, _ in train}
    test = [ex for ex in dict.fromkeys(generate(n_test * 2, seed + 1)) if ex[0] not in seen]
    return train, test[:n_test]
