"""User text is only ever text: hostile sentences never run, on / or on /embed."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from pagekit import HOSTILE, open_page

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("payload", HOSTILE)
def test_hostile_sentence_is_shown_literally_on_the_explorer(page, server_url, trio, payload):
    open_page(page, f"{server_url}/?model={trio['gru']}&text={quote(payload)}")
    chips = page.locator("#tokens .chip .chip-text").all_text_contents()
    assert "".join(chips).replace("␣", " ") == payload
    assert page.input_value("#text-input") == payload
    page.wait_for_selector("#view-heatmaps .plot .main-svg")
    # Typed in by hand, too: the first characters make a fresh trace, the rest arrive as live
    # feed frames (one key each for the first payload; pasted in one go for the others).
    page.fill("#text-input", "")
    page.click("#text-input")
    page.keyboard.type(payload[:3], delay=5)
    page.wait_for_function("() => document.querySelectorAll('#tokens .chip').length === 3")
    if payload == HOSTILE[0]:
        page.keyboard.type(payload[3:], delay=5)
    else:
        page.keyboard.insert_text(payload[3:])
    page.wait_for_function(
        f"() => document.querySelectorAll('#tokens .chip').length === {len(payload)}", timeout=15000
    )
    page.wait_for_timeout(300)
    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert page.locator("#tokens img, #tokens svg, #tokens script, #equations img").count() == 0
    assert page.watch.dialogs == []


@pytest.mark.parametrize("payload", HOSTILE)
def test_hostile_sentence_is_shown_literally_on_embed(page, server_url, trio, payload):
    open_page(page, f"{server_url}/embed?model={trio['lstm']}&text={quote(payload)}")
    assert payload in page.text_content("#embed-title")
    toks = page.locator("svg.unrolled text.tok").all_text_contents()
    assert "".join(toks).replace("␣", " ") == payload
    page.keyboard.press("End")
    page.wait_for_timeout(200)
    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert page.locator("main img, main script").count() == 0
