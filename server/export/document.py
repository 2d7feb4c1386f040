"""One self-contained HTML file: the page's template, its code, styles and plotly.js inline,
the answers to every request it makes embedded (server.export.page_requests), and a
Content-Security-Policy that lets nothing else run.

The template is rendered as the server renders it (templates/index.html or embed.html), then
every stylesheet it links becomes a <style>, its module script an import map of data: URLs
(server.export.bundle) and one inline module, so a stylesheet or module another view adds is
picked up with no change here. The data (offline.js reads it) is JSON in a non-executable
<script type="application/json">, with <, >, & and U+2028/9 escaped: no text of a sentence can
end that element or start markup. Sequence traces travel as gzipped base64 binary frames
(server.tracing.binary): exact float64; every other answer as gzipped base64 JSON; no user text
in clear at all, but for the request bodies (escaped JSON).
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from dataclasses import dataclass, field

from jinja2 import Environment, FileSystemLoader, select_autoescape

from server.core.paths import STATIC_DIR, TEMPLATES_DIR
from server.core.settings import Settings
from server.export import bundle
from server.web import assets

PAGES = {"explorer": "index.html", "embed": "embed.html"}
FORMAT = 2  # of the embedded data (docs/contracts.md, "The exported file")

_LINK = re.compile(r"<link\b[^>]*>", re.I)
_ATTR = re.compile(r"""\b(rel|href)\s*=\s*"([^"]*)\"""", re.I)
_MODULE = re.compile(r"""<script\s+type="module"\s+src="([^"]+)"\s*>\s*</script>""", re.I)
_HEAD_OPEN = re.compile(r"<head>", re.I)
_BODY_OPEN = re.compile(r"<body\b", re.I)
_HEAD_CLOSE = re.compile(r"</head>", re.I)
_JSON_ESCAPES = {
    "<": "\\u003c",
    ">": "\\u003e",
    "&": "\\u0026",
    "\u2028": "\\u2028",
    "\u2029": "\\u2029",
}


def script_json(value) -> str:
    """JSON that is safe inside a <script> element: nothing in it can close the element."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return re.sub("[<>&\u2028\u2029]", lambda m: _JSON_ESCAPES[m.group(0)], text)


def csp_hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def content_security_policy(inline_scripts: list[str]) -> str:
    """No network at all; scripts: the listed inline ones (by hash), the page's data: modules
    and plotly's blob: script. Styles inline (plotly writes them), images data:/blob: only."""
    scripts = " ".join(csp_hash(s) for s in inline_scripts)
    return "; ".join(
        [
            "default-src 'none'",
            f"script-src {scripts} data: blob:",
            "style-src 'unsafe-inline'",
            "img-src data: blob:",
            "font-src data:",
            "connect-src 'none'",
            "base-uri 'none'",
            "form-action 'none'",
            "object-src 'none'",
        ]
    )


@dataclass
class OfflineData:
    """What the exported page reads instead of the server (static/js/offline.js)."""

    query: str  # the page's state, as its URL query
    models: list[dict]  # GET /api/models' entries for the models it shows
    # the recorded requests: {"method", "path", "body", and "frames" | "json" | "error"}
    requests: list[dict] = field(default_factory=list)
    page: str = "explorer"
    views: list[str] = field(default_factory=list)  # tabs needing a server whose data is held

    def as_json(self) -> dict:
        return {
            "format": FORMAT,
            "page": self.page,
            "query": self.query,
            "models": self.models,
            "requests": self.requests,
            "views": self.views,
        }


def render_template(page: str, settings: Settings) -> str:
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES_DIR)), autoescape=select_autoescape(["html"])
    )
    return env.get_template(PAGES[page]).render(
        static=assets.static, plotly_url="", settings=settings.limits(), share_origin=""
    )


def _inline_link(tag: str) -> str:
    attrs = {k.lower(): v for k, v in _ATTR.findall(tag)}
    rel, href = attrs.get("rel", "").lower(), attrs.get("href", "")
    if rel == "stylesheet":
        css = bundle.stylesheet(href, STATIC_DIR)
        if css is None:
            raise RuntimeError(f"the template links a stylesheet that is not in static/: {href}")
        return "<style>\n" + css.replace("</", "<\\/") + "\n</style>"
    if rel == "icon":
        svg = base64.b64encode(assets.favicon_svg().encode()).decode()
        return f'<link rel="icon" type="image/svg+xml" href="data:image/svg+xml;base64,{svg}">'
    return ""  # anything else would reach for the network


def build_html(data: OfflineData, settings: Settings) -> str:
    """The exported file's text."""
    html = render_template(data.page, settings)
    html = _LINK.sub(lambda m: _inline_link(m.group(0)), html)
    entry = _MODULE.search(html)
    if entry is None:
        raise RuntimeError("the template has no <script type=module src=...> to inline")
    main = entry.group(1).split("?", 1)[0].removeprefix("/static/")
    mods = bundle.modules(STATIC_DIR)
    imap = bundle.import_map(mods)
    boot = f'import "{bundle.specifier(main)}";'
    scripts = (
        f'<script type="application/json" id="unrolled-offline">{script_json(data.as_json())}'
        "</script>\n"
        f'<script type="application/octet-stream" id="unrolled-plotly">{bundle.plotly_packed()}'
        "</script>\n"
        f'<script type="module">{boot}</script>'
    )
    html = html[: entry.start()] + scripts + html[entry.end() :]
    csp = content_security_policy([imap, boot])
    head = f'<head>\n  <meta http-equiv="Content-Security-Policy" content="{csp}">'
    html = _HEAD_OPEN.sub(lambda m: head, html, count=1)
    # the import map after <meta charset> (which must come in the first 1024 bytes)
    html = _HEAD_CLOSE.sub(lambda m: f'<script type="importmap">{imap}</script>\n</head>', html, 1)
    return _BODY_OPEN.sub('<body data-offline="1"', html, count=1)
