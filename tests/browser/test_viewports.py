"""Every control works on a classroom projector (1024×768) and on laptop and desktop screens,
also once the page is scrolled and the sticky bars float over the content."""

from __future__ import annotations

import pytest
from pagekit import open_page, shot

pytestmark = pytest.mark.browser

SIZES = [(1024, 768), (1366, 768), (1920, 1080)]
PLAYER_CONTROLS = [
    "#btn-first",
    "#btn-back",
    "#btn-play",
    "#btn-fwd",
    "#btn-last",
    "#scrubber",
    "#speed-select",
]


def step(page) -> tuple[int, str]:
    label = page.locator("#step-label")
    return int(label.get_attribute("data-t")), label.get_attribute("data-phase")


def reachable(page, selector: str) -> bool:
    """Would a click at the middle of this control land on it (not on a bar covering it)?"""
    return page.evaluate(
        """(sel) => {
            const node = document.querySelector(sel);
            const r = node.getBoundingClientRect();
            if (r.width === 0 || r.bottom <= 0 || r.top >= innerHeight) return false;
            const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
            return hit === node || node.contains(hit);
        }""",
        selector,
    )


def box(page, selector: str) -> dict:
    return page.locator(selector).bounding_box()


@pytest.mark.parametrize("size", SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
def test_player_controls_work_after_scrolling(page, server_url, size):
    w, h = size
    page.set_viewport_size({"width": w, "height": h})
    open_page(page, f"{server_url}/?model=lstm-rhymes&text=twinkle%20twinkle&t=3&speed=4")
    # The top bar is one line and the player starts below it.
    assert box(page, "header.topbar")["height"] < 60
    page.wait_for_selector("#view-heatmaps .plot .main-svg")  # the page has its full height
    page.evaluate("() => window.scrollTo(0, 700)")
    page.wait_for_function("() => window.scrollY > 300")
    top, player = box(page, "header.topbar"), box(page, "section.player")
    assert player["y"] >= top["y"] + top["height"] - 1, "the top bar covers the player"
    assert player["y"] + player["height"] < h / 3, "the player did not stay on screen"
    for sel in PLAYER_CONTROLS:
        assert reachable(page, sel), f"{sel} is covered at {w}×{h}"

    page.click("#btn-fwd")
    assert step(page) == (4, "forward")
    page.click("#btn-back")
    assert step(page) == (3, "forward")
    page.click("#btn-last")
    assert step(page) == (0, "backward")
    page.click("#btn-first")
    assert step(page) == (0, "forward")
    # The phase: the scrubber's right half is the backward pass.
    sb = box(page, "#scrubber")
    page.click("#scrubber", position={"x": sb["width"] * 0.8, "y": sb["height"] / 2})
    assert step(page)[1] == "backward"
    page.click("#btn-first")
    # Speed, then play and pause.
    page.select_option("#speed-select", "16")
    assert page.input_value("#speed-select") == "16"
    page.click("#btn-play")
    assert page.locator("#btn-play").get_attribute("aria-label") == "Pause"
    page.wait_for_function("() => Number(document.querySelector('#step-label').dataset.t) >= 3")
    page.click("#btn-play")
    assert page.locator("body").get_attribute("data-playing") == "0"
    paused = step(page)
    page.wait_for_timeout(300)
    assert step(page) == paused
    assert page.evaluate("window.scrollY") > 300  # still scrolled: the controls were used there
    shot(page, f"player-scrolled-{w}x{h}")


@pytest.mark.parametrize("size", SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
def test_page_controls_work_below_the_sticky_bars(page, server_url, size):
    w, h = size
    page.set_viewport_size({"width": w, "height": h})
    open_page(page, f"{server_url}/?model=lstm-rhymes&text=twinkle%20twinkle&t=3")
    page.wait_for_selector("#view-heatmaps .plot .main-svg")
    page.evaluate("() => window.scrollTo(0, 900)")
    # Tabs and cell units sit under the sticky bars once scrolled: clicks must still reach them.
    page.click("[role=tab][data-view='gradients']")
    page.wait_for_selector("#view-gradients .grad-summary")
    page.click("[role=tab][data-view='heatmaps']")
    page.locator("svg.cellgrid g[data-unit='5'] rect").first.click()
    assert page.text_content("#equations .eq-head").startswith("Unit 5 ")
    for sel in ["#theme-toggle", "#copy-link", "#model-select"]:
        assert reachable(page, sel), f"{sel} is covered at {w}×{h}"
    page.click("#theme-toggle")
    assert page.locator("html").get_attribute("data-theme") != "auto"
