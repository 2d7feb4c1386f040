"""Helpers shared by the browser tests (conftest.py holds the fixtures)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

CHROMIUM = "/usr/bin/chromium"  # Debian's Chromium (Playwright cannot download browsers here)

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "artifacts" / "screenshots"

HOSTILE = [
    "<img src=x onerror=window.__pwned=1>",
    "</script><script>window.__pwned=1</script>",
    "<svg onload=window.__pwned=1>",
]
# The training text holds every character of the hostile sentences, so they are real tokens.
TRAIN_TEXT = "the quick brown fox jumps over the lazy dog. " + " ".join(HOSTILE)


def open_page(page, url: str):
    """Navigate and wait until main.js says the first trace is drawn."""
    page.goto(url)
    page.wait_for_selector("body[data-ready='1']", timeout=15000)
    return page


def shot(page, name: str, **kw):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), **kw)


class Watch:
    """Everything a page did that a user would count as a fault."""

    def __init__(self, page, server_url: str):
        self.console_errors: list[str] = []
        self.page_errors: list[str] = []
        self.failed: list[str] = []
        self.foreign: list[str] = []
        self.dialogs: list[str] = []
        self.requests: list[str] = []
        self.ws_sent: list[str] = []
        host = urlsplit(server_url).hostname
        allowed = {host, "localhost", "127.0.0.1"}

        def on_request(req):
            self.requests.append(req.url)
            parts = urlsplit(req.url)
            if parts.scheme in ("http", "https", "ws", "wss") and parts.hostname not in allowed:
                self.foreign.append(req.url)

        def on_dialog(d):
            self.dialogs.append(d.message)
            d.dismiss()

        page.on("console", lambda m: m.type == "error" and self.console_errors.append(m.text))
        page.on("pageerror", lambda e: self.page_errors.append(str(e)))
        page.on("requestfailed", lambda r: self.failed.append(f"{r.url} {r.failure}"))
        page.on("request", on_request)
        page.on("dialog", on_dialog)
        page.on("websocket", lambda ws: ws.on("framesent", self._sent))

    def _sent(self, payload):
        self.ws_sent.append(payload if isinstance(payload, str) else str(payload))

    def assert_clean(self):
        assert self.page_errors == [], self.page_errors
        assert self.console_errors == [], self.console_errors
        assert self.failed == [], self.failed
        assert self.foreign == [], self.foreign
        assert self.dialogs == [], self.dialogs
