"""The hidden state's path (view=path) and finding units (view=units), in the explorer and the
embed, from links, with the keyboard, in both themes."""

from __future__ import annotations

from urllib.parse import quote, urlencode

import numpy as np
import pytest
from pagekit import open_page, shot

pytestmark = pytest.mark.browser

Q = "gru-question"


def url(server_url: str, path: str = "/", **state) -> str:
    return f"{server_url}{path}?{urlencode(state, quote_via=quote)}"


def dots(page, series: str) -> list[dict]:
    """Every dot of one path: its step, its data coordinates and its pixel position."""
    return page.eval_on_selector_all(
        f".path-series.{series} .path-dot",
        """ds => ds.map(d => ({t: Number(d.dataset.t),
            pc: [Number(d.dataset.pc1), Number(d.dataset.pc2)],
            px: [Number(d.getAttribute('cx')), Number(d.getAttribute('cy'))]}))""",
    )


def wait_dots(page, series: str, n: int) -> None:
    page.wait_for_function(
        f"() => document.querySelectorAll('.path-series.{series} .path-dot').length === {n}",
        timeout=15000,
    )


def traces_seen(page) -> int:
    return int(page.get_attribute("body", "data-traces") or 0)


def projection(page, model: str = Q, layer: int = 0, direction: int = 0) -> dict:
    return page.evaluate(
        "([m, l, d]) => fetch(`/api/models/${m}/projection?layer=${l}&direction=${d}`)"
        ".then(r => r.json())",
        [model, layer, direction],
    )


def project(hs, proj) -> np.ndarray:
    return (np.array(hs) - np.array(proj["mean"])) @ np.array(proj["components"]).T


def test_two_sentences_part_ways_on_axes_that_stay_put(page, server_url):
    page.set_viewport_size({"width": 1024, "height": 768})
    open_page(page, url(server_url, model=Q, text="you are good", view="path"))
    wait_dots(page, "main", 3)
    proj = projection(page)
    hs = page.evaluate("() => window.__unrolled.controller.trace.steps.map(s => s.h)")
    main = dots(page, "main")
    # every dot is the state's projection on the served axes
    np.testing.assert_allclose([d["pc"] for d in main], project(hs, proj), atol=1e-12)

    page.fill(".path-overlay-input", "are you good")
    page.press(".path-overlay-input", "Enter")
    wait_dots(page, "overlay", 3)
    other = dots(page, "overlay")
    assert page.evaluate("() => window.__unrolled.state.overlay") == "are you good"
    assert "overlay=are+you+good" in page.url or "overlay=are%20you%20good" in page.url
    # the same words in another order: the paths part ways, and end far apart
    gap = np.linalg.norm(np.subtract(main[-1]["pc"], other[-1]["pc"]))
    assert gap > 2 * np.sqrt(proj["explained_variance"][0]), gap
    assert all(
        np.linalg.norm(np.subtract(a["pc"], b["pc"])) > 0.5
        for a, b in zip(main, other, strict=True)
    )
    legend = page.inner_text(".path-legend")
    assert "you are good" in legend and "are you good" in legend
    shot(page, "path-gru-question-1024", full_page=False)

    # another sentence with the same first two words: the same states land on the same points,
    # at the same pixels (the axes did not move), and the second sentence did not move at all
    x_range = page.get_attribute("svg.path-svg", "data-x-range")
    y_range = page.get_attribute("svg.path-svg", "data-y-range")
    before = traces_seen(page)
    page.fill("#text-input", "you are happy")
    page.wait_for_function(f"() => Number(document.body.dataset.traces) > {before}", timeout=15000)
    page.wait_for_function(
        "() => [...document.querySelectorAll('.path-legend-text')]"
        ".some(n => n.textContent.includes('happy'))"
    )
    wait_dots(page, "main", 3)
    again = dots(page, "main")
    assert page.get_attribute("svg.path-svg", "data-x-range") == x_range
    assert page.get_attribute("svg.path-svg", "data-y-range") == y_range
    for t in (0, 1):
        assert again[t]["pc"] == main[t]["pc"] and again[t]["px"] == main[t]["px"]
    assert again[2]["pc"] != main[2]["pc"]
    assert dots(page, "overlay") == other


