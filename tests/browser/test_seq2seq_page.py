"""The encoder–decoder page (with and without attention): it plays forward and backward, shows the
engine's numbers, the attention what-if equals POST /api/seq2seq/whatif, links and /embed."""

from __future__ import annotations

import json
import time
import urllib.request
from urllib.parse import parse_qs, quote, urlsplit

import pytest
from pagekit import open_page, shot

pytestmark = pytest.mark.browser

PLAIN, ATTN = "gru-reverse", "gru-reverse-attention"


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


def post(server_url: str, path: str, body: dict) -> dict:
    req = urllib.request.Request(
        f"{server_url}{path}", json.dumps(body).encode(), {"content-type": "application/json"}
    )
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.loads(resp.read())


def fixed2(v: float) -> str:
    """The page's two-decimal form (stepgrid.js)."""
    return f"{0.0 if abs(v) < 0.005 else v:.2f}".replace("-", "−")


def current(page) -> int:
    return int(page.get_attribute("svg.s2s g.node.current", "data-i"))


def grid_row(page, name: str) -> list[str]:
    sel = f"svg.stepgrid g[data-row='{name}'] text.val"
    return page.eval_on_selector_all(sel, "els => els.map((e) => e.textContent)")


def query(page) -> dict:
    return {k: v[0] for k, v in parse_qs(urlsplit(page.url).query).items()}


def play_through(page, trace: dict) -> None:
    """Home, then → over every position: forward over encoder, context, decoder; backward back."""
    S, T = len(trace["encoder"]), len(trace["decoder"])
    L = S + 1 + T
    page.keyboard.press("Home")
    for pos in range(2 * L):
        expect_i = pos if pos < L else 2 * L - 1 - pos
        phase = "forward" if pos < L else "backward"
        page.wait_for_function(
            f"() => document.querySelector('#step-label').dataset.t === '{expect_i}' && "
            f"document.body.dataset.phase === '{phase}'"
        )
        assert current(page) == expect_i
        future = page.locator("svg.s2s g.node.future").count()
        grad = page.locator("svg.s2s g.node.grad-on").count()
        assert (future, grad) == ((L - 1 - pos, 0) if phase == "forward" else (0, L - expect_i))
        if pos < 2 * L - 1:
            page.keyboard.press("ArrowRight")


def test_plain_encoder_decoder_plays_forward_and_backward(page, server_url):
    src = "abcdef"
    open_page(page, f"{server_url}/?model={PLAIN}&text={src}")
    assert page.evaluate("() => document.body.dataset.kind") == "seq2seq"
    assert not page.locator("#unrolled").is_visible()
    assert not page.locator("#view-heatmaps").is_visible()
    trace = post(server_url, "/api/seq2seq/trace", {"model": PLAIN, "source": src, "top_k": 5})
    # The page routed by kind: no sequence trace was asked for, by POST or on the socket.
    assert not [u for u in page.watch.requests if urlsplit(u).path == "/api/trace"]
    assert not [m for m in page.watch.ws_sent if '"type": "trace"' in m or '"type":"trace"' in m]
    assert page.locator("svg.s2s g.node.encoder").count() == len(src)
    assert page.locator("svg.s2s g.node.decoder").count() == len(trace["decoder"])
    assert page.locator("svg.s2s path.arc").count() == 0  # no attention: no lines
    assert f"output “{trace['output']['text']}”" in page.text_content("[data-s2s-ledger]")
    play_through(page, trace)
    # Backward at the context vector: its value and dL/dc are the engine's.
    S = len(src)
    page.keyboard.press("End")  # backward at encoder step 0; ← walks back up to the context
    for _ in range(S):
        page.keyboard.press("ArrowLeft")
    page.wait_for_function(f"() => document.querySelector('#step-label').dataset.t === '{S}'")
    assert grid_row(page, "h") == [fixed2(v) for v in trace["context"]["h"]]
    assert page.locator("svg.stepgrid g[data-row='dh']").count() == len(trace["context"]["h"])


