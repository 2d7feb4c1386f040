"""Helpers for the exported file's browser tests (test_export_page.py, test_export_views_page.py):
make an export in this process, open it from file:// with every network request refused."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

from server.core.settings import Settings
from server.export.view import export_html, in_process, parse_view
from server.models.registry import Registry


def export(tmp_path: Path, name: str, page: str = "explorer", **query) -> Path:
    """The exported file of the state `query` (the page's URL properties), written to tmp_path."""
    s = Settings(data_dir=tmp_path / "data")
    registry = Registry(s.data_dir)
    view = parse_view({k: str(v) for k, v in query.items()}, registry, s, page=page)
    path = tmp_path / name
    path.write_text(export_html(view, registry, s, in_process(s)), encoding="utf-8")
    return path


class Offline:
    """A page on which any request that is not file:, data: or blob: is refused and recorded;
    close() fails on a console error, a refused request or a dialog."""

    def __init__(self, browser, viewport=(1280, 800)):
        self.ctx = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]})
        self.page = self.ctx.new_page()
        self.errors, self.refused, self.dialogs = [], [], []
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))
        self.page.route("**/*", self._route)

    def _route(self, route):
        if route.request.url.startswith(("file:", "data:", "blob:", "about:")):
            route.continue_()
        else:
            self.refused.append(route.request.url)
            route.abort()

    def open(self, path: Path):
        self.page.goto(path.as_uri())
        self.page.wait_for_selector("body[data-ready='1']", timeout=30000)
        return self.page

    def close(self):
        assert self.errors == [], self.errors
        assert self.refused == [], self.refused
        assert self.dialogs == [], self.dialogs
        self.ctx.close()


def offline_pages(browser):
    """The body of an `offline` fixture: yields new(viewport) -> Offline, closes each after."""
    made = []

    def new(viewport=(1280, 800)):
        o = Offline(browser, viewport)
        made.append(o)
        return o

    yield new
    for o in made:
        o.close()


def api(server_url: str, path: str, body: dict | None = None):
    """The live server's answer (GET, or POST with a JSON body)."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(f"{server_url}{path}", data, {"content-type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as resp:
        return json.loads(resp.read())


def position(page):
    return page.evaluate("() => [window.__unrolled.state.t, window.__unrolled.state.phase]")
