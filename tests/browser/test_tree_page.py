"""The tree network page: forward up from the leaves, backward down from the root, every node's
numbers the engine's, the root label for the loss, bad brackets, links and /embed."""

from __future__ import annotations

import json
import time
import urllib.request
from urllib.parse import parse_qs, quote, urlsplit

import pytest
from pagekit import open_page, shot

pytestmark = pytest.mark.browser

TREE = "tree-sentiment"
PHRASE = "((the movie) (was (not good)))"


@pytest.fixture(autouse=True)
def server_ready(server_url):
    """On a busy machine the server may still be starting its trace processes: wait for it."""
    deadline = time.monotonic() + 90
    while True:
        try:
            urllib.request.urlopen(f"{server_url}/api/health", timeout=5).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


def tree_trace(server_url: str, body: dict) -> dict:
    req = urllib.request.Request(
        f"{server_url}/api/tree/trace",
        json.dumps(body).encode(),
        {"content-type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.loads(resp.read())


def fixed2(v: float) -> str:
    return f"{0.0 if abs(v) < 0.005 else v:.2f}".replace("-", "−")


def grid_row(page, name: str) -> list[str]:
    sel = f"svg.stepgrid g[data-row='{name}'] text.val"
    return page.eval_on_selector_all(sel, "els => els.map((e) => e.textContent)")


def wait_step(page, t: int, phase: str) -> None:
    page.wait_for_function(
        f"() => document.querySelector('#step-label').dataset.t === '{t}' && "
        f"document.body.dataset.phase === '{phase}'"
    )


def test_tree_plays_up_then_down_with_the_engines_numbers(page, server_url):
    open_page(page, f"{server_url}/?model={TREE}&text={quote(PHRASE)}")
    assert page.evaluate("() => document.body.dataset.kind") == "tree"
    assert not page.locator("#unrolled").is_visible()
    trace = tree_trace(server_url, {"model": TREE, "text": PHRASE})
    N = len(trace["nodes"])
    assert page.locator("svg.tree g.tnode").count() == N
    assert page.locator("svg.tree g.tnode.leaf").count() == len(trace["words"])
    assert page.locator("svg.tree line.edge").count() == N - 1
    # leaves at the bottom: every leaf's box lower than every internal node's
    ys = page.eval_on_selector_all(
        "svg.tree g.tnode",
        "els => els.map((g) => [g.classList.contains('leaf'),"
        " +g.querySelector('rect').getAttribute('y')])",
    )
    assert min(y for leaf, y in ys if leaf) > max(y for leaf, y in ys if not leaf)
    page.keyboard.press("Home")
    for pos in range(2 * N):
        t, phase = (pos, "forward") if pos < N else (2 * N - 1 - pos, "backward")
        wait_step(page, t, phase)
        node = trace["nodes"][t]
        assert page.get_attribute("svg.tree g.tnode.current", "data-id") == str(node["id"])
        assert grid_row(page, "h") == [fixed2(v) for v in node["h"]]
        if phase == "forward":
            assert page.locator("svg.tree g.tnode.future").count() == N - 1 - t
            assert page.locator("svg.tree line.edge.grad").count() == 0
        else:
            back = trace["backward"]["nodes"][t]
            assert grid_row(page, "dh") == [fixed2(v / 10 ** exp(back["dh"])) for v in back["dh"]]
            # the gradient went down every edge below a node it has reached
            parents = [i for i, n in enumerate(trace["nodes"]) if n["children"] and i >= t]
            assert page.locator("svg.tree line.edge.grad").count() == 2 * len(parents)
        if pos < 2 * N - 1:
            page.keyboard.press("ArrowRight")
    root = trace["nodes"][trace["root"]]
    assert f"root: {root['predicted_label']}" in page.text_content("[data-tree-ledger]")


def exp(values: list[float]) -> int:
    """The power of ten stepgrid.js shows a gradient row in."""
    import math

    m = max(abs(v) for v in values)
    return math.floor(math.log10(m)) if m > 0 and (m < 0.01 or m >= 100) else 0


def test_label_changes_the_loss_and_a_link_reproduces_it(page, context, server_url):
    open_page(page, f"{server_url}/?model={TREE}&text={quote(PHRASE)}")
    page.select_option("#label-select", "positive")
    page.wait_for_function(
        "() => document.querySelector('[data-tree-ledger]').textContent.includes('positive”')"
    )
    q = {k: v[0] for k, v in parse_qs(urlsplit(page.url).query).items()}
    assert q["target"] == "positive"
    api = tree_trace(server_url, {"model": TREE, "text": PHRASE, "label": "positive"})
    assert f"= {api['loss']:.4f}" in page.text_content("[data-tree-ledger]")
    page.locator("svg.tree g.tnode[data-id='3']").click()  # select the leaf "not"
    page.keyboard.press("End")
    page.keyboard.press("ArrowLeft")  # backward at node 1
    # the URL follows the player within 200 ms (state.js replaces it at most 5x a second)
    page.wait_for_function("() => location.search === '?' + window.__unrolled.state.toQuery()")
    seen = (page.url, page.text_content(".step-title"), page.input_value("#label-select"))
    other = context.new_page()
    open_page(other, page.url)
    assert (
        other.url,
        other.text_content(".step-title"),
        other.input_value("#label-select"),
    ) == seen
    other.close()


def test_plain_text_reads_right_branching_and_bad_brackets_say_where(page, server_url):
    open_page(page, f"{server_url}/?model={TREE}&text={quote('the movie was not good')}")
    assert "right-branching" in page.text_content(".tree-note")
    page.fill("#text-input", "((the movie) (was")
    page.wait_for_selector("#error-box:not([hidden])")
    assert "never closed" in page.text_content("#error-box")
    page.watch.console_errors = [e for e in page.watch.console_errors if "422" not in e]


def test_tree_embed(page, server_url):
    open_page(page, f"{server_url}/embed?model={TREE}&text={quote(PHRASE)}&t=8&phase=backward")
    assert page.locator("svg.tree").is_visible()
    assert "Tree network" in page.text_content("#embed-title")
    page.keyboard.press("ArrowRight")
    wait_step(page, 7, "backward")


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_tree_screenshots(page, server_url, theme):
    for w, h in [(1024, 768), (1920, 1080)]:
        page.set_viewport_size({"width": w, "height": h})
        open_page(page, f"{server_url}/?model={TREE}&text={quote(PHRASE)}&t=6&theme={theme}")
        shot(page, f"tree-forward-{w}x{h}-{theme}", full_page=True)
        q = f"model={TREE}&text={quote(PHRASE)}&t=5&phase=backward&target=positive&theme={theme}"
        open_page(page, f"{server_url}/?{q}")
        shot(page, f"tree-backward-{w}x{h}-{theme}")
    page.set_viewport_size({"width": 800, "height": 450})
    open_page(page, f"{server_url}/embed?model={TREE}&text={quote(PHRASE)}&t=8&theme={theme}")
    shot(page, f"tree-embed-800x450-{theme}")
