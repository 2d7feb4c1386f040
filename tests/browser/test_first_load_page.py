"""The first load: what a page needs before its first network is fetched first, the rest after.

plotly.js (1.5 MB) is not fetched before the page is ready, nor while no chart is near the
screen; a chart's tab still draws its charts when opened (plotly fetched then). The modules the
first drawing does not need come beside the first trace, and are bound by the time the page
says it is ready: its Train, import, image and classroom controls work at once.
"""

from __future__ import annotations

from urllib.parse import quote

import pytest
from pagekit import open_page, shot

pytestmark = pytest.mark.browser

TEXT = "the cat sat on the mat and the dog sat on the log"


def plotly_requests(page) -> list[str]:
    return [u for u in page.watch.requests if "/vendor/plotly-" in u]


def test_plotly_waits_for_a_chart_and_the_heatmaps_still_draw(page, server_url):
    page.set_viewport_size({"width": 1024, "height": 768})
    # a tall stack: the heatmaps (the open tab) are two screens below the network
    open_page(page, f"{server_url}/?model=deep-bi-lstm&text={quote(TEXT)}")
    assert page.locator("svg.unrolled g.step").count() == len(TEXT)
    assert plotly_requests(page) == []
    assert page.evaluate("() => window.Plotly === undefined")
    # the page answers keys at once
    page.locator("h2", has_text="The unrolled network").click()
    page.keyboard.press("ArrowRight")
    page.wait_for_function("() => window.__unrolled.state.t === 1")
    page.wait_for_timeout(300)
    if not page.evaluate(
        "() => document.querySelector('#view-heatmaps').getBoundingClientRect().top"
        " > 2 * innerHeight"
    ):
        pytest.skip("the heatmaps are near the screen on this layout")
    assert plotly_requests(page) == []  # no chart near the screen: no plotly
    # scrolled to, the heatmaps draw (plotly fetched now, from this server)
    page.locator("#view-heatmaps").scroll_into_view_if_needed()
    page.wait_for_selector("#view-heatmaps [data-plot='h'] .main-svg", timeout=30000)
    assert len(plotly_requests(page)) == 1
    assert page.locator("#view-heatmaps [data-plot='h'] .plot-cursor").count() == 1
    shot(page, "first-load-heatmaps-1024")


def test_a_chart_tab_opened_first_draws_its_charts(page, server_url):
    page.set_viewport_size({"width": 1920, "height": 1080})
    open_page(page, f"{server_url}/?model=lstm-rhymes&text={quote(TEXT)}&view=gradients")
    sel = "#view-gradients [data-plot='dh-norm']"
    page.locator(sel).scroll_into_view_if_needed()
    page.wait_for_selector(f"{sel} .main-svg", timeout=30000)
    assert len(plotly_requests(page)) == 1
    # back to the heatmaps: drawn with the plotly already loaded
    page.click("[role=tab][data-view='heatmaps']")
    heat = "#view-heatmaps [data-plot='h']"
    page.locator(heat).scroll_into_view_if_needed()
    page.wait_for_selector(f"{heat} .main-svg", timeout=30000)
    assert len(plotly_requests(page)) == 1
    shot(page, "first-load-heatmaps-1920")


def test_the_controls_loaded_beside_the_first_trace_work_once_ready(page, server_url):
    page.set_viewport_size({"width": 1024, "height": 768})
    open_page(page, f"{server_url}/?model=lstm-rhymes&text={quote(TEXT)}")
    # the image buttons (images.js), the import form (import.js), the Train panel (train.js)
    assert page.locator("[data-image-tools='unrolled'] [data-image='png']").count() == 1
    assert page.locator("#import-form form, #import-form input").count() > 0
    assert page.locator("#train-panel button").count() > 0
    assert page.evaluate("() => typeof window.__unrolled.images.svgOf === 'function'")
    assert page.evaluate("() => window.__unrolled.classroom != null")
    svg = page.evaluate("() => window.__unrolled.images.svgOf('unrolled')")
    assert svg.startswith("<svg")
    # an encoder–decoder model's views come with them: choosing one draws it
    page.select_option("#model-select", "gru-reverse-attention")
    page.wait_for_function("() => document.body.dataset.kind === 'seq2seq'")
    page.wait_for_selector("svg.s2s g.node.encoder", timeout=15000)


def test_the_embed_is_ready_without_plotly(page, server_url):
    open_page(page, f"{server_url}/embed?model=lstm-rhymes&text={quote(TEXT)}")
    assert page.locator("svg.unrolled g.step").count() == len(TEXT)
    assert plotly_requests(page) == []
    assert page.evaluate("() => typeof window.__unrolled.images.pngOf === 'function'")
