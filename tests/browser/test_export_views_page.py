"""Every tab and model kind of an exported file (server/export/), opened from file:// with every
network request refused: the Path of h with an overlay, Finding units with a span, the cell
diagram, Order matters, an encoder–decoder with attention and a what-if, a tree, presentation
mode. Each shows the numbers the live server answers for the same state, with no console error
and no request; what the file does not hold says it needs the live server."""

from __future__ import annotations

import numpy as np
import pytest
from exportkit import api, export, offline_pages, position
from pagekit import SCREENSHOTS
from test_diagram_page import check_wires

pytestmark = pytest.mark.browser

Q = "gru-question"
ATTN = "gru-reverse-attention"
TREE = "tree-sentiment"


@pytest.fixture
def offline(browser):
    yield from offline_pages(browser)


def shot(page, name: str, panel: str | None = None) -> None:
    """Screenshots at 1024×768 and 1920×1080, `panel` scrolled to under the sticky bars."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for w, h in ((1024, 768), (1920, 1080)):
        page.set_viewport_size({"width": w, "height": h})
        if panel:
            page.eval_on_selector(
                panel, "e => e.closest('.panel').scrollIntoView({block: 'start'})"
            )
        page.wait_for_timeout(150)
        page.screenshot(path=str(SCREENSHOTS / f"export-{name}-{w}.png"))


def needs_server(page, selector: str) -> str:
    page.wait_for_function(
        "(s) => [...document.querySelectorAll(s)].some(e => e.textContent.includes("
        "'needs the live server'))",
        arg=selector,
        timeout=10000,
    )
    return page.inner_text(selector)


def dots(page, series: str) -> list[list[float]]:
    return page.eval_on_selector_all(
        f".path-series.{series} .path-dot",
        "ds => ds.map(d => [Number(d.dataset.pc1), Number(d.dataset.pc2)])",
    )


def test_path_of_h_with_an_overlay(tmp_path, offline, server_url):
    state = dict(model=Q, text="you are good", view="path", overlay="are you good", t=1)
    page = offline().open(export(tmp_path, "path.html", **state))
    page.wait_for_function(
        "() => document.querySelectorAll('.path-series.overlay .path-dot').length === 3"
    )
    proj = api(server_url, f"/api/models/{Q}/projection?layer=0&direction=0")
    for series, text in (("main", "you are good"), ("overlay", "are you good")):
        live = api(server_url, "/api/trace", {"model": Q, "text": text, "top_k": 1})
        hs = np.array([s["h"] for s in live["steps"]])
        want = (hs - np.array(proj["mean"])) @ np.array(proj["components"]).T
        np.testing.assert_allclose(dots(page, series), want, rtol=0, atol=1e-12)
    legend = page.inner_text(".path-legend")
    assert "you are good" in legend and "are you good" in legend
    ring = page.eval_on_selector(".path-cursor.main", "r => Number(r.getAttribute('cx'))")
    page.keyboard.press("ArrowRight")
    assert position(page) == [2, "forward"]
    assert page.eval_on_selector(".path-cursor.main", "r => Number(r.getAttribute('cx'))") != ring
    shot(page, "path", "#view-path")
    # another second sentence is a new trace: the file says it needs the server
    page.fill(".path-overlay-input", "good you are")
    page.press(".path-overlay-input", "Enter")
    text = needs_server(page, "#view-path .error-inline")
    assert "Tracing “good you are”" in text


def test_finding_units_with_a_span(tmp_path, offline, server_url):
    text = "twinkle, twinkle, little star"
    state = dict(model="lstm-rhymes", text=text, view="units", span="9-15")
    page = offline().open(export(tmp_path, "units.html", **state))
    page.wait_for_selector(".units-table tbody tr")
    live = api(server_url, "/api/trace", {"model": "lstm-rhymes", "text": text})
    h = np.array([s["h"] for s in live["steps"]])
    inside = np.zeros(len(h), bool)
    inside[9:16] = True
    score = h[inside].mean(axis=0) - h[~inside].mean(axis=0)
    rows = page.eval_on_selector_all(
        ".units-table tbody tr",
        "rs => rs.map(r => [Number(r.dataset.unit), Number(r.dataset.score)])",
    )
    assert [u for u, _ in rows] == list(np.argsort(-score, kind="stable")[:12])
    for unit, s in rows:
        assert s == pytest.approx(score[unit], abs=1e-12)
    # another span is computed in the page, from the trace the file holds
    page.focus(".units-chip[data-t='18']")
    page.keyboard.press("Enter")
    page.keyboard.press("Shift+ArrowRight")
    assert page.evaluate("() => window.__unrolled.state.span") == "18-19"
    shot(page, "units", "#view-units")


def test_the_cell_diagram_forward_and_backward(tmp_path, offline, server_url):
    t, unit = 2, 3
    live = api(server_url, "/api/trace", {"model": "lstm-rhymes", "text": "twinkle"})
    for phase in ("forward", "backward"):
        state = dict(model="lstm-rhymes", text="twinkle", view="diagram", t=t, unit=unit)
        page = offline().open(export(tmp_path, f"d-{phase}.html", phase=phase, **state))
        sel = f".diagram .badge[data-phase='{phase}']"
        page.wait_for_selector(sel)
        tr = page.evaluate("() => window.__unrolled.controller.trace")
        assert tr["steps"][t] == live["steps"][t] and tr["backward"][t] == live["backward"][t]
        check_wires(page, tr, t, unit, phase)
        if phase == "backward":
            shot(page, "diagram-backward", "#view-diagram")


def order_cells(page) -> dict:
    return {
        (c["m"], c["s"]): (c["label"], c["p"])
        for c in page.eval_on_selector_all(
            ".order-table td",
            "ts => ts.map(t => ({m: t.dataset.model, s: t.dataset.sentence, "
            "label: t.dataset.label, p: Number(t.dataset.p)}))",
        )
    }


def check_order(page, server_url, bow: str, a: str, b: str) -> None:
    page.wait_for_function(
        "(a) => document.querySelector('#order-a').value === a && "
        "!document.querySelector('#view-order').dataset.busy && "
        "document.querySelectorAll('.order-table td').length === 4",
        arg=a,
    )
    cells = order_cells(page)
    for s, text in (("A", a), ("B", b)):
        live = api(server_url, "/api/bow/predict", {"model": bow, "text": text})
        i = live["labels"].index(live["label"])
        assert cells[("bow", s)] == (live["label"], live["probs"][i])
        c = live["companion"]
        assert cells[("rnn", s)] == (c["label"], c["probs"][live["labels"].index(c["label"])])


def test_order_matters(tmp_path, offline, server_url):
    page = offline().open(
        export(tmp_path, "order.html", model=Q, text="are you good", view="order")
    )
    check_order(page, server_url, "bow-question", "you are good", "are you good")
    assert page.get_attribute("#view-order", "data-same-vector") == "1"
    shot(page, "order", "#view-order")
    # the other bag-of-words model's own pair is in the file too
    page.select_option("#order-model", "bow-sentiment")
    check_order(page, server_url, "bow-sentiment", "it was good , not bad", "it was bad , not good")
    # a sentence of one's own needs the server
    page.fill("#order-a", "good you are")
    assert "needs the live server" in needs_server(page, ".order-message")


def test_order_exported_from_another_tab_still_works(tmp_path, offline, server_url):
    page = offline().open(export(tmp_path, "o2.html", model="lstm-sentiment"))
    page.click("[data-view='order']")
    check_order(page, server_url, "bow-sentiment", "it was good , not bad", "it was bad , not good")


def grid_row(page, name: str) -> list[str]:
    sel = f"svg.stepgrid g[data-row='{name}'] text.val"
    return page.eval_on_selector_all(sel, "els => els.map((e) => e.textContent)")


def fixed2(v: float) -> str:
    return f"{0.0 if abs(v) < 0.005 else v:.2f}".replace("-", "−")


def test_encoder_decoder_with_attention_and_a_whatif(tmp_path, offline, server_url):
    src = "abcdef"
    S = len(src)
    body = {"model": ATTN, "source": src, "top_k": 5}
    live = api(server_url, "/api/seq2seq/trace", body)
    T = len(live["decoder"])
    page = offline().open(
        export(tmp_path, "s2s.html", model=ATTN, text=src, whatif="1:0,1,1,0,0,0")
    )
    tr = page.evaluate("() => window.__unrolled.controller.trace")
    for part in ("encoder", "decoder", "alpha", "output", "backward"):
        assert tr[part] == live[part], part
    # the what-if in the state: the engine's answer, under its banner
    page.wait_for_selector("[data-whatif-token]")
    w = api(server_url, "/api/seq2seq/whatif", {**body, "t": 1, "alpha": [0, 0.5, 0.5, 0, 0, 0]})
    line = page.locator("[data-whatif-token]")
    assert line.get_attribute("data-whatif-token") == w["predicted"]["token"]
    assert float(line.get_attribute("data-whatif-p")) == w["predicted"]["p"]
    assert page.locator(".whatif-banner").is_visible()
    shot(page, "seq2seq-whatif")
    page.set_viewport_size({"width": 1280, "height": 800})
    # forward over encoder, context and decoder, then backward, with the keyboard
    page.click(".whatif-reset")
    page.keyboard.press("Home")
    L = S + 1 + T
    for pos in range(2 * L):
        i, phase = (pos, "forward") if pos < L else (2 * L - 1 - pos, "backward")
        page.wait_for_function(
            "([i, p]) => document.querySelector('#step-label').dataset.t === String(i) && "
            "document.body.dataset.phase === p",
            arg=[i, phase],
        )
        step = live["encoder"][i] if i < S else live["decoder"][i - S - 1] if i > S else None
        if step is not None and phase == "forward":
            assert grid_row(page, "h") == [fixed2(v) for v in step["h"]]
        if pos < 2 * L - 1:
            page.keyboard.press("ArrowRight")
    # another what-if is a new request: it needs the server, and says so
    page.evaluate(f"() => window.__unrolled.state.set({{ whatif: '0:2', t: {S + 1} }})")
    assert "Another attention what-if" in needs_server(page, "#kind-seq2seq")


def test_a_tree_plays_up_and_down(tmp_path, offline, server_url):
    phrase = "((the movie) (was (not good)))"
    live = api(server_url, "/api/tree/trace", {"model": TREE, "text": phrase})
    page = offline().open(export(tmp_path, "tree.html", model=TREE, text=phrase))
    tr = page.evaluate("() => window.__unrolled.controller.trace")
    assert tr["nodes"] == live["nodes"] and tr["backward"] == live["backward"]
    N = len(live["nodes"])
    assert page.locator("svg.tree g.tnode").count() == N
    page.keyboard.press("Home")
    for pos in range(N):
        page.wait_for_function(
            "(t) => document.querySelector('#step-label').dataset.t === String(t)", arg=pos
        )
        assert grid_row(page, "h") == [fixed2(v) for v in live["nodes"][pos]["h"]]
        page.keyboard.press("ArrowRight")
    assert position(page) == [N - 1, "backward"]
    root = live["nodes"][live["root"]]
    assert f"root: {root['predicted_label']}" in page.text_content("[data-tree-ledger]")
    shot(page, "tree")


def test_presentation_mode_offline(tmp_path, offline):
    page = offline().open(
        export(tmp_path, "present.html", model="rnn-hello", text="hello", present=1)
    )
    assert page.evaluate("() => document.body.classList.contains('present')")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    assert position(page) == [2, "forward"]
    page.keyboard.press("2")  # the second tab
    page.wait_for_function("() => window.__unrolled.state.view === 'gradients'")
    page.wait_for_function("() => document.querySelector('#view-gradients [data-plot] .main-svg')")
    shot(page, "present")
    page.keyboard.press("Escape")
    assert not page.evaluate("() => document.body.classList.contains('present')")
