"""The network is drawn from a trace's forward half, before its backward half arrives.

The server sends a trace as two binary messages: the forward half (start and forward frames),
then, once BPTT is computed, the backward half. Here the page's WebSocket goes through a route
that holds the backward half back, as a busy classroom server would: the network, its numbers
and the player must be there at once; the backward phase says that BPTT is being computed;
once the backward half is let through, the gradients are drawn (and only then is the page
marked ready)."""

from __future__ import annotations

import json
import re
import struct

import pytest
from pagekit import open_page, shot

pytestmark = pytest.mark.browser

GRAD_WIDTHS = (
    "() => [...document.querySelectorAll('svg.unrolled g.step line.grad')]"
    ".map((l) => Number(l.getAttribute('stroke-width')))"
)


def first_phase(message: bytes) -> str | None:
    """The phase of the first frame of a binary trace message (server/tracing/binary.py)."""
    (n,) = struct.unpack_from("<I", message)
    frames = json.loads(message[4 : 4 + n])
    return frames[0].get("phase") if isinstance(frames, list) and frames else None


class HoldBackward:
    """Routes the page's /ws; while `holding`, backward halves wait in `held`."""

    def __init__(self, page):
        self.page = page
        self.holding = True
        self.held: list[bytes] = []
        self.route = None
        page.route_web_socket(re.compile(r".*/ws$"), self._connect)

    def _connect(self, ws):
        self.route = ws
        server = ws.connect_to_server()  # the page's own messages still go straight through

        def from_server(message):
            if self.holding and isinstance(message, bytes) and first_phase(message) == "backward":
                self.held.append(message)
            else:
                ws.send(message)

        server.on_message(from_server)

    def release(self):
        self.holding = False
        for message in self.held:
            self.route.send(message)
        self.held.clear()


def wait_held(page, hold: HoldBackward, n: int = 1):
    for _ in range(200):
        if len(hold.held) >= n:
            return
        page.wait_for_timeout(50)
    raise AssertionError("the backward half never came")


def test_the_network_is_drawn_and_played_before_its_gradients(page, server_url):
    hold = HoldBackward(page)
    page.set_viewport_size({"width": 1024, "height": 768})  # a projector
    text = "Twinkle, twinkle!"
    page.goto(f"{server_url}/?model=lstm-rhymes&text=Twinkle%2C%20twinkle!")
    page.wait_for_selector("body[data-drawn-ms]", timeout=15000)
    wait_held(page, hold)
    page.wait_for_timeout(300)  # (nothing else is coming)
    assert page.get_attribute("body", "data-ready") is None  # ready means gradients too
    steps = page.locator("svg.unrolled g.step")
    assert steps.count() == len(text)
    trace = page.evaluate(
        "() => { const t = window.__unrolled.controller.trace;"
        " return {pending: t.backwardPending, back: t.backward.length, h: t.steps[3].h}; }"
    )
    assert trace["pending"] and trace["back"] == 0
    # the cell view shows this step's numbers, and the player steps through the forward pass
    page.locator("h2", has_text="The unrolled network").click()
    page.keyboard.press("Home")
    for _ in range(3):
        page.keyboard.press("ArrowRight")
    page.wait_for_function("() => window.__unrolled.state.t === 3")
    assert page.locator("#cell-title").inner_text().startswith("Inside the LSTM cell at t = 3")
    assert "Forward" in page.locator("#ledger").inner_text()

    # the backward phase waits for BPTT, and says so
    page.keyboard.press("End")
    page.wait_for_function("() => document.body.dataset.phase === 'backward'")
    assert "computing BPTT" in page.locator("#ledger").inner_text()
    assert "Computing the backward pass" in page.locator("#equations").inner_text()
    assert set(page.evaluate(GRAD_WIDTHS)) == {0}
    shot(page, "forward-first-bptt-pending-1024")

    hold.release()
    page.wait_for_selector("body[data-ready='1']", timeout=15000)
    shot(page, "forward-first-bptt-arrived-1024")
    t = page.evaluate("() => window.__unrolled.state.t")
    back = page.evaluate(
        f"() => window.__unrolled.controller.trace.backward[{t}].contrib_norms.weight_hh"
    )
    ledger = page.locator("#ledger").inner_text()
    assert ledger.startswith("Backward") and "adds ‖ΔW_hh‖ = " in ledger
    shown = float(ledger.split("adds ‖ΔW_hh‖ = ")[1].split(" ")[0])
    assert shown == pytest.approx(back, rel=2e-3)
    widths = page.evaluate(GRAD_WIDTHS)
    assert len(widths) == len(text) and all(w > 0 for w in widths)
    assert "Computing the backward pass" not in page.locator("#equations").inner_text()
    assert steps.count() == len(text)  # the same network, now with its gradients


def test_a_new_sentence_shows_its_forward_half_while_bptt_runs(page, server_url):
    hold = HoldBackward(page)
    hold.holding = False
    open_page(page, f"{server_url}/?model=lstm-rhymes&text=twinkle")
    hold.holding = True
    text = "How I wonder what you are?"
    page.fill("#text-input", text)
    page.wait_for_function(
        "(text) => window.__unrolled.controller.trace?.tokens.join('') === text",
        arg=text,
        timeout=15000,
    )
    wait_held(page, hold)
    assert page.evaluate("() => window.__unrolled.controller.trace.backwardPending")
    assert page.locator("svg.unrolled g.step").count() == len(text)
    assert set(page.evaluate(GRAD_WIDTHS)) == {0}
    hold.release()
    page.wait_for_function("() => window.__unrolled.controller.trace.backwardPending === false")
    page.wait_for_function(f"() => ({GRAD_WIDTHS})().some((w) => w > 0)")
    page.watch.assert_clean()


DRAWN_GRADIENTS = """() => {
  const cv = window.__unrolled.unrolled.stack.canvas;
  const attr = (sel, name) => [...document.querySelectorAll(sel)].map((e) => e.getAttribute(name));
  return {
    arrows: attr("svg.unrolled g.step line.grad", "stroke-width"),
    bars: attr("svg.unrolled g.step rect.contrib", "height"),
    titles: [...document.querySelectorAll("svg.unrolled g.step line.grad title")]
      .map((e) => e.textContent),
    stack: ["mgrad", "gin"].map((cls) => cv.shapes(cls).map((s) => JSON.stringify(s))),
  };
}"""


def test_a_stacks_gradients_arrive_as_a_whole_drawing_would_show_them(page, server_url):
    url = f"{server_url}/?model=deep-bi-lstm&text=hello%20there&phase=backward&t=10"
    open_page(page, url)  # (the whole trace at once: the backward half was not held)
    whole = page.evaluate(DRAWN_GRADIENTS)
    assert all(float(w) > 0 for w in whole["arrows"]) and whole["stack"][0] and whole["stack"][1]
    hold = HoldBackward(page)
    page.goto(url + "&unit=1")  # (another link: the server's cache answers, the route holds)
    page.wait_for_selector("body[data-drawn-ms]", timeout=15000)
    wait_held(page, hold)
    early = page.evaluate(DRAWN_GRADIENTS)
    assert set(early["arrows"]) == {"0"} and early["stack"] == [[], []]
    assert page.locator("svg.unrolled g.step").count() == len("hello there")
    hold.release()
    page.wait_for_selector("body[data-ready='1']", timeout=15000)
    assert page.evaluate(DRAWN_GRADIENTS) == whole
