"""Any sentence a student types is traced, and the page marks the tokens the model did not know:
dimmed chips whose tooltip says what the model saw instead, capitals shown as typed with what
the model read (issue 12, "Any sentence")."""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest
from pagekit import open_page, shot

pytestmark = pytest.mark.browser

FOX = "The quick brown fox jumps over the lazy dog 42 times."
UNKNOWN = ["q", "x", "z", "4", "2"]  # not in the nursery rhymes; "T" is read as "t"


def chip_texts(page, selector: str = "#tokens .chip") -> list[str]:
    return page.locator(f"{selector} .chip-text").all_text_contents()


def test_typing_the_quick_brown_fox_traces_and_marks_what_the_rhymes_never_had(page, server_url):
    page.set_viewport_size({"width": 1024, "height": 768})
    open_page(page, f"{server_url}/?model=lstm-rhymes&text=twinkle&speed=8")
    before = page.evaluate("document.body.dataset.traces")
    page.fill("#text-input", FOX)
    page.wait_for_function(f"() => document.body.dataset.traces !== '{before}'")
    page.wait_for_function(
        f"() => document.querySelectorAll('#tokens .chip').length === {len(FOX)}"
    )
    assert page.locator("#error-box").is_hidden()
    assert page.locator("svg.unrolled g.step").count() == len(FOX)  # every token has its step
    assert chip_texts(page) == [c if c != " " else "␣" for c in FOX]

    unknown = page.locator("#tokens .chip.unknown")
    assert chip_texts(page, "#tokens .chip.unknown") == UNKNOWN
    assert page.locator("#tokens .chip.unknown").evaluate_all(
        "cs => cs.every(c => Number(getComputedStyle(c).opacity) < 1)"
    )  # dimmed
    for title in unknown.evaluate_all("cs => cs.map(c => c.title)"):
        assert "not in this model's vocabulary: it saw a zero vector" in title
    capital = page.locator("#tokens .chip").first
    assert "normalized" in capital.get_attribute("class")
    assert capital.locator(".chip-seen").text_content() == "→t"
    assert "read it as “t”" in capital.get_attribute("title")

    # the unknown token's input is the zero vector: the one-hot box says so, and has no 1
    unknown.first.click()
    onehot = page.locator("#onehot")
    assert "the zero vector" in onehot.text_content()
    assert "1" not in onehot.locator(".bit").all_text_contents()

    # the trace plays through its 53 steps, forward then backward
    page.locator("h2", has_text="The unrolled network").click()
    page.keyboard.press("Home")
    page.keyboard.press("Space")
    page.wait_for_function(
        "() => Number(document.querySelector('#step-label').dataset.t) >= 6", timeout=10000
    )
    page.keyboard.press("Space")
    page.locator("#tokens").scroll_into_view_if_needed()
    shot(page, "any-sentence-fox-1024")


def test_live_typing_an_unknown_character_marks_its_chip(page, server_url):
    open_page(page, f"{server_url}/?model=lstm-rhymes&text={quote('the')}")
    traces = page.evaluate("document.body.dataset.traces")
    page.click("#text-input")
    page.keyboard.press("End")
    page.keyboard.type(" Tiz", delay=60)
    page.wait_for_function("() => document.querySelectorAll('#tokens .chip').length === 7")
    feeds = [json.loads(m)["text"] for m in page.watch.ws_sent if '"feed"' in m]
    assert feeds == [" ", "T", "i", "z"]
    assert page.evaluate("document.body.dataset.traces") == traces  # live steps, no new trace
    assert chip_texts(page, "#tokens .chip.live.unknown") == ["z"]
    assert page.locator("#tokens .chip.live.normalized .chip-text").all_text_contents() == ["T"]
    title = page.locator("#tokens .chip.live.unknown").get_attribute("title")
    assert "not in this model's vocabulary: it saw a zero vector" in title
    assert page.locator("#error-box").is_hidden()