def test_attention_lines_heatmap_and_backward(page, server_url):
    src = "abcdefg"
    S = len(src)
    open_page(page, f"{server_url}/?model={ATTN}&text={src}&t={S + 1 + 2}")
    trace = post(server_url, "/api/seq2seq/trace", {"model": ATTN, "source": src, "top_k": 5})
    T = len(trace["decoder"])
    arcs = page.eval_on_selector_all("svg.s2s path.arc", "els => els.map((e) => +e.dataset.alpha)")
    assert arcs == pytest.approx(trace["decoder"][2]["alpha"], abs=1e-12)
    # the heatmap: T × S boxes, the current decoder row outlined
    assert page.locator("svg.alpha-map g.alpha-cell").count() == T * S
    # the step's ctx and h̃ with the engine's numbers
    assert grid_row(page, "ctx") == [fixed2(v) for v in trace["decoder"][2]["ctx"]]
    assert grid_row(page, "h̃") == [fixed2(v) for v in trace["decoder"][2]["h_tilde"]]
    play_through(page, trace)
    # backward at the context: the gradient reached the encoder through every line at once
    page.keyboard.press("End")
    for _ in range(S):
        page.keyboard.press("ArrowLeft")
    page.wait_for_function(f"() => document.querySelector('#step-label').dataset.t === '{S}'")
    assert page.locator("svg.s2s path.arc.grad.all").count() == S * T
    # backward at decoder step 2: each line as wide as the gradient it carries back, not its α
    for _ in range(3):
        page.keyboard.press("ArrowLeft")
    page.wait_for_function(f"() => document.querySelector('#step-label').dataset.t === '{S + 3}'")
    lines = page.eval_on_selector_all(
        "svg.s2s path.arc.grad",
        "els => els.map((e) => [+e.dataset.grad, +e.getAttribute('stroke-width')])",
    )
    want = trace["backward"]["decoder"][2]["dh_enc_norm"]
    assert [g for g, _ in lines] == pytest.approx(want, rel=1e-12)
    by_width = sorted(range(S), key=lambda s: lines[s][1])
    assert by_width == sorted(range(S), key=lambda s: want[s])  # the widest carries the most
    alpha = trace["decoder"][2]["alpha"]
    assert [w for _, w in lines] != pytest.approx([1 + 11 * a for a in alpha])  # not α's widths
    labels = page.eval_on_selector_all(
        "svg.s2s .alpha-label", "els => els.map((e) => e.textContent)"
    )
    assert all(not label.startswith("α") for label in labels[:S])


def test_whatif_drag_equals_the_engine_and_resets(page, server_url):
    src = "abcdef"
    S = len(src)
    open_page(page, f"{server_url}/?model={ATTN}&text={src}&t={S + 1}")
    assert page.locator(".whatif-banner").is_hidden()
    dec = page.locator("svg.s2s g.node.decoder[data-t='0'] rect.cell-box").bounding_box()
    enc = page.locator("svg.s2s g.node.encoder[data-s='0'] rect.cell-box").bounding_box()
    page.mouse.move(dec["x"] + dec["width"] / 2, dec["y"] + dec["height"] / 2)
    page.mouse.down()
    page.mouse.move(enc["x"] + 10, enc["y"] + 10, steps=8)
    page.mouse.up()
    page.wait_for_selector("[data-whatif-token]")
    assert query(page)["whatif"] == "0:0"
    banner = page.locator(".whatif-banner")
    assert banner.is_visible() and "What-if: attention set by you" in banner.text_content()
    api = post(
        server_url,
        "/api/seq2seq/whatif",
        {"model": ATTN, "source": src, "top_k": 5, "t": 0, "focus": 0},
    )
    line = page.locator("[data-whatif-token]")
    assert line.get_attribute("data-whatif-token") == api["predicted"]["token"]
    assert float(line.get_attribute("data-whatif-p")) == api["predicted"]["p"]
    assert api["changed"] and line.get_attribute("data-whatif-changed") == "1"
    shown = page.text_content("svg.s2s g.node.decoder[data-t='0'] .pred")
    assert shown == api["predicted"]["token"] != api["predicted_model"]["token"]
    assert page.text_content("[data-whatif-continuation]").startswith(
        f"Decoding on from there: {api['continuation']['text']}"
    )
    # the step's ctx′ is the engine's
    assert grid_row(page, "ctx′") == [fixed2(v) for v in api["ctx"]]
    # Sliders: weights half on b, half on c, on step 1
    page.keyboard.press("ArrowRight")
    page.wait_for_function("() => !!document.querySelector('.alpha-editor input[data-s=\"1\"]')")
    page.evaluate(
        """() => { const ins = [...document.querySelectorAll('.alpha-editor input[type=range]')];
        ins.forEach((i, s) => { i.value = s === 1 || s === 2 ? '50' : '0'; });
        ins[1].dispatchEvent(new Event('change', { bubbles: true })); }"""
    )
    page.wait_for_function(
        "() => document.querySelector('[data-whatif-t]')?.dataset.whatifT === '1'"
    )
    alpha = [0, 0.5, 0.5, 0, 0, 0]
    api = post(
        server_url,
        "/api/seq2seq/whatif",
        {"model": ATTN, "source": src, "top_k": 5, "t": 1, "alpha": alpha},
    )
    assert query(page)["whatif"] == "1:0,0.5,0.5,0,0,0"
    line = page.locator("[data-whatif-token]")
    assert line.get_attribute("data-whatif-token") == api["predicted"]["token"]
    assert float(line.get_attribute("data-whatif-p")) == pytest.approx(
        api["predicted"]["p"], abs=1e-12
    )
    page.click(".whatif-reset")
    assert banner.is_hidden()
    assert "whatif" not in query(page)
    model_token = post(server_url, "/api/seq2seq/trace", {"model": ATTN, "source": src})
    assert (
        page.text_content("svg.s2s g.node.decoder[data-t='1'] .pred")
        == (model_token["decoder"][1]["predicted_token"])
    )


