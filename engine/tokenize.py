"""Vocabulary: text <-> token ids, at the character or the word level.

Character level iterates the Python string, so any Unicode text works (one code point, one
token). Word level splits on whitespace and keeps each punctuation mark as its own token:
"Hello, world!" -> ["Hello", ",", "world", "!"].

Unknown tokens follow one of two policies, chosen when the vocabulary is built:
- with an unknown token (``unk="<unk>"``), any token outside the vocabulary maps to it;
- without one (``unk=None``), encoding raises ValueError naming the unknown tokens.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable, Sequence

import numpy as np

LEVELS = ("char", "word")
UNK = "<unk>"

# A word is a run of letters/digits/underscores; anything else that is not a space stands alone.
_WORD_RE = re.compile(r"\w+|[^\w\s]")


def split_words(text: str) -> list[str]:
    """Word-level tokens: whitespace separates, punctuation marks are tokens of their own."""
    return _WORD_RE.findall(text)


class Vocabulary:
    """An ordered list of distinct tokens; a token's id is its position."""

    def __init__(self, tokens: Sequence[str], level: str = "char", unk: str | None = None):
        if level not in LEVELS:
            raise ValueError(f"level must be one of {LEVELS}, got {level!r}")
        tokens = list(tokens)
        if unk is not None and unk not in tokens:
            tokens.append(unk)
        if len(set(tokens)) != len(tokens):
            dupes = sorted({t for t in tokens if tokens.count(t) > 1})
            raise ValueError(f"vocabulary has duplicate tokens: {dupes}")
        if not tokens:
            raise ValueError("vocabulary is empty")
        for t in tokens:
            if not isinstance(t, str) or t == "":
                raise ValueError(f"vocabulary tokens must be non-empty strings, got {t!r}")
        self.tokens: list[str] = tokens
        self.level = level
        self.unk = unk
        self.index: dict[str, int] = {t: i for i, t in enumerate(tokens)}

    # -- building -------------------------------------------------------------------------

    @classmethod
    def from_text(
        cls,
        text: str,
        level: str = "char",
        unk: str | None = None,
        min_count: int = 1,
    ) -> Vocabulary:
        """Vocabulary of the tokens of `text`, in order of first appearance.

        Tokens seen fewer than `min_count` times are left out (only sensible with `unk`).
        """
        pieces = cls._split(text, level)
        counts = Counter(pieces)
        seen: dict[str, None] = {}
        for p in pieces:
            if counts[p] >= min_count:
                seen.setdefault(p, None)
        return cls(list(seen), level=level, unk=unk)

    @staticmethod
    def _split(text: str, level: str) -> list[str]:
        if level == "char":
            return list(text)
        if level == "word":
            return split_words(text)
        raise ValueError(f"level must be one of {LEVELS}, got {level!r}")

    # -- encoding -------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self.tokens)

    def __contains__(self, token: object) -> bool:
        return token in self.index

    def tokenize(self, text: str) -> list[str]:
        """Split `text` into tokens at this vocabulary's level (no lookup)."""
        return self._split(text, self.level)

    def encode_tokens(self, tokens: Iterable[str]) -> np.ndarray:
        """Token strings -> ids (T,) int64, following the unknown-token policy."""
        tokens = list(tokens)
        if self.unk is None:
            unknown = [t for t in dict.fromkeys(tokens) if t not in self.index]
            if unknown:
                shown = ", ".join(repr(t) for t in unknown[:20])
                more = f" (and {len(unknown) - 20} more)" if len(unknown) > 20 else ""
                raise ValueError(f"tokens not in the vocabulary: {shown}{more}")
            return np.array([self.index[t] for t in tokens], dtype=np.int64)
        unk_id = self.index[self.unk]
        return np.array([self.index.get(t, unk_id) for t in tokens], dtype=np.int64)

    def encode(self, text: str) -> np.ndarray:
        """Text -> ids (T,) int64."""
        return self.encode_tokens(self.tokenize(text))

    def decode_tokens(self, ids: Iterable[int]) -> list[str]:
        """Ids -> token strings."""
        out = []
        for i in ids:
            i = int(i)
            if not 0 <= i < len(self.tokens):
                raise ValueError(f"token id {i} outside the vocabulary of size {len(self.tokens)}")
            out.append(self.tokens[i])
        return out

    def decode(self, ids: Iterable[int]) -> str:
        """Ids -> text. Word level joins with single spaces (the original spacing is lost)."""
        sep = "" if self.level == "char" else " "
        return sep.join(self.decode_tokens(ids))

    def one_hot(self, ids: Sequence[int] | np.ndarray) -> np.ndarray:
        """Ids (T,) -> one-hot rows (T, V) float64."""
        return one_hot(np.asarray(ids, dtype=np.int64), len(self.tokens))

    # -- serialisation --------------------------------------------------------------------

    def to_dict(self) -> dict:
        return {"level": self.level, "unk": self.unk, "tokens": list(self.tokens)}

    @classmethod
    def from_dict(cls, d: dict) -> Vocabulary:
        try:
            return cls(d["tokens"], level=d.get("level", "char"), unk=d.get("unk"))
        except (KeyError, TypeError) as e:
            raise ValueError(f"not a vocabulary: {e}") from e

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False)

    @classmethod
    def from_json(cls, s: str) -> Vocabulary:
        return cls.from_dict(json.loads(s))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Vocabulary) and self.to_dict() == other.to_dict()

    def __repr__(self) -> str:
        return f"Vocabulary({len(self.tokens)} {self.level} tokens, unk={self.unk!r})"


def one_hot(ids: np.ndarray, size: int) -> np.ndarray:
    """Ids (T,) -> (T, size) float64 with a single 1 per row."""
    ids = np.asarray(ids, dtype=np.int64)
    if ids.size and (ids.min() < 0 or ids.max() >= size):
        raise ValueError(f"token ids must lie in [0, {size}), got {ids.min()}..{ids.max()}")
    x = np.zeros((ids.shape[0], size))
    x[np.arange(ids.shape[0]), ids] = 1.0
    return x
