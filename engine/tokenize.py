"""Vocabulary: text <-> token ids, at the character or the word level.

Character level iterates the Python string, so any Unicode text works (one code point, one
token). Word level splits on whitespace and keeps each punctuation mark as its own token:
"Hello, world!" -> ["Hello", ",", "world", "!"].

Normalisation (``normalize``), chosen when the vocabulary is built and saved with it: a model
trained on lower-case text is given lower-case tokens. With ``normalize="lower"`` each token is
lower-cased after the text is split (so one typed token stays one token: "Are" -> "are", at the
character level "A" -> "a"); with ``None`` tokens are looked up as typed. Every shipped demo model
was trained lower-case.

Unknown tokens (not in the vocabulary after normalisation) follow the vocabulary's policy:
- with an unknown token (``unk="<unk>"``), they map to its id: the model reads ``<unk>``;
- without one (``unk=None``), they map to NO_TOKEN (-1): the model reads the zero vector (a
  one-hot row of zeros, or a zero embedding row), i.e. nothing.
``read``/``lookup`` return the ids together with which positions were unknown (``Encoded``);
nothing is dropped, every typed token keeps its step. ``encode``/``encode_tokens`` are the
strict form, for text that must be fully known (training data): they raise ValueError naming
the unknown tokens when the vocabulary has no ``<unk>``.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

LEVELS = ("char", "word")
NORMALIZATIONS = (None, "lower")
UNK = "<unk>"
NO_TOKEN = -1  # the id of "no token": the model reads the zero vector at that step

# A word is a run of letters/digits/underscores; anything else that is not a space stands alone.
_WORD_RE = re.compile(r"\w+|[^\w\s]")


def split_words(text: str) -> list[str]:
    """Word-level tokens: whitespace separates, punctuation marks are tokens of their own."""
    return _WORD_RE.findall(text)


@dataclass(frozen=True)
class Encoded:
    """A text as a model reads it: one entry per typed token, none dropped."""

    tokens: list[str]  # as typed
    normalized: list[str]  # after the vocabulary's normalisation: what was looked up
    ids: np.ndarray  # (T,) int64: the token's id, the <unk> id, or NO_TOKEN
    unknown: np.ndarray  # (T,) bool: not in the vocabulary (after normalisation)
    seen: list[str | None]  # what the model read: a vocabulary token, "<unk>", None = zero vector

    def __len__(self) -> int:
        return len(self.tokens)

    @property
    def unknown_steps(self) -> list[int]:
        """The positions t whose token the vocabulary does not know."""
        return [int(t) for t in np.flatnonzero(self.unknown)]


class Vocabulary:
    """An ordered list of distinct tokens; a token's id is its position."""

    def __init__(
        self,
        tokens: Sequence[str],
        level: str = "char",
        unk: str | None = None,
        normalize: str | None = None,
    ):
        if level not in LEVELS:
            raise ValueError(f"level must be one of {LEVELS}, got {level!r}")
        if normalize not in NORMALIZATIONS:
            raise ValueError(f"normalize must be one of {NORMALIZATIONS}, got {normalize!r}")
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
        self.normalize = normalize
        self.index: dict[str, int] = {t: i for i, t in enumerate(tokens)}

    # -- building -------------------------------------------------------------------------

    @classmethod
    def from_text(
        cls,
        text: str,
        level: str = "char",
        unk: str | None = None,
        min_count: int = 1,
        normalize: str | None = None,
    ) -> Vocabulary:
        """Vocabulary of the (normalised) tokens of `text`, in order of first appearance.

        Tokens seen fewer than `min_count` times are left out (only sensible with `unk`).
        """
        pieces = [_normalized(p, normalize) for p in cls._split(text, level)]
        counts = Counter(pieces)
        seen: dict[str, None] = {}
        for p in pieces:
            if counts[p] >= min_count:
                seen.setdefault(p, None)
        return cls(list(seen), level=level, unk=unk, normalize=normalize)

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
        """Split `text` into tokens at this vocabulary's level, as typed (no normalisation, no
        lookup)."""
        return self._split(text, self.level)

    def normalized(self, token: str) -> str:
        """The form of a typed token that is looked up (lower-cased for normalize="lower")."""
        return _normalized(token, self.normalize)

    def lookup(self, tokens: Iterable[str]) -> Encoded:
        """Typed tokens -> what the model reads, following the unknown-token policy."""
        tokens = list(tokens)
        normalized = [self.normalized(t) for t in tokens]
        unknown = np.array([t not in self.index for t in normalized], dtype=bool)
        fallback = NO_TOKEN if self.unk is None else self.index[self.unk]
        ids = np.array([self.index.get(t, fallback) for t in normalized], dtype=np.int64)
        seen = [None if i == NO_TOKEN else self.tokens[i] for i in ids.tolist()]
        return Encoded(tokens, normalized, ids, unknown, seen)

    def read(self, text: str) -> Encoded:
        """Text -> what the model reads (``lookup`` of ``tokenize``)."""
        return self.lookup(self.tokenize(text))

    def encode_tokens(self, tokens: Iterable[str]) -> np.ndarray:
        """Token strings -> ids (T,) int64, strictly: without <unk>, an unknown token raises
        ValueError naming it (``lookup`` gives it the zero vector instead)."""
        enc = self.lookup(tokens)
        if self.unk is None and enc.unknown.any():
            unknown = list(dict.fromkeys(enc.normalized[t] for t in enc.unknown_steps))
            shown = ", ".join(repr(t) for t in unknown[:20])
            more = f" (and {len(unknown) - 20} more)" if len(unknown) > 20 else ""
            raise ValueError(f"tokens not in the vocabulary: {shown}{more}")
        return enc.ids

    def encode(self, text: str) -> np.ndarray:
        """Text -> ids (T,) int64, strictly (see ``encode_tokens``)."""
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
        """Ids (T,) -> one-hot rows (T, V) float64 (a row of zeros for NO_TOKEN)."""
        return one_hot(np.asarray(ids, dtype=np.int64), len(self.tokens))

    # -- serialisation --------------------------------------------------------------------

    def to_dict(self) -> dict:
        return {
            "level": self.level,
            "unk": self.unk,
            "normalize": self.normalize,
            "tokens": list(self.tokens),
        }

    @classmethod
    def from_dict(cls, d: dict) -> Vocabulary:
        """The inverse of to_dict; a dict without "normalize" (older files) looks tokens up as
        typed."""
        try:
            return cls(
                d["tokens"],
                level=d.get("level", "char"),
                unk=d.get("unk"),
                normalize=d.get("normalize"),
            )
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
        return (
            f"Vocabulary({len(self.tokens)} {self.level} tokens, unk={self.unk!r}, "
            f"normalize={self.normalize!r})"
        )


def _normalized(token: str, normalize: str | None) -> str:
    return token.lower() if normalize == "lower" else token


def one_hot(ids: np.ndarray, size: int) -> np.ndarray:
    """Ids (T,) -> (T, size) float64 with a single 1 per row; NO_TOKEN (-1) is a row of zeros
    (the one-hot vector of no token)."""
    ids = np.asarray(ids, dtype=np.int64)
    if ids.size and (ids.min() < NO_TOKEN or ids.max() >= size):
        raise ValueError(
            f"token ids must lie in [0, {size}) (or be {NO_TOKEN}, no token), "
            f"got {ids.min()}..{ids.max()}"
        )
    x = np.zeros((ids.shape[0], size))
    known = ids != NO_TOKEN
    x[np.flatnonzero(known), ids[known]] = 1.0
    return x
