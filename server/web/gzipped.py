"""Static text files (the page's modules, CSS, plotly.js) sent gzip-compressed to browsers that
accept it: compressed once, kept in memory, and sent as is to every student after that.

A classroom's network is the bottleneck when 80 students open the heatmaps at once: plotly.js
is 4.8 MB as a file and 1.5 MB compressed. Compressing on every request (as a gzip middleware
would) would cost ~0.2 s of CPU per student; here it is paid once per file.
"""

from __future__ import annotations

import gzip
import threading
from functools import lru_cache
from pathlib import Path

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.responses import FileResponse, Response

COMPRESSIBLE = {".js", ".mjs", ".css", ".svg", ".html", ".json", ".txt", ".map"}
_lock = threading.Lock()  # one compression at a time: 80 first requests wait for one result


def accepts_gzip(headers: Headers) -> bool:
    """Whether Accept-Encoding allows gzip (and does not refuse it with q=0)."""
    for part in headers.get("accept-encoding", "").split(","):
        name, _, params = part.strip().partition(";")
        if name.strip().lower() in ("gzip", "*"):
            q = params.strip().removeprefix("q=").strip() if "q=" in params else "1"
            try:
                return float(q) > 0
            except ValueError:
                return False
    return False


@lru_cache(maxsize=256)
def _compressed(path: Path, mtime_ns: int, size: int) -> bytes:
    return gzip.compress(path.read_bytes(), compresslevel=6, mtime=0)


def compressed(path: Path) -> bytes | None:
    """The file gzipped (from memory after the first time), or None if it is not text."""
    if path.suffix.lower() not in COMPRESSIBLE:
        return None
    st = path.stat()
    with _lock:
        return _compressed(path, st.st_mtime_ns, st.st_size)


async def maybe_gzip(response: Response, request_headers: Headers) -> Response:
    """A 200 FileResponse of a text file, as gzip when the client accepts it. Every answer
    says it varies with Accept-Encoding; the ETag of the gzip form is the file's, weak."""
    if not isinstance(response, FileResponse) or response.status_code != 200:
        return response
    response.headers["vary"] = "accept-encoding"
    if not accepts_gzip(request_headers):
        return response
    body = await run_in_threadpool(compressed, Path(response.path))
    if body is None:
        return response
    headers = {
        k: v for k, v in response.headers.items() if k not in ("content-length", "etag", "vary")
    }
    headers.update({"content-encoding": "gzip", "vary": "accept-encoding"})
    if "etag" in response.headers:
        headers["etag"] = "W/" + response.headers["etag"].removeprefix("W/")
    return Response(body, status_code=200, headers=headers, media_type=response.media_type)
