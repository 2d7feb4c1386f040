"""Everyday English text over printable ASCII, generated (seeded) for a character model.

Sentences with capitals, digits and punctuation, built from templates and the shipped word
lists (engine/lexicon.py): "On Monday, Anna bought 3 apples for $2.50.", "Is it 7:30 already?",
notes with e-mail addresses, percentages, sums, paths and code, so that every printable ASCII
character occurs. A few words carry a letter outside ASCII ("café", "naïve"): a model over
printable ASCII reads that letter as ``<unk>``.

``PRINTABLE`` is the character vocabulary: string.printable without the tab, carriage return,
vertical tab and form feed (95 visible characters and the space, then the newline).
"""

from __future__ import annotations

import string

import numpy as np

from engine.lexicon import lexicon

PRINTABLE = [c for c in string.printable if c not in "\t\r\x0b\x0c"]
PANGRAM = "The quick brown fox jumps over the lazy dog."
NON_ASCII_WORDS = ["café", "naïve", "jalapeño", "résumé", "crème", "über", "piñata", "façade"]


class _Writer:
    def __init__(self, rng: np.random.Generator):
        self.rng, lx = rng, lexicon()
        self.groups = {
            "name": [w.capitalize() for w in lx["names"]],
            "place": [w.capitalize() for w in lx["places"]],
            "day": [w.capitalize() for w in lx["times"][:7]],
            "month": [w.capitalize() for w in lx["times"][7:19]],
            "noun": list(lx["nouns"]) + list(lx["review_nouns"]),
            "good": list(lx["positive_adjectives"]),
            "bad": list(lx["negative_adjectives"]),
            "adj": list(lx["neutral_adjectives"]),
        }

    def __getattr__(self, group: str) -> str:
        words = self.groups[group]
        return words[int(self.rng.integers(len(words)))]

    def n(self, low: int, high: int) -> int:
        return int(self.rng.integers(low, high + 1))

    def pick(self, *options: str) -> str:
        return options[int(self.rng.integers(len(options)))]

    def sentence(self) -> str:
        r = self
        forms = [
            lambda: (
                f"On {r.day}, {r.name} bought {r.n(2, 12)} {r.noun}s for "
                f"${r.n(1, 40)}.{r.n(10, 99)}."
            ),
            lambda: f"Is it {r.n(1, 12)}:{r.n(10, 59)} already? {r.name} is late again!",
            lambda: (
                f"{r.name} and {r.name} met in {r.place} on {r.month} {r.n(1, 28)}, "
                f"{r.n(1990, 2024)}."
            ),
            lambda: f"The {r.noun} was {r.good}, but the {r.noun} was {r.bad}.",
            lambda: (
                f'"Where is my {r.noun}?" asked {r.name}. "It\'s in the {r.adj} '
                f'{r.noun}," said {r.name}.'
            ),
            lambda: (
                f"We waited {r.n(5, 90)} minutes (not {r.n(2, 4)} hours) for the {r.adj} {r.noun}."
            ),
            lambda: f"Send it to {r.name.lower()}@example.com before {r.n(1, 11)} p.m.; thanks!",
            lambda: f"Sale: {r.n(10, 70)}% off every {r.noun} at {r.name} & Sons - today only.",
            lambda: (
                f"Note #{r.n(1, 99)}: {r.n(2, 9)} + {r.n(2, 9)} = ? and "
                f"{r.n(2, 9)} * {r.n(2, 9)} > {r.n(10, 20)}."
            ),
            lambda: (
                f"Use [brackets], {{braces}} and <tags>; a|b, x^2, ~/notes and C:\\Users\\{r.name}."
            ),
            lambda: f"Call `make_{r.noun}()` or type @{r.name.lower()}_{r.n(1, 99)} in the chat.",
            lambda: f"{r.name} thinks the {r.noun} in {r.place} is {r.pick(r.good, r.bad)}.",
            lambda: f"Why did {r.name} sell the {r.adj} {r.noun}? Nobody knows...",
            lambda: (
                f"It costs {r.n(3, 9)},{r.n(100, 999)} dollars, or about "
                f"{r.n(1, 9)}.{r.n(1, 9)} million yen!"
            ),
            lambda: (
                f"{r.name} ordered a {self.pick(*NON_ASCII_WORDS)} and a {r.noun} at "
                f"the {r.adj} cafe."
            ),
            lambda: PANGRAM,
            lambda: f"The quick {r.adj} {r.noun} jumps over the lazy {r.noun} {r.n(2, 99)} times.",
        ]
        return forms[int(self.rng.integers(len(forms)))]()


def corpus(chars: int = 30_000, seed: int = 0) -> str:
    """At least `chars` characters of generated everyday text, a few sentences per line."""
    writer = _Writer(np.random.default_rng(seed))
    lines: list[str] = []
    size = 0
    while size < chars:
        line = " ".join(writer.sentence() for _ in range(writer.n(1, 3)))
        lines.append(line)
        size += len(line) + 1
    return "\n".join(lines) + "\n"
