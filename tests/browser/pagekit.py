"""Helpers shared by the browser tests (conftest.py holds the fixtures)."""

from __future__ import annotations

from pathlib import Path

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