def test_the_current_step_moves_with_the_player(page, server_url):
    open_page(page, url(server_url, model=Q, text="you are good", view="path", t=0))
    wait_dots(page, "main", 3)
    main = dots(page, "main")
    for t in range(3):
        ring = page.eval_on_selector(
            ".path-cursor.main", "r => [Number(r.getAttribute('cx')), Number(r.getAttribute('cy'))]"
        )
        assert ring == pytest.approx(main[t]["px"], abs=0.06)
        assert page.get_attribute(f".path-series.main .path-label[data-t='{t}']", "class").endswith(
            "current"
        )
        page.keyboard.press("ArrowRight")
        page.wait_for_function(f"() => window.__unrolled.state.t === {min(t + 1, 2)}")


def scores_from_trace(page, a: int, b: int, name: str = "h") -> np.ndarray:
    js = f"() => window.__unrolled.controller.trace.steps.map(s => s.{name})"
    v = np.array(page.evaluate(js))
    inside = np.zeros(len(v), bool)
    inside[a : b + 1] = True
    return v[inside].mean(axis=0) - v[~inside].mean(axis=0)


def listed(page) -> list[tuple[int, float]]:
    return page.eval_on_selector_all(
        ".units-table tbody tr",
        "rs => rs.map(r => [Number(r.dataset.unit), Number(r.dataset.score)])",
    )


def test_finding_units_lists_the_recomputed_scores(page, server_url):
    page.set_viewport_size({"width": 1024, "height": 768})
    text = "twinkle, twinkle, little star"
    open_page(page, url(server_url, model="lstm-rhymes", text=text, view="units"))
    page.wait_for_selector(".units-chip")
    assert "Select a span" in page.inner_text(".units-list")
    page.click(".units-chip[data-t='9']")
    page.click(".units-chip[data-t='15']", modifiers=["Shift"])  # "twinkle" again
    assert page.evaluate("() => window.__unrolled.state.span") == "9-15"
    rows = listed(page)
    score = scores_from_trace(page, 9, 15)
    assert len(rows) == 12
    for unit, s in rows:
        assert s == pytest.approx(score[unit], abs=1e-12)
    assert [u for u, _ in rows] == list(np.argsort(-score, kind="stable")[:12])
    # lower in the span, and the cell state c
    page.select_option(".units-rank", "down")
    assert [u for u, _ in listed(page)] == list(np.argsort(score, kind="stable")[:12])
    page.select_option(".units-source", "c")
    c_score = scores_from_trace(page, 9, 15, "c")
    for unit, s in listed(page):
        assert s == pytest.approx(c_score[unit], abs=1e-12)
    page.select_option(".units-source", "h")
    page.select_option(".units-rank", "up")

    # a click on a unit selects it everywhere and colours the sentence by its h_t
    unit = listed(page)[0][0]
    page.click(f".units-table tr[data-unit='{unit}'] .units-pick")
    assert page.evaluate("() => window.__unrolled.state.unit") == unit
    hs = np.array(page.evaluate("() => window.__unrolled.controller.trace.steps.map(s => s.h)"))
    values = page.eval_on_selector_all(".units-chip", "cs => cs.map(c => Number(c.dataset.value))")
    np.testing.assert_array_equal(values, hs[:, unit])
    colours = page.eval_on_selector_all(".units-chip", "cs => cs.map(c => c.style.background)")
    assert len(set(colours)) > 5  # a diverging scale, not one colour
    assert f"unit {unit}" in page.inner_text(".units-legend")
    shot(page, "units-lstm-rhymes-1024", full_page=False)

    # the keyboard: Enter selects a token, Shift+→ extends the span, the player does not move
    t_before = page.evaluate("() => window.__unrolled.state.t")
    page.focus(".units-chip[data-t='18']")
    page.keyboard.press("Enter")
    page.keyboard.press("Shift+ArrowRight")
    page.keyboard.press("Shift+ArrowRight")
    assert page.evaluate("() => window.__unrolled.state.span") == "18-20"
    assert page.evaluate("() => window.__unrolled.state.t") == t_before
    for unit, s in listed(page):
        assert s == pytest.approx(scores_from_trace(page, 18, 20)[unit], abs=1e-12)
    # drag: from "little" to "star"
    box = [page.locator(f".units-chip[data-t='{t}']").bounding_box() for t in (18, 28)]
    page.mouse.move(box[0]["x"] + 5, box[0]["y"] + 5)
    page.mouse.down()
    page.mouse.move(box[1]["x"] + 5, box[1]["y"] + 5, steps=6)
    page.mouse.up()
    assert page.evaluate("() => window.__unrolled.state.span") == "18-28"


