"""Truncated BPTT on the page: chunk dividers where the trace puts them, no gradient across a
boundary, the mode in the URL, the sliding window's numbers, and the stacked model's refusal."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from urllib.parse import parse_qs, quote, urlsplit

import pytest
from pagekit import Watch, open_page, shot

pytestmark = pytest.mark.browser

MODEL, TEXT, K = "lstm-rhymes", "twinkle twinkle little star", 5  # 27 steps: 6 chunks of 5
CARRIED = "h carried, gradient stopped (detached)"


def api_trace(server_url: str, **body) -> dict:
    req = urllib.request.Request(
        f"{server_url}/api/trace",
        data=json.dumps({"model": MODEL, "text": TEXT, **body}).encode(),
        headers={"content-type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.loads(resp.read())


def query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def url(server_url: str, **params) -> str:
    q = {"model": MODEL, "text": TEXT, **params}
    return f"{server_url}/?" + "&".join(f"{k}={quote(str(v))}" for k, v in q.items())


def wait_mode(page, mode: str) -> None:
    """Wait until the page holds a trace truncated in `mode`."""
    page.wait_for_function(
        "(mode) => { const t = window.__unrolled.controller.trace;"
        " return !!(t && t.truncation && t.truncation.mode === mode); }",
        arg=mode,
    )


def go_backward(page, t: int) -> None:
    page.evaluate(f"() => window.__unrolled.state.set({{ phase: 'backward', t: {t} }})")
    page.wait_for_selector(f"#step-label[data-phase='backward'][data-t='{t}']")
    page.wait_for_timeout(250)  # the arrows fade in (0.15 s): screenshots show them drawn


def grad_title(page, t: int) -> str:
    return page.text_content(f"svg.unrolled g.step[data-t='{t}'] line.grad title")


def test_dividers_sit_at_the_traces_chunk_boundaries(page, server_url):
    page.set_viewport_size({"width": 1024, "height": 768})
    open_page(page, url(server_url, truncate=K))
    wait_mode(page, "chunked")
    chunks = page.evaluate("window.__unrolled.controller.trace.truncation.chunks")
    assert chunks == api_trace(server_url, truncate=K)["truncation"]["chunks"]
    assert len(chunks) >= 3
    starts = [a for a, _ in chunks if a > 0]

    # One divider per boundary, between the last cell of one chunk and the first of the next.
    dividers = page.locator("svg.unrolled line.chunk-divider")
    assert [int(d.get_attribute("data-boundary")) for d in dividers.all()] == starts
    for s, divider in zip(starts, dividers.all(), strict=True):
        x = divider.bounding_box()["x"]
        left = page.locator(f"g.step[data-t='{s - 1}'] rect.cell-box").bounding_box()
        right = page.locator(f"g.step[data-t='{s}'] rect.cell-box").bounding_box()
        assert left["x"] + left["width"] < x < right["x"]
    labels = page.locator("svg.unrolled text.chunk-label").all_text_contents()
    assert len(labels) == len(chunks)
    assert labels[0] == f"chunk 1: t {chunks[0][0]}–{chunks[0][1] - 1}"

    # The state's arrow into each chunk is drawn as carried; no other arrow is.
    carried = page.locator("svg.unrolled line.rec.h.carried")
    assert [int(c.evaluate("n => n.closest('g.step').dataset.t")) for c in carried.all()] == starts
    assert carried.first.locator("title").text_content() == CARRIED

    # Backward: no gradient arrow crosses a boundary; every other arrow has a width.
    go_backward(page, 0)
    for t in range(page.evaluate("window.__unrolled.controller.trace.steps.length")):
        width = float(page.get_attribute(f"g.step[data-t='{t}'] line.grad", "stroke-width"))
        assert (width == 0) == (t in starts), t
    assert page.locator("svg.unrolled .step.grad-on text.grad-stop").count() == len(starts)
    shot(page, "truncation-chunked-backward-1024")
    page.evaluate("() => window.__unrolled.state.set({ theme: 'dark' })")
    shot(page, "truncation-chunked-backward-dark-1024")

    # The equations say so at the last step of a chunk.
    go_backward(page, starts[0] - 1)
    page.wait_for_selector("#equations >> text=no gradient crosses")

    # What the arrows say is what the trace computed: the last step of a chunk receives only its
    # own loss's gradient (as with k = 1), and no loss reaches back past its chunk's start.
    ours, alone = api_trace(server_url, truncate=K, flow=True), api_trace(server_url, truncate=1)
    for s in starts:
        assert ours["backward"][s - 1]["dh"] == pytest.approx(
            alone["backward"][s - 1]["dh"], rel=1e-9
        )
        assert all(ours["grad_flow"][t][s - 1] == 0 for t in range(s, len(ours["steps"])))


def test_the_url_round_trips_the_mode_and_k(page, server_url):
    open_page(page, url(server_url, truncate=K, tmode="sliding"))
    wait_mode(page, "sliding")
    assert page.input_value("#truncate-input") == str(K)
    assert page.input_value("#truncate-mode") == "sliding"
    assert query(page.url)["tmode"] == "sliding"
    assert '"truncate_mode":"sliding"' in "".join(page.watch.ws_sent).replace(" ", "")

    page.select_option("#truncate-mode", "chunked")
    wait_mode(page, "chunked")
    page.wait_for_url(lambda u: "tmode" not in query(u))  # the default leaves the URL clean
    assert query(page.url)["truncate"] == str(K)
    page.go_back()
    wait_mode(page, "sliding")
    assert page.input_value("#truncate-mode") == "sliding"

    page.fill("#truncate-input", "")  # off: the mode menu has nothing to choose
    page.dispatch_event("#truncate-input", "change")
    page.wait_for_url(lambda u: "truncate" not in query(u))
    assert page.locator("#truncate-mode").is_disabled()
    page.fill("#truncate-input", "3")
    page.dispatch_event("#truncate-input", "change")
    page.wait_for_url(
        lambda u: query(u).get("truncate") == "3" and query(u).get("tmode") == "sliding"
    )
    # The link opens the same view in a fresh tab.
    tab = page.context.new_page()
    watch = Watch(tab, server_url)
    open_page(tab, page.url)
    wait_mode(tab, "sliding")
    assert tab.evaluate("window.__unrolled.controller.trace.truncation.k") == 3
    assert tab.input_value("#truncate-input") == "3"
    assert tab.input_value("#truncate-mode") == "sliding"
    assert (watch.page_errors, watch.console_errors) == ([], [])
    tab.close()


def test_sliding_removes_the_dividers_and_changes_the_numbers(page, server_url):
    open_page(page, url(server_url, truncate=K))
    wait_mode(page, "chunked")
    assert page.locator("svg.unrolled line.chunk-divider").count() > 0
    chunked, sliding = (
        api_trace(server_url, truncate=K),
        api_trace(server_url, truncate=K, truncate_mode="sliding"),
    )
    assert sliding["truncation"] == {"k": K, "mode": "sliding", "chunks": None}
    # A step whose gradient the two rules make clearly different (both shown with 4 decimals).
    t = next(
        s
        for s, (a, b) in enumerate(zip(chunked["backward"], sliding["backward"], strict=True))
        if min(a["dh_norm"], b["dh_norm"]) > 1e-2 and abs(a["dh_norm"] - b["dh_norm"]) > 0.01
    )
    go_backward(page, t)
    shown = grad_title(page, t)
    assert shown == f"‖dL/dh_{t}‖ = {chunked['backward'][t]['dh_norm']:.4f}"

    page.select_option("#truncate-mode", "sliding")
    wait_mode(page, "sliding")
    page.wait_for_selector("svg.unrolled .trunc-window")
    assert page.locator("svg.unrolled line.chunk-divider").count() == 0
    assert page.locator("svg.unrolled line.rec.carried").count() == 0
    assert "reaches k = 5 steps back" in page.text_content("svg.unrolled .trunc-note")
    assert page.get_attribute("#step-label", "data-phase") == "backward"
    now = grad_title(page, t)
    assert now == f"‖dL/dh_{t}‖ = {sliding['backward'][t]['dh_norm']:.4f}"
    assert now != shown
    window = page.locator("svg.unrolled .trunc-window")
    assert (window.get_attribute("data-from"), window.get_attribute("data-to")) == (
        str(max(0, t - K + 1)),
        str(t),
    )
    shot(page, "truncation-sliding-backward")


def test_sliding_on_a_stacked_model_shows_the_servers_sentence(page, server_url):
    page.set_viewport_size({"width": 1024, "height": 768})
    body = {"model": "deep-gru", "text": "hello world", "truncate": 3, "truncate_mode": "sliding"}
    with pytest.raises(urllib.error.HTTPError) as refused:
        api_trace(server_url, **body)
    assert refused.value.code == 422
    sentence = json.loads(refused.value.read())["detail"].split(":", 1)[1].strip()

    open_page(
        page, url(server_url, model="deep-gru", text="hello world", truncate=3, tmode="sliding")
    )
    error = page.locator("#truncate-mode-error")
    error.wait_for(state="visible")
    assert error.text_content() == sentence
    assert page.get_attribute("#truncate-mode", "aria-invalid") == "true"
    assert not page.locator("#error-box").is_visible()  # said once, next to the menu
    b, e = page.locator("#truncate-mode").bounding_box(), error.bounding_box()
    assert abs((b["y"] + b["height"] / 2) - (e["y"] + e["height"] / 2)) < 40
    shot(page, "truncation-stacked-sliding-refused-1024")

    page.select_option("#truncate-mode", "chunked")
    wait_mode(page, "chunked")
    error.wait_for(state="hidden")
    assert page.locator("svg.unrolled line.chunk-divider").count() == 3  # 11 steps, k = 3


def test_the_flow_matrix_outlines_the_chunks(page, server_url):
    open_page(page, url(server_url, truncate=K, view="gradients"))
    wait_mode(page, "chunked")
    flow = page.locator("#view-gradients [data-plot='flow']")
    flow.scroll_into_view_if_needed()
    page.wait_for_selector("#view-gradients [data-plot='flow'] .main-svg")
    chunks = page.evaluate("window.__unrolled.controller.trace.truncation.chunks")
    shapes = flow.evaluate("d => d.layout.shapes.map(s => [s.x0, s.x1, s.y0, s.y1])")
    assert shapes == [[a - 0.5, b - 0.5, a - 0.5, b - 0.5] for a, b in chunks]
    assert f"{len(chunks)} chunks" in page.text_content("#view-gradients .grad-summary")
    flow.screenshot(path=str(shot_path("truncation-flow-chunks")))

    page.select_option("#truncate-mode", "sliding")
    wait_mode(page, "sliding")
    page.wait_for_selector("#view-gradients .grad-summary >> text=sliding window")
    page.wait_for_selector("#view-gradients [data-plot='flow'] .main-svg")
    flow = page.locator("#view-gradients [data-plot='flow']")
    assert flow.evaluate("d => (d.layout.shapes || []).length") == 0


def test_the_explanation_describes_both_modes(page, server_url):
    open_page(page, url(server_url, truncate=K))
    page.click("button[data-explain='clip']")
    body = page.text_content("#info-body")
    assert "chunks of k steps" in body
    assert "carried into the next chunk" in body
    assert "no gradient crosses a chunk boundary" in body
    assert "k steps back" in body


def test_a_wide_screen_shows_every_chunk_label(page, server_url):
    page.set_viewport_size({"width": 1920, "height": 1080})
    open_page(page, url(server_url, truncate=K))
    wait_mode(page, "chunked")
    go_backward(page, 0)
    labels = page.locator("svg.unrolled text.chunk-label").all_text_contents()
    chunks = page.evaluate("window.__unrolled.controller.trace.truncation.chunks")
    assert labels == [f"chunk {j + 1}: t {a}–{b - 1}" for j, (a, b) in enumerate(chunks)]
    shot(page, "truncation-chunked-backward-1920")


def shot_path(name: str):
    from pagekit import SCREENSHOTS

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS / f"{name}.png"
