"""The plots over time: every step axis names every token or none (then the hover does), and
the gradient-flow colours can use one fixed range, the same for every model."""

from __future__ import annotations

import re
from urllib.parse import quote

import pytest
from pagekit import open_page, shot

pytestmark = pytest.mark.browser

LONG = "twinkle twinkle little star how i wonder what you are"  # 53 steps
SHOWN = [c if c != " " else "␣" for c in LONG]


def x_labels(page, plot: str) -> list[str]:
    return page.locator(f"{plot} .xaxislayer-above .xtick text").all_text_contents()


def wait_plot(page, plot: str) -> None:
    page.locator(plot).scroll_into_view_if_needed()
    page.wait_for_selector(f"{plot} .main-svg")


@pytest.mark.parametrize("width", [1024, 1366, 1920])
@pytest.mark.parametrize("text", [LONG, LONG[:41]])
def test_step_axes_name_every_token_or_none(page, server_url, width, text):
    page.set_viewport_size({"width": width, "height": 768})
    open_page(page, f"{server_url}/?model=lstm-rhymes&text={quote(text)}&view=gradients")
    shown = SHOWN[: len(text)]
    for plot in ("dh-norm", "contrib", "flow"):
        sel = f"#view-gradients [data-plot='{plot}']"
        wait_plot(page, sel)
        labels = x_labels(page, sel)
        numbers = all(re.fullmatch(r"−?\d+", s) for s in labels)
        assert labels == shown or numbers, f"{plot} at {width}px skips tokens: {labels}"
        if numbers:  # no token labels: the axis says so and the hover names the token
            assert "hover" in page.text_content(f"{sel} .g-xtitle")
    page.click("[role=tab][data-view='heatmaps']")
    sel = "#view-heatmaps [data-plot='h']"
    wait_plot(page, sel)
    labels = x_labels(page, sel)
    assert labels == shown or all(re.fullmatch(r"−?\d+", s) for s in labels)


def test_the_wide_flow_plot_labels_all_53_tokens_at_1024(page, server_url):
    page.set_viewport_size({"width": 1024, "height": 768})
    open_page(page, f"{server_url}/?model=lstm-rhymes&text={quote(LONG)}&view=gradients")
    sel = "#view-gradients [data-plot='flow']"
    wait_plot(page, sel)
    assert x_labels(page, sel) == SHOWN
    shot(page, "flow-53-tokens-1024")


def test_hover_names_the_token_when_the_axis_cannot(page, server_url):
    page.set_viewport_size({"width": 1366, "height": 768})  # two plots a row: 53 do not fit
    open_page(page, f"{server_url}/?model=lstm-rhymes&text={quote(LONG)}&view=heatmaps")
    sel = "#view-heatmaps [data-plot='loss']"
    wait_plot(page, sel)
    assert all(re.fullmatch(r"−?\d+", s) for s in x_labels(page, sel))  # too narrow for 53
    page.locator(sel).evaluate("(e) => e.scrollIntoView({ block: 'center' })")  # not under the bars
    area = page.locator(f"{sel} .nsewdrag").bounding_box()  # anywhere above a step's bar
    page.mouse.move(area["x"] + area["width"] * 0.4, area["y"] + area["height"] / 2)
    page.wait_for_selector(f"{sel} .hoverlayer .hovertext")
    hover = page.text_content(f"{sel} .hoverlayer .hovertext")
    m = re.search(r"t=(\d+) “(.)”", hover)
    assert m and SHOWN[int(m.group(1))] == m.group(2), hover


def colorbar_ticks(page) -> list[str]:
    sel = "#view-gradients [data-plot='flow']"
    wait_plot(page, sel)
    return page.locator(f"{sel} .colorbar .cbaxis text").all_text_contents()


def test_gradient_flow_can_use_one_fixed_colour_range(page, server_url):
    open_page(page, f"{server_url}/?model=rnn-rhymes&text=twinkle%20twinkle&view=gradients")
    fitted = colorbar_ticks(page)
    assert fitted and fitted != ["1e-8", "1e-6", "1e-4", "1e-2", "1e0", "1e2"]
    toggle = page.get_by_label(re.compile("fixed scale"))
    assert not toggle.is_checked()
    toggle.check()
    page.wait_for_url(lambda u: "gscale=fixed" in u)
    page.wait_for_function(
        """() => [...document.querySelectorAll("[data-plot='flow'] .cbaxis text")]
            .some((t) => t.textContent === '1e-8')"""
    )
    fixed = colorbar_ticks(page)
    assert fixed == ["1e-8", "1e-6", "1e-4", "1e-2", "1e0", "1e2"]
    # Another model, the same scale: the link keeps it.
    page.select_option("#model-select", "lstm-rhymes")
    page.wait_for_function("() => window.__unrolled.controller.trace?.cell === 'lstm'")
    assert page.get_by_label(re.compile("fixed scale")).is_checked()
    assert colorbar_ticks(page) == fixed
    shot(page, "gradients-fixed-scale")
    page.get_by_label(re.compile("fixed scale")).uncheck()
    page.wait_for_url(lambda u: "gscale" not in u)
