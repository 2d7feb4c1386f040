"""The everyday English word lists shipped in engine/data/english_words.txt, by group.

The file is a list of "[group]" headers, each followed by lower-case words separated by white
space ("#" starts a comment). A word belongs to one group only: the polarity groups
(positive_*, negative_*), then the negators and intensifiers, take it from every neutral group it
also appears in ("cold" is a negative adjective, not a neutral noun), so a word's sentiment is
never ambiguous in the generated data.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

WORDS_FILE = Path(__file__).resolve().parent / "data" / "english_words.txt"
POLAR = ("positive_adjectives", "negative_adjectives", "positive_verbs", "negative_verbs")
# Claimed first, in this order: a word listed in one of these is removed from later groups.
PRECEDENCE = (*POLAR, "negators", "intensifiers")
_HEADER = re.compile(r"\[(\w+)\]")


def parse(text: str) -> dict[str, list[str]]:
    """The groups of a word-list file, each word once, in file order; precedence applied."""
    groups: dict[str, list[str]] = {}
    current: list[str] | None = None
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if m := _HEADER.fullmatch(line):
            current = groups.setdefault(m[1], [])
            continue
        if current is None:
            raise ValueError(f"word list: words before the first [group]: {line[:40]!r}")
        current.extend(line.split())
    claimed: set[str] = set()
    order = [g for g in PRECEDENCE if g in groups] + [g for g in groups if g not in PRECEDENCE]
    out: dict[str, list[str]] = {}
    for name in order:
        words = [w for w in dict.fromkeys(groups[name]) if w not in claimed]
        claimed.update(words)
        out[name] = words
    return out


@lru_cache(maxsize=1)
def lexicon() -> dict[str, tuple[str, ...]]:
    """The shipped word lists, by group (cached: read once)."""
    return {k: tuple(v) for k, v in parse(WORDS_FILE.read_text(encoding="utf-8")).items()}


def all_words() -> list[str]:
    """Every word of the shipped lists, once, in file-group order."""
    return list(dict.fromkeys(w for words in lexicon().values() for w in words))