def view_of(page) -> dict:
    return {
        "model": page.input_value("#model-select"),
        "source": page.input_value("#text-input"),
        "target": page.input_value("#target-input"),
        "i": current(page),
        "phase": page.get_attribute("#step-label", "data-phase"),
        "title": page.text_content(".step-title"),
        "whatif": page.get_attribute("[data-whatif-token]", "data-whatif-token")
        if page.locator("[data-whatif-token]").count()
        else None,
        "targets": page.eval_on_selector_all(
            "svg.s2s .target", "els => els.map((e) => e.textContent)"
        ),
    }


def test_copied_link_reproduces_teacher_forcing_and_whatif(page, context, server_url):
    src, tgt = "abcd", "dcab"
    open_page(page, f"{server_url}/?model={ATTN}&text={src}&target={tgt}&t=6&phase=backward")
    assert page.locator("svg.s2s .target.miss").count() >= 1  # the wrong target letters are marked
    page.click("svg.alpha-map g.alpha-cell[data-t='2'][data-s='3']")  # a heatmap click: focus
    page.wait_for_selector("[data-whatif-token]")
    page.click("#copy-link")
    page.wait_for_function("() => !!document.querySelector('#copy-status').dataset.copied")
    link = page.get_attribute("#copy-status", "data-copied")
    assert "whatif=2%3A3" in link and "target=dcab" in link
    seen = view_of(page)
    assert seen["target"] == tgt and seen["whatif"] is not None
    other = context.new_page()
    open_page(other, link)
    other.wait_for_selector("[data-whatif-token]")
    assert view_of(other) == seen
    other.close()


def test_embed_shows_the_whatif_and_plays(page, server_url):
    src = "abcde"
    open_page(page, f"{server_url}/embed?model={ATTN}&text={src}&t={len(src) + 1}&whatif=0:0")
    page.wait_for_selector("[data-whatif-token]", state="attached")
    assert page.locator(".whatif-banner").is_visible()
    assert page.locator("svg.s2s").is_visible()
    assert "encoder–decoder" in page.text_content("#embed-title")
    page.keyboard.press("ArrowRight")
    page.wait_for_function(
        f"() => document.querySelector('#step-label').dataset.t === '{len(src) + 2}'"
    )
    assert "whatif=0%3A0" in page.get_attribute("#open-full", "href")


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_screenshots(page, server_url, theme):
    for w, h in [(1024, 768), (1920, 1080)]:
        page.set_viewport_size({"width": w, "height": h})
        for model, extra in [(PLAIN, "&t=12"), (ATTN, "&t=11&whatif=2:0")]:
            q = f"model={model}&text={quote('abcdefgh')}{extra}&theme={theme}"
            open_page(page, f"{server_url}/?{q}")
            if "whatif" in q:
                page.wait_for_selector("[data-whatif-token]")
            shot(page, f"seq2seq-{model}-{w}x{h}-{theme}", full_page=True)
        open_page(
            page, f"{server_url}/?model={ATTN}&text=abcdefgh&t=4&phase=backward&theme={theme}"
        )
        shot(page, f"seq2seq-backward-{w}x{h}-{theme}")
        open_page(  # a decoder step's attention lines in the backward phase
            page, f"{server_url}/?model={ATTN}&text=abcdefgh&t=11&phase=backward&theme={theme}"
        )
        shot(page, f"seq2seq-backward-lines-{w}x{h}-{theme}")
    page.set_viewport_size({"width": 800, "height": 450})
    open_page(page, f"{server_url}/embed?model={ATTN}&text=abcdef&t=9&whatif=2:0&theme={theme}")
    page.wait_for_selector("[data-whatif-token]", state="attached")
    shot(page, f"seq2seq-embed-800x450-{theme}")
