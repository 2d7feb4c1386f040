"""The binary form of a batch of WebSocket frames (contracts.md section 5, "encoding").

JSON writes a float64 as ~19 characters of text; this form sends it as its 8 bytes, so the
numbers stay exactly the engine's while a trace is ~2.4x smaller and much cheaper to write and
read. One message is

    bytes 0..3       n, the length of the header (uint32, little-endian)
    bytes 4..4+n     the header: the frames as JSON (UTF-8), padded with spaces so that the
                     data starts at a multiple of 8 bytes
    bytes 4+n..      the data: float64, little-endian

and every array of numbers in the header is replaced by a reference to a run of the data,
``{"$f64": [offset, count]}`` (offset and count in numbers). Non-finite numbers (inf, NaN) are
sent as they are; a decoder turns them into null, as the JSON form has them.
"""

from __future__ import annotations

import struct
from typing import Any

import numpy as np
import orjson

from server.core.responses import escape_surrogates

REF = "$f64"
_LENGTH = struct.Struct("<I")
_F8 = np.dtype("<f8")


class Packer:
    """Builds one binary message. `rows` is given to the engine's trace builders (their `rows`
    argument): it keeps each (T, n) array whole for the data and hands back the T row
    references, plain dicts the JSON encoder writes without calling back into Python."""

    def __init__(self) -> None:
        self.chunks: list[np.ndarray] = []
        self.size = 0  # numbers so far

    def add(self, a: np.ndarray) -> int:
        """Append the numbers of `a` to the data; returns the offset of the first."""
        if a.dtype != _F8 or not a.flags.c_contiguous:
            a = np.ascontiguousarray(a, dtype=_F8)
        self.chunks.append(a)
        self.size += a.size
        return self.size - a.size

    def rows(self, a: np.ndarray) -> list[dict]:
        a = np.asarray(a)
        a2 = a.reshape(len(a), -1) if a.ndim != 2 else a
        start, n = self.add(a2), a2.shape[1]
        return [{REF: [start + t * n, n]} for t in range(len(a2))]

    def _ref(self, value: Any) -> Any:
        """For orjson: a NumPy array found anywhere else in the content becomes a reference."""
        if isinstance(value, np.ndarray):
            return {REF: [self.add(value.ravel()), value.size]}
        if isinstance(value, np.generic):
            return value.item()
        raise TypeError(f"cannot encode {type(value).__name__}")

    def pack(self, content: Any) -> bytes:
        """`content` (JSON-able, with references from `rows` or NumPy arrays among its values)
        with the data, as one message."""
        try:
            header = orjson.dumps(content, default=self._ref)
        except orjson.JSONEncodeError:
            # text that is not valid Unicode (a lone surrogate someone typed): escape it, as
            # server.responses.dumps does
            header = orjson.dumps(escape_surrogates(content), default=self._ref)
        n = len(header)
        n += -(4 + n) % 8  # data starts at a multiple of 8 (Float64Array needs it)
        return b"".join([_LENGTH.pack(n), header.ljust(n), *self.chunks])


def pack(content: Any) -> bytes:
    """`content` (JSON-able, with float64 NumPy arrays among its values) as one binary message."""
    return Packer().pack(content)


def unpack(message: bytes) -> Any:
    """The inverse of pack, with arrays as lists of floats (non-finite as None): what the
    JSON form of the same frames decodes to. For tests and Python clients."""
    (n,) = _LENGTH.unpack_from(message)
    data = np.frombuffer(message, dtype="<f8", offset=4 + n)

    def expand(value: Any) -> Any:
        if isinstance(value, dict):
            if REF in value and len(value) == 1:
                start, count = value[REF]
                a = data[start : start + count]
                return np.where(np.isfinite(a), a, None).tolist()
            return {k: expand(v) for k, v in value.items()}
        if isinstance(value, list):
            return [expand(v) for v in value]
        return value

    return expand(orjson.loads(message[4 : 4 + n]))