def test_a_copied_link_reproduces_overlay_span_and_unit(page, context, server_url):
    open_page(page, url(server_url, model=Q, text="you are good", view="path"))
    wait_dots(page, "main", 3)
    page.fill(".path-overlay-input", "are you good")
    page.press(".path-overlay-input", "Enter")
    wait_dots(page, "overlay", 3)
    page.click("[data-view='units']")
    page.click(".units-chip[data-t='0']")
    page.click(".units-chip[data-t='1']", modifiers=["Shift"])
    unit = listed(page)[1][0]
    page.click(f".units-table tr[data-unit='{unit}'] .units-pick")
    page.click("#copy-link")
    link = page.get_attribute("#copy-status", "data-copied")
    assert "overlay=" in link and "span=0-1" in link and f"unit={unit}" in link

    fresh = context.new_page()
    from pagekit import Watch

    fresh.watch = Watch(fresh, server_url)
    open_page(fresh, link)
    fresh.wait_for_selector(".units-table tbody tr")
    assert fresh.evaluate("() => window.__unrolled.state.unit") == unit
    assert fresh.eval_on_selector_all(".units-chip.in-span", "cs => cs.map(c => c.dataset.t)") == [
        "0",
        "1",
    ]
    assert listed(fresh) == listed(page)
    assert fresh.eval_on_selector(f"tr[data-unit='{unit}']", "r => r.className") == "selected"
    fresh.click("[data-view='path']")
    wait_dots(fresh, "overlay", 3)
    assert fresh.input_value(".path-overlay-input") == "are you good"
    page.click("[data-view='path']")
    wait_dots(page, "overlay", 3)
    assert dots(fresh, "overlay") == dots(page, "overlay")
    fresh.watch.assert_clean()
    fresh.close()


@pytest.mark.parametrize("view", ["path", "units"])
def test_the_embed_shows_the_view_from_its_link(page, server_url, view):
    page.set_viewport_size({"width": 800, "height": 450})
    state = dict(model=Q, text="you are good", view=view, overlay="are you good", span="2-2")
    open_page(page, url(server_url, "/embed", **state, unit=3))
    assert page.is_hidden("#unrolled") and page.is_hidden("#cell-view")
    if view == "path":
        wait_dots(page, "overlay", 3)
        wait_dots(page, "main", 3)
    else:
        page.wait_for_selector(".units-table tbody tr")
        assert page.get_attribute("tr.selected", "data-unit") == "3"
    shot(page, f"embed-{view}-800x450")


@pytest.mark.parametrize("theme", ["light", "dark"])
@pytest.mark.parametrize("size", [(1024, 768), (1920, 1080)])
def test_screenshots(page, server_url, theme, size):
    page.set_viewport_size({"width": size[0], "height": size[1]})
    for view in ("path", "units"):
        state = dict(model=Q, text="you are good", view=view, theme=theme, overlay="are you good")
        state |= {"span": "2-2", "unit": 5, "t": 1}
        open_page(page, url(server_url, **state))
        if view == "path":
            wait_dots(page, "overlay", 3)
        else:
            page.wait_for_selector(".units-table tbody tr")
        page.evaluate("() => document.querySelector('.tabs').closest('.panel').scrollIntoView()")
        shot(page, f"{view}-{theme}-{size[0]}x{size[1]}")


def test_hostile_sentences_are_shown_as_text(page, server_url):
    from pagekit import HOSTILE

    text, other = HOSTILE[0], HOSTILE[1]
    open_page(page, url(server_url, model=Q, text=text, view="path", overlay=other))
    page.wait_for_selector(".path-series.overlay .path-dot")
    legend = page.eval_on_selector_all(".path-legend-text", "ns => ns.map(n => n.textContent)")
    assert legend == [f"“{text}”", f"“{other}”"]
    labels = page.eval_on_selector_all(".path-label", "ns => ns.map(n => n.textContent)")
    assert any("<" in s for s in labels)
    page.click("[data-view='units']")
    page.wait_for_selector(".units-chip")
    assert page.evaluate("() => window.__pwned") is None
    assert page.locator("img:not(#room-qr), script:not([src]), svg[onload]").count() == 0
