"""What text may hold (check_text) and the small shared types."""

from __future__ import annotations

import unicodedata
from typing import Literal

CellKind = Literal["rnn", "lstm", "gru"]


# "snapshot": a training job's weights at one step (server.models.snapshots)
Source = Literal["demo", "trained", "imported", "snapshot"]


# Text may hold tab and newline (and carriage return); every other control character is
# rejected, as is anything that is not a Unicode scalar value (a lone surrogate).
_ALLOWED_CONTROLS = {"\t", "\n", "\r"}


def check_text(value: str, what: str = "text") -> str:
    """Reject NUL, control characters and lone surrogates with a message naming the spot."""
    for i, ch in enumerate(value):
        code = ord(ch)
        if 0xD800 <= code <= 0xDFFF:
            raise ValueError(
                f"{what} contains an invalid character (a lone surrogate U+{code:04X}) at "
                f"position {i}; send text as valid UTF-8"
            )
        if ch in _ALLOWED_CONTROLS:
            continue
        if unicodedata.category(ch) == "Cc":
            label = "NUL" if code == 0 else "a control character"
            raise ValueError(
                f"{what} contains {label} (U+{code:04X}) at position {i}; only tab and newline "
                "are allowed"
            )
    return value
