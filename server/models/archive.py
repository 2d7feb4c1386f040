"""Reading an uploaded (or stored) .npz without trusting it: every member's `.npy` header is read
and checked before any array is allocated.

np.load allocates what a member's header claims before reading its data, so a 3 KB member
claiming shape (100000, 100000) would ask for 80 GB. Here a header must be a plain numeric or
string array whose claimed bytes fit in the member (a zip member never yields more than the size
its directory declares, and the declared sizes together are capped), and the numeric arrays
together hold at most `max_parameters` numbers. Pickled (object) arrays are refused, never run.
"""

from __future__ import annotations

import io
import math
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.lib import format as npy

from engine.storage import META_KEY
from server.core.errors import ApiError
from server.models.limits import ModelLimits

PICKLES = (
    "The file holds Python objects (pickles), which are never loaded; save plain arrays "
    "(numpy arrays, strings as a unicode array or JSON)."
)


@dataclass(frozen=True)
class Header:
    shape: tuple[int, ...]
    dtype: np.dtype

    @property
    def size(self) -> int:
        return math.prod(self.shape)


def _zip(source: bytes | Path) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(io.BytesIO(source) if isinstance(source, bytes) else source)
    except (zipfile.BadZipFile, OSError, EOFError) as e:
        raise ApiError("The file is not an .npz archive (np.savez writes one).") from e


def _read_header(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> Header:
    name = info.filename
    try:
        with zf.open(info) as f:
            version = npy.read_magic(f)
            if version == (1, 0):
                shape, fortran, dtype = npy.read_array_header_1_0(f)
            elif version == (2, 0):
                shape, fortran, dtype = npy.read_array_header_2_0(f)
            else:
                raise ValueError("unsupported .npy version")
            header_bytes = f.tell()
    except (ValueError, OSError, EOFError, zipfile.BadZipFile, RuntimeError) as e:
        raise ApiError(
            f"A member of the archive ({len(name)} characters long) is not a NumPy array "
            "(.npy); np.savez writes only arrays."
        ) from e
    if dtype.hasobject:
        raise ApiError(PICKLES)
    if dtype.kind not in "fiuUb" or dtype.fields is not None or dtype.subdtype is not None:
        raise ApiError("The archive holds an array of a kind other than numbers or text.")
    header = Header(tuple(int(n) for n in shape), dtype)
    if header.size * dtype.itemsize > info.file_size - header_bytes:
        raise ApiError(
            "An array in the archive claims more data than the file holds (the file is "
            "truncated or damaged)."
        )
    return header


def read_headers(source: bytes | Path, limits: ModelLimits) -> dict[str, Header]:
    """Each array's shape and dtype, by its np.load name, from the headers alone."""
    with _zip(source) as zf:
        infos = zf.infolist()
        unpacked = sum(i.file_size for i in infos)
        if unpacked > limits.max_unpacked_bytes:
            raise ApiError(
                f"The archive unpacks to {unpacked} bytes; at most {limits.max_unpacked_bytes}."
            )
        headers = {i.filename.removesuffix(".npy"): _read_header(zf, i) for i in infos}
    if len(headers) != len(infos):
        raise ApiError("The archive holds two arrays with the same name.")
    numbers = sum(h.size for k, h in headers.items() if k != META_KEY and h.dtype.kind in "fiub")
    if numbers > limits.max_parameters:
        raise ApiError(
            f"The file holds {numbers} numbers; this server takes at most "
            f"{limits.max_parameters} (setting import_max_parameters)."
        )
    return headers


def read_arrays(
    source: bytes | Path, limits: ModelLimits, names: set[str] | None = None
) -> dict[str, np.ndarray]:
    """The arrays (all, or only `names`), after their headers passed read_headers."""
    read_headers(source, limits)
    arrays = {}
    with _zip(source) as zf:
        for info in zf.infolist():
            name = info.filename.removesuffix(".npy")
            if names is not None and name not in names:
                continue
            try:
                with zf.open(info) as f:
                    arrays[name] = npy.read_array(f, allow_pickle=False)
            except (ValueError, OSError, EOFError, zipfile.BadZipFile) as e:
                raise ApiError("The .npz could not be read: it is truncated or damaged.") from e
    return arrays
