"""Static files with content-hashed URLs, plotly.js from the installed plotly package, favicon.

`static("js/app.js")` -> "/static/js/app.js?v=<first 12 hex of sha256>": a browser may cache
such a URL for a year, because a change to the file changes the URL (as datasette does).
"""

from __future__ import annotations

import hashlib
import importlib.util
import mimetypes
import os
import posixpath
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from starlette.datastructures import Headers
from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from server.core.paths import STATIC_DIR
from server.web.gzipped import accepts_gzip, compressed, maybe_gzip

LONG_CACHE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"

# Drawn here so the server has an icon even before the page ships its own static/favicon.svg.
BUILTIN_FAVICON = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32">'
    '<rect width="32" height="32" rx="6" fill="#1f3b57"/>'
    '<circle cx="8" cy="16" r="4" fill="#f4b942"/><circle cx="16" cy="16" r="4" fill="#f4b942"/>'
    '<circle cx="24" cy="16" r="4" fill="#f4b942"/>'
    '<path d="M12 16h0M20 16h0" stroke="#fff" stroke-width="2"/></svg>'
)


@lru_cache(maxsize=512)
def _digest(path: Path, mtime_ns: int, size: int) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]


def file_hash(relative: str, root: Path = STATIC_DIR) -> str | None:
    """Content hash of a file under static/, or None when it does not exist."""
    path = (root / relative).resolve()
    if root.resolve() not in path.parents or not path.is_file():
        return None
    st = path.stat()
    return _digest(path, st.st_mtime_ns, st.st_size)


def static(relative: str) -> str:
    """URL of a static file with its content hash, for templates."""
    relative = relative.lstrip("/")
    digest = file_hash(relative)
    return f"/static/{relative}?v={digest}" if digest else f"/static/{relative}"


# `import x from "./a.js"`, `import "./a.js"`, `export { x } from "./a.js"`; not `import("./a.js")`
_STATIC_IMPORT = re.compile(
    r"""\b(?:import|export)\b(?:[^;()"'`]*?\bfrom)?\s*["'](\.\.?/[^"']+)["']"""
)


def static_imports(source: str) -> list[str]:
    """The relative specifiers a module imports statically (a dynamic import() is left out)."""
    return _STATIC_IMPORT.findall(source)


def js_modules(root: Path = STATIC_DIR, entry: str = "js/main.js") -> list[str]:
    """URLs of the ES modules `entry` imports statically, directly or not, as their imports name
    them (no ?v=): the page preloads them all at once instead of finding them one import level
    at a time. A module only imported dynamically (import()) is not preloaded: main.js loads
    those beside the first trace, and preloading them would put them before it."""
    files = sorted((root / "js").rglob("*.js"))
    key = tuple((str(p), p.stat().st_mtime_ns, p.stat().st_size) for p in files)
    return list(_import_closure(str(root), entry, key))


@lru_cache(maxsize=8)
def _import_closure(root_str: str, entry: str, key: tuple) -> tuple[str, ...]:
    """js_modules' answer for one state of the files (`key`: their paths, mtimes and sizes)."""
    root = Path(root_str)
    seen: set[str] = set()
    todo = [entry]
    while todo:
        rel = todo.pop()
        path = root / rel
        if rel in seen or not path.is_file():
            continue
        seen.add(rel)
        here = posixpath.dirname(rel)
        for spec in static_imports(path.read_text(encoding="utf-8")):
            todo.append(posixpath.normpath(posixpath.join(here, spec)))
    return tuple(f"/static/{rel}" for rel in sorted(seen - {entry}))


@dataclass(frozen=True)
class Warm:
    """A text file's gzipped answer, ready in memory (warm_static)."""

    path: Path
    mtime_ns: int
    size: int
    digest: str  # the content hash ?v= names
    body: bytes  # gzipped
    media_type: str


_warm: dict[str, Warm] = {}  # static path ("js/api.js") -> its gzipped answer


def warm_static(root: Path = STATIC_DIR) -> None:
    """Hash every static file and gzip the text ones now, at startup, not on a first request;
    the text files' answers are then kept ready (HashedStaticFiles)."""
    for path in root.rglob("*"):
        if path.is_file():
            relative = path.relative_to(root).as_posix()
            digest = file_hash(relative, root)
            body = compressed(path)
            if body is not None and digest is not None:
                st = path.stat()
                media_type = mimetypes.guess_type(path.name)[0] or "text/plain"
                _warm[relative] = Warm(path, st.st_mtime_ns, st.st_size, digest, body, media_type)


def warm_answer(path: str, scope: Scope) -> Response | None:
    """A warm text file's gzipped answer (or 304), with no thread hop or file read: a first
    load asks for some forty modules, each through this one process. None where StaticFiles
    must answer: not a GET, a range, no gzip, not warmed, or changed on disk since."""
    warm = _warm.get(path)
    if warm is None or scope["method"] != "GET":
        return None
    headers = Headers(scope=scope)
    if "range" in headers or not accepts_gzip(headers):
        return None
    try:
        st = os.stat(warm.path)
    except OSError:
        return None
    if (st.st_mtime_ns, st.st_size) != (warm.mtime_ns, warm.size):
        return None
    query = scope.get("query_string", b"").decode("latin-1")
    match = re.search(r"(?:^|&)v=([0-9a-f]+)", query)
    etag = f'W/"{warm.digest}"'
    answer = {
        "etag": etag,
        "vary": "accept-encoding",
        "cache-control": LONG_CACHE if match and match.group(1) == warm.digest else REVALIDATE,
    }
    if etag in [tag.strip() for tag in headers.get("if-none-match", "").split(",")]:
        return Response(status_code=304, headers=answer)
    answer["content-encoding"] = "gzip"
    return Response(warm.body, headers=answer, media_type=warm.media_type)


class HashedStaticFiles(StaticFiles):
    """StaticFiles that lets browsers cache for a year when ?v= names the current content, and
    sends text files gzipped to browsers that accept it (server.web.gzipped); a warmed text
    file is answered from memory (warm_answer)."""

    async def get_response(self, path: str, scope: Scope):
        warm = warm_answer(path, scope)
        if warm is not None:
            return warm
        response = await super().get_response(path, scope)
        query = scope.get("query_string", b"").decode("latin-1")
        match = re.search(r"(?:^|&)v=([0-9a-f]+)", query)
        fresh = match and match.group(1) == file_hash(path, Path(self.directory))
        response.headers["cache-control"] = LONG_CACHE if fresh else REVALIDATE
        return await maybe_gzip(response, Headers(scope=scope))


# -- plotly.js ----------------------------------------------------------------------------


@lru_cache(maxsize=1)
def plotly_file() -> Path | None:
    """plotly.min.js inside the installed plotly package (found without importing plotly)."""
    spec = importlib.util.find_spec("plotly")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "package_data" / "plotly.min.js"
    return path if path.is_file() else None


@lru_cache(maxsize=1)
def plotly_version() -> str:
    path = plotly_file()
    if path is None:
        return "missing"
    with path.open("rb") as f:
        head = f.read(256).decode("latin-1")
    match = re.search(r"plotly\.js v(\d+\.\d+\.\d+[\w.\-]*)", head)
    return match.group(1) if match else "unknown"


def plotly_url() -> str:
    """The vendored file keeps its version in its name, so it can be cached for good."""
    return f"/vendor/plotly-{plotly_version()}.min.js"


def favicon_svg() -> str:
    path = STATIC_DIR / "favicon.svg"
    return path.read_text(encoding="utf-8") if path.is_file() else BUILTIN_FAVICON
