"""The page's own code and styles, and plotly.js, packed to live inside one HTML file.

Every module under static/js/ is picked up (a new view needs no change here): each relative
import (`from "./state.js"`, `import("../x.js")`) is rewritten to a bare specifier
(`@unrolled/js/state.js`), and an import map sends each specifier to a `data:` URL holding the
module. A data: module has no base URL for relative imports, which is why they become bare
specifiers (import maps apply to every module of the document, data: ones included).

plotly.js (4.8 MB, from the installed plotly package, never a CDN) is stored gzipped and base64
encoded (1.9 MB); the page inflates it with the browser's DecompressionStream
(static/js/offline.js) and runs it from a blob: URL.
"""

from __future__ import annotations

import base64
import gzip
import json
import posixpath
import re
from functools import lru_cache
from pathlib import Path

from server.core.paths import STATIC_DIR
from server.web.assets import plotly_file

PREFIX = "@unrolled/"
# `from "./x.js"`, `import "./x.js"`, `import("./x.js")` and `export ... from "./x.js"`
_RELATIVE = re.compile(r"""(\bfrom\s*|\bimport\s*\(?\s*)(["'])(\.\.?/[^"'\s]+)\2""")


def specifier(relative: str) -> str:
    """static/js/views/cell.js -> "@unrolled/js/views/cell.js"."""
    return PREFIX + relative


def rewrite_imports(source: str, relative: str) -> str:
    """A module's relative imports as bare specifiers, resolved from its own place."""
    here = posixpath.dirname(relative)

    def bare(m: re.Match) -> str:
        target = posixpath.normpath(posixpath.join(here, m.group(3)))
        return f"{m.group(1)}{m.group(2)}{specifier(target)}{m.group(2)}"

    return _RELATIVE.sub(bare, source)


def _tree_key(root: Path) -> tuple:
    files = sorted(root.rglob("*.js"))
    return tuple((str(p), p.stat().st_mtime_ns, p.stat().st_size) for p in files)


@lru_cache(maxsize=4)
def _modules(root: str, key: tuple) -> dict[str, str]:
    base = Path(root)
    out = {}
    for path_str, _, _ in key:
        path = Path(path_str)
        relative = path.relative_to(base.parent).as_posix()  # "js/views/cell.js"
        out[specifier(relative)] = rewrite_imports(path.read_text(encoding="utf-8"), relative)
    return out


def modules(static_dir: Path = STATIC_DIR) -> dict[str, str]:
    """{bare specifier: module source} for every .js file under static/js/ (cached by mtime)."""
    root = static_dir / "js"
    return _modules(str(root), _tree_key(root))


def data_url(source: str) -> str:
    return "data:text/javascript;base64," + base64.b64encode(source.encode()).decode("ascii")


def import_map(mods: dict[str, str]) -> str:
    """The import map's JSON: every module as a data: URL (base64: no character of it can end
    the script element)."""
    return json.dumps({"imports": {k: data_url(v) for k, v in sorted(mods.items())}})


def stylesheet(href: str, static_dir: Path = STATIC_DIR) -> str | None:
    """The text of a stylesheet the template links (/static/css/x.css?v=...), or None."""
    path = href.split("?", 1)[0]
    if not path.startswith("/static/"):
        return None
    file = (static_dir / path.removeprefix("/static/")).resolve()
    if static_dir.resolve() not in file.parents or not file.is_file():
        return None
    return file.read_text(encoding="utf-8")


@lru_cache(maxsize=2)
def _plotly_packed(path: str, mtime_ns: int) -> str:
    raw = Path(path).read_bytes()
    return base64.b64encode(gzip.compress(raw, compresslevel=9, mtime=0)).decode("ascii")


def plotly_packed() -> str:
    """plotly.min.js gzipped, base64 (cached); RuntimeError when plotly is not installed."""
    path = plotly_file()
    if path is None:
        raise RuntimeError("plotly is not installed: pip install plotly (it ships plotly.js)")
    return _plotly_packed(str(path), path.stat().st_mtime_ns)


def packed(data: bytes) -> str:
    """Bytes gzipped and base64 encoded, as offline.js inflates them."""
    return base64.b64encode(gzip.compress(data, compresslevel=9, mtime=0)).decode("ascii")
