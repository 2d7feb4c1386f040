"""The page's controls say what they do: errors replace the old picture, links carry the whole
view, the theme cycles back to auto, the speed and the clip show the real state."""

from __future__ import annotations

from urllib.parse import parse_qs, quote, urlsplit

import pytest
from pagekit import open_page, shot

pytestmark = pytest.mark.browser


def query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


BLANK = " " * 12  # twelve spaces: twelve steps for a character model, no word at all


def test_a_model_that_refuses_the_sentence_leaves_no_old_trace(page, server_url):
    # Unknown characters and words are traced (and marked); a sentence without a single word
    # is what a word model still refuses.
    open_page(page, f"{server_url}/?model=lstm-rhymes&text={quote(BLANK)}")
    page.wait_for_selector("#view-heatmaps .plot .main-svg")
    assert page.locator("svg.unrolled g.step").count() == 12
    page.select_option("#model-select", "gru-question")  # reads words: there are none
    error = page.locator("#error-box")
    error.wait_for(state="visible")
    assert error.text_content().strip() != ""
    # Nothing of the LSTM's trace is left under the RNN's name.
    assert page.locator("svg.unrolled").count() == 0
    assert "Nothing to show" in page.text_content("#unrolled")
    assert page.locator("#tokens .chip").count() == 0
    assert page.locator("svg.cellgrid").count() == 0
    assert "LSTM" not in page.text_content("#cell-title")
    assert page.text_content("#equations").strip() == ""
    assert page.locator("#view-heatmaps .plot").count() == 0
    assert page.text_content("#step-label").strip() == "nothing to play"
    shot(page, "model-refuses-sentence")
    # A sentence the model can read brings everything back, and the message goes.
    page.fill("#text-input", "are you good")
    page.wait_for_selector("svg.unrolled g.step")
    assert page.locator("svg.unrolled g.step").count() == 3
    assert not error.is_visible()


def test_the_theme_button_cycles_light_dark_auto(page, server_url):
    open_page(page, f"{server_url}/?model=rnn-hello&text=hell")
    html, btn = page.locator("html"), page.locator("#theme-toggle")
    assert html.get_attribute("data-theme") == "auto" and btn.text_content() == "Theme: auto"
    for theme in ("light", "dark", "auto"):
        page.click("#theme-toggle")
        assert html.get_attribute("data-theme") == theme
        assert btn.text_content() == f"Theme: {theme}"
        if theme == "auto":
            page.wait_for_url(lambda u: "theme" not in query(u))  # the default: no parameter
        else:
            page.wait_for_url(lambda u, t=theme: query(u).get("theme") == t)
    assert html.get_attribute("data-effective-theme") in ("light", "dark")


@pytest.mark.parametrize("speed", ["8", "3"])
def test_speed_shows_the_state_before_any_trace(page, server_url, speed):
    # blank text is refused by the word model, so no trace ever loads: the menu must still say
    # the speed.
    open_page(page, f"{server_url}/?model=gru-question&text={quote(BLANK)}&speed={speed}")
    page.locator("#error-box").wait_for(state="visible")
    select = page.locator("#speed-select")
    assert select.input_value() == speed
    assert select.locator("option:checked").text_content() == f"{speed}×"
    assert page.text_content("#step-label").strip() == "nothing to play"


def sent_traces(page) -> list[str]:
    return [m for m in page.watch.ws_sent if '"trace"' in m]


@pytest.mark.parametrize(
    "box,bad,good,key",
    [
        ("#clip-input", ["-1", "0"], "0.5", "clip"),
        ("#truncate-input", ["0", "2.5", "-3"], "3", "truncate"),
    ],
)
def test_an_invalid_clip_or_truncate_is_refused_with_a_message(
    page, server_url, box, bad, good, key
):
    open_page(page, f"{server_url}/?model=lstm-rhymes&text=twinkle&view=gradients")
    page.wait_for_selector("#view-gradients .grad-summary")
    error = page.locator(f"#{key}-error")
    assert not error.is_visible()
    for value in bad:
        before = len(sent_traces(page))
        page.fill(box, value)
        page.dispatch_event(box, "change")
        error.wait_for(state="visible")
        assert "Not applied" in error.text_content()
        assert page.get_attribute(box, "aria-invalid") == "true"
        page.wait_for_timeout(400)  # past the debounce: nothing was sent
        assert len(sent_traces(page)) == before
        assert key not in query(page.url)
    # The message sits next to its box, on the same row.
    b, e = page.locator(box).bounding_box(), error.bounding_box()
    assert abs((b["y"] + b["height"] / 2) - (e["y"] + e["height"] / 2)) < 40
    shot(page, f"invalid-{key}")
    page.fill(box, good)
    page.dispatch_event(box, "change")
    page.wait_for_url(lambda u: query(u).get(key) == good)
    assert not error.is_visible()
    assert page.get_attribute(box, "aria-invalid") is None


def test_an_invalid_clip_in_a_link_is_shown_not_dropped(page, server_url):
    open_page(page, f"{server_url}/?model=lstm-rhymes&text=twinkle&clip=-1")
    error = page.locator("#clip-error")
    error.wait_for(state="visible")
    assert "clipping stays off" in error.text_content()
    assert page.input_value("#clip-input") == "-1"
