"""The Generate tab: a language model continues the sentence one token at a time."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from pagekit import HOSTILE, open_page, shot

pytestmark = pytest.mark.browser


def generations(page) -> int:
    return int(page.get_attribute("#view-generate", "data-generations") or 0)


def wait_generated(page, after: int) -> None:
    """Wait until the panel has shown a generation newer than the `after`-th."""
    page.wait_for_function(
        "n => Number(document.getElementById('view-generate').dataset.generations || 0) > n",
        arg=after,
        timeout=15000,
    )


def set_temperature(page, value: float) -> None:
    page.eval_on_selector(
        "#gen-temperature",
        "(el, v) => { el.value = String(v); el.dispatchEvent(new Event('input', {bubbles: 1})); }",
        value,
    )


def set_number(page, selector: str, value: int) -> None:
    page.fill(selector, str(value))
    page.dispatch_event(selector, "change")


def generated(page) -> str:
    """The generated text the panel shows so far (after the prime)."""
    return page.get_attribute("#gen-text", "data-generated")


def step_view(page) -> dict:
    """What the picture shows at this step, read from the DOM."""
    rows = page.locator("svg.gen-svg .gen-row")
    bars = [
        {
            "token": rows.nth(i).get_attribute("data-token"),
            "p": float(rows.nth(i).get_attribute("data-p")),
            "drawn": "drawn" in rows.nth(i).get_attribute("class"),
        }
        for i in range(rows.count())
    ]
    return {
        "input": page.text_content("svg.gen-svg [data-role=input]"),
        "drawn": page.text_content("svg.gen-svg [data-role=drawn]"),
        "bars": bars,
        "current": page.text_content("#gen-text .gen-tok.current"),
        "feedback": page.text_content("svg.gen-svg .gen-feedback-label"),
    }


def test_temperature_zero_continues_h_with_ello_one_token_at_a_time(page, server_url):
    open_page(page, f"{server_url}/?model=rnn-hello&text=h")
    page.click("[role=tab][data-view='generate']")
    wait_generated(page, 0)
    assert page.is_visible("#gen-temperature")
    set_temperature(page, 0)
    assert page.text_content(".gen-temp-value") == "0 · argmax"
    set_number(page, "#gen-n", 8)
    before = generations(page)
    page.click("#gen-go")  # generate, then play from the first token
    wait_generated(page, before)
    # the new generation plays to its last step (the previous one may have ended at step 7 too)
    page.wait_for_function(
        "() => document.getElementById('gen-step-label').dataset.step === '7'"
        " && document.getElementById('gen-text').dataset.generated.length === 8",
        timeout=15000,
    )
    assert generated(page) == "ellohell"
    assert page.text_content("#gen-text") == "hellohell"  # the prime, then what was drawn

    page.click("#gen-text .gen-tok[data-t='0']")  # back to the first drawn token
    fed = "h"
    for t, expected in enumerate("ellohell"):
        seen = step_view(page)
        top = max(seen["bars"], key=lambda b: b["p"])
        assert top["drawn"] and top["token"] == expected == seen["drawn"], (t, seen)
        assert top["p"] == 1.0 and sum(b["drawn"] for b in seen["bars"]) == 1
        assert seen["input"] == fed  # the token drawn at the step before, fed back in
        assert seen["current"] == expected and f"“{expected}”" in seen["feedback"]
        assert generated(page) == "ellohell"[: t + 1]
        fed = expected
        page.click("#gen-fwd")
    shot(page.locator("#view-generate").first, "generate-argmax")


def test_temperature_and_seed_change_the_text_reproducibly(page, context, server_url):
    open_page(page, f"{server_url}/?model=rnn-hello&text=h&view=generate&n=24")
    wait_generated(page, 0)
    runs = {}
    for temperature, seed in [(2.0, 1), (0.5, 0), (2.0, 0), (2.0, 1)]:
        before = generations(page)
        set_temperature(page, temperature)
        set_number(page, "#gen-seed", seed)
        page.click("#gen-go")
        wait_generated(page, before)
        page.click("[aria-label='Last generated token']")
        runs.setdefault((temperature, seed), []).append(generated(page))
    assert runs[(2.0, 1)][0] == runs[(2.0, 1)][1]  # the same settings draw the same tokens
    assert runs[(2.0, 0)][0] != runs[(2.0, 1)][0]  # another seed draws others
    assert runs[(0.5, 0)][0] == ("elloh" * 5)[:24]  # a cold model spells what it learned
    assert runs[(2.0, 0)][0] != runs[(0.5, 0)][0]
    assert all(len(texts[0]) == 24 for texts in runs.values())

    # The URL carries the settings: a new tab on it generates the same text
    q = {k: v[0] for k, v in parse_qs(urlsplit(page.url).query).items()}
    assert (q["temperature"], q["seed"], q["n"], q["view"]) == ("2", "1", "24", "generate")
    other = context.new_page()
    open_page(other, page.url)
    wait_generated(other, 0)
    assert generated(other) == runs[(2.0, 1)][0]
    assert other.input_value("#gen-seed") == "1" and other.input_value("#gen-n") == "24"
    assert other.text_content(".gen-temp-value") == "2.00"
    other.close()


def test_a_model_that_cannot_generate_says_why(page, server_url):
    open_page(page, f"{server_url}/?model=gru-question&text=you%20are%20good&view=generate")
    page.wait_for_selector(".gen-message.error-inline", timeout=15000)
    message = page.text_content(".gen-message")
    assert "cannot generate text" in message and "classifier" in message
    assert page.locator("svg.gen-svg").count() == 0


def test_generated_tokens_stay_text(page, server_url, trio):
    """A model trained on hostile markup generates it as characters, never as HTML."""
    prime = HOSTILE[0]
    open_page(page, f"{server_url}/?model={trio['lstm']}&view=generate&temperature=1.5&n=60")
    page.fill("#text-input", prime)
    page.dispatch_event("#text-input", "input")
    page.wait_for_function(
        "p => (document.getElementById('gen-text').textContent || '').startsWith(p)",
        arg=prime,
        timeout=15000,
    )
    assert page.evaluate("window.__pwned") is None
    assert page.locator("#view-generate img, #view-generate script").count() == 0


def test_projector_screenshot(page, server_url):
    page.set_viewport_size({"width": 1024, "height": 768})
    q = "model=lstm-rhymes&text=twinkle&view=generate&temperature=1.2&n=30"
    open_page(page, f"{server_url}/?{q}")
    wait_generated(page, 0)
    page.click("#gen-text .gen-tok[data-t='9']")
    page.locator("#view-generate").scroll_into_view_if_needed()
    box = page.locator("svg.gen-svg").bounding_box()
    assert box["width"] <= 1024 and box["x"] >= 0  # the picture fits the projector's width
    # every bar label and value lies inside the picture, left of the drawn token's box
    drawn_box = page.locator("svg.gen-svg rect.gen-tokbox.drawn").bounding_box()
    for text in page.locator("svg.gen-svg .gen-p").all():
        b = text.bounding_box()
        assert b["x"] + b["width"] <= drawn_box["x"] + 2, text.text_content()
    shot(page, "generate-1024")
