"""The page's controls say what they do: errors replace the old picture, links carry the whole
view, the theme cycles back to auto, the speed and the clip show the real state."""

from __future__ import annotations

from urllib.parse import parse_qs, quote, urlsplit

import pytest
from pagekit import open_page, shot

pytestmark = pytest.mark.browser


def query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def test_a_model_that_refuses_the_sentence_leaves_no_old_trace(page, server_url):
    open_page(page, f"{server_url}/?model=lstm-rhymes&text={quote('twinkle star')}")
    page.wait_for_selector("#view-heatmaps .plot .main-svg")
    assert page.locator("svg.unrolled g.step").count() == 12
    page.select_option("#model-select", "rnn-hello")  # knows only h, e, l, o
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
    assert page.text_content("#step-label").strip() == "no sentence"
    shot(page, "model-refuses-sentence")
    # A sentence the model can read brings everything back, and the message goes.
    page.fill("#text-input", "hell")
    page.wait_for_selector("svg.unrolled g.step")
    assert page.locator("svg.unrolled g.step").count() == 4
    assert not error.is_visible()
