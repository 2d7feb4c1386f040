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

from server.responses import escape_surrogates

REF = "$f64"
_LENGTH = struct.Struct("<I")
_F8 = np.dtype("<f8")


def pack(content: Any) -> bytes:
    """`content` (JSON-able, with float64 NumPy arrays among its values) as one binary message."""
    chunks: list[np.ndarray] = []
    offset = 0

    def ref(value: Any) -> Any:
        nonlocal offset
        if isinstance(value, np.ndarray):
            if value.dtype != _F8 or not value.flags.c_contiguous:
                value = np.ascontiguousarray(value, dtype=_F8)  # (the engine's rows already are)
            chunks.append(value)
            offset += value.size
            return {REF: [offset - value.size, value.size]}
        if isinstance(value, np.generic):
            return value.item()
        raise TypeError(f"cannot encode {type(value).__name__}")

    try:
        header = orjson.dumps(content, default=ref)
    except orjson.JSONEncodeError:
        # text that is not valid Unicode (a lone surrogate someone typed): escape it, as
        # server.responses.dumps does
        chunks.clear()
        offset = 0
        header = orjson.dumps(escape_surrogates(content), default=ref)
    n = len(header)
    n += -(4 + n) % 8  # data starts at a multiple of 8 (Float64Array needs it)
    return b"".join([_LENGTH.pack(n), header.ljust(n), *chunks])


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
