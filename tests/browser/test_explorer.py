"""The explorer page (/): loading, typing, stepping, live typing, themes, views."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, quote, urlsplit

import httpx
import pytest
from pagekit import open_page, shot

pytestmark = pytest.mark.browser


def chips(page) -> list[str]:
    return page.locator("#tokens .chip .chip-text").all_text_contents()


def current_step(page) -> tuple[int, str]:
    label = page.locator("#step-label")
    return int(label.get_attribute("data-t")), label.get_attribute("data-phase")


def wait_query(page, **expected: str) -> None:
    """Wait until the URL says so: player steps reach the URL a moment later (at most 5×/s)."""

    def ok(url: str) -> bool:
        q = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
        return all(q.get(k) == v for k, v in expected.items())

    page.wait_for_url(ok, timeout=5000)


def test_page_loads_cleanly_and_draws_every_view(page, server_url):
    open_page(page, server_url + "/?model=rnn-hello&text=hell")
    assert chips(page) == ["h", "e", "l", "l"]
    assert page.locator("svg.unrolled g.step").count() == 4
    assert page.locator("svg.unrolled").get_by_text("h₋₁ = 0").count() == 1
    assert page.locator("svg.cellgrid g[data-unit]").count() > 0
    page.wait_for_selector("#view-heatmaps .plot .main-svg")  # plotly drew, from the server
    assert page.locator("#view-heatmaps .plot").count() >= 3
    assert any("/vendor/plotly" in u or "plotly" in u for u in page.watch.requests)
    shot(page, "explorer-light-forward")


def test_typing_a_sentence_updates_chips_and_network(page, server_url):
    open_page(page, server_url + "/?model=rnn-hello&text=hell")
    before = page.evaluate("document.body.dataset.traces")
    page.fill("#text-input", "oleh")  # a change in the middle: a fresh trace
    page.wait_for_function(f"() => document.body.dataset.traces !== '{before}'")
    assert chips(page) == ["o", "l", "e", "h"]
    assert page.locator("svg.unrolled g.step text.tok").all_text_contents() == ["o", "l", "e", "h"]
    wait_query(page, text="oleh")


def test_keyboard_steps_move_the_highlighted_cell(page, server_url):
    open_page(page, server_url + "/?model=rnn-hello&text=hell&t=0")
    page.locator("h2", has_text="The unrolled network").click()  # focus away from the text box
    assert current_step(page) == (0, "forward")
    page.keyboard.press("ArrowRight")
    assert current_step(page) == (1, "forward")
    assert page.locator("svg.unrolled g.step.current").get_attribute("data-t") == "1"
    assert page.locator("#tokens .chip.current .chip-text").text_content() == "e"
    page.keyboard.press("ArrowLeft")
    assert current_step(page) == (0, "forward")
    page.keyboard.press("End")  # the last position is the backward pass at t = 0
    assert current_step(page) == (0, "backward")
    assert page.locator("svg.unrolled g.step.grad-on").count() == 4
    page.keyboard.press("ArrowLeft")
    assert current_step(page) == (1, "backward")
    page.keyboard.press("Home")
    assert current_step(page) == (0, "forward")
    wait_query(page, t="0", phase="forward")
    # Keys typed into the sentence box edit the text, not the player.
    page.click("#text-input")
    page.keyboard.press("ArrowRight")
    assert current_step(page) == (0, "forward")


def test_play_runs_and_pause_stops_the_loop(page, server_url):
    # 4 steps per second: the 14 positions of "twinkle" (forward then backward) take 3.5 s.
    open_page(page, server_url + "/?model=lstm-rhymes&text=twinkle&speed=4")
    page.locator("h2", has_text="The unrolled network").click()
    page.keyboard.press("Space")
    assert page.locator("body").get_attribute("data-playing") == "1"
    page.wait_for_function(
        "() => Number(document.querySelector('#step-label').dataset.t) >= 2", timeout=10000
    )
    page.keyboard.press("Space")
    assert page.locator("body").get_attribute("data-playing") == "0"
    t_paused = current_step(page)
    page.wait_for_timeout(500)
    assert current_step(page) == t_paused  # no stale animation loop keeps stepping
    assert page.locator("#btn-play").text_content().strip().endswith("Play")
    # Play runs to the end of the backward pass by itself, then stops.
    page.click("#btn-play")
    page.wait_for_function("() => document.body.dataset.playing === '0'", timeout=10000)
    assert current_step(page) == (0, "backward")


def test_live_typing_feeds_steps_without_a_new_trace(page, server_url, trio):
    model = trio["lstm"]
    open_page(page, f"{server_url}/?model={model}&text=the%20quick")
    traces = page.evaluate("document.body.dataset.traces")
    posts_before = [u for u in page.watch.requests if u.endswith("/api/trace")]
    page.click("#text-input")
    page.keyboard.press("End")
    page.keyboard.type(" br", delay=60)
    page.wait_for_function("() => document.querySelectorAll('#tokens .chip').length === 12")
    assert chips(page)[-3:] == ["␣", "b", "r"]
    feeds = [json.loads(m) for m in page.watch.ws_sent if '"feed"' in m]
    assert [f["text"] for f in feeds] == [" ", "b", "r"]
    assert page.evaluate("document.body.dataset.traces") == traces  # no fresh trace
    assert [u for u in page.watch.requests if u.endswith("/api/trace")] == posts_before
    assert current_step(page) == (11, "forward")
    assert page.locator("svg.unrolled g.step").count() == 12
    wait_query(page, text="the quick br")
    # The backward pass of the typed characters is computed when the student goes there.
    page.locator("h2", has_text="The unrolled network").click()
    page.keyboard.press("End")
    page.wait_for_function(f"() => document.body.dataset.traces !== '{traces}'")
    page.wait_for_selector("#equations .eq-block >> text=dL/dh")


def test_theme_toggle_switches_light_and_dark(page, server_url):
    open_page(page, server_url + "/?model=lstm-rhymes&text=twinkle%20twinkle&t=5")
    html = page.locator("html")
    page.click("#theme-toggle")  # auto → light
    first = html.get_attribute("data-effective-theme")
    bg1 = page.evaluate("getComputedStyle(document.body).backgroundColor")
    page.click("#theme-toggle")  # light → dark
    second = html.get_attribute("data-effective-theme")
    assert (first, second) == ("light", "dark")
    assert page.evaluate("getComputedStyle(document.body).backgroundColor") != bg1
    wait_query(page, theme=second)
    page.wait_for_selector("#view-heatmaps .plot .main-svg")
    if second == "dark":
        shot(page, "explorer-dark-forward")
    page.reload()
    page.wait_for_selector("body[data-ready='1']")
    assert html.get_attribute("data-effective-theme") == second


def test_dark_backward_screenshot(page, server_url):
    q = "model=lstm-rhymes&text=twinkle%20twinkle&t=6&phase=backward&theme=dark"
    open_page(page, f"{server_url}/?{q}")
    assert page.locator("html").get_attribute("data-effective-theme") == "dark"
    page.wait_for_selector("#equations >> text=dL/dc")
    shot(page, "explorer-dark-backward")


def test_light_backward_gradients(page, server_url):
    q = "model=lstm-rhymes&text=twinkle%20twinkle&t=3&phase=backward&view=gradients&theme=light"
    open_page(page, f"{server_url}/?{q}")
    page.locator("#view-gradients [data-plot='flow']").scroll_into_view_if_needed()
    page.wait_for_selector("#view-gradients [data-plot='flow'] .main-svg")
    page.wait_for_selector("#view-gradients [data-plot='dh-norm'] .main-svg")
    page.evaluate("() => window.scrollTo(0, 0)")
    assert "full BPTT" in page.text_content("#view-gradients .grad-summary")
    shot(page, "explorer-light-backward", full_page=True)


def test_clip_and_truncate_recompute_the_trace(page, server_url):
    open_page(page, server_url + "/?model=lstm-rhymes&text=twinkle%20twinkle&view=gradients")
    page.wait_for_selector("#view-gradients .grad-summary")
    before = page.evaluate("document.body.dataset.traces")
    page.fill("#truncate-input", "2")
    page.dispatch_event("#truncate-input", "change")
    page.wait_for_function(f"() => document.body.dataset.traces !== '{before}'")
    page.wait_for_selector("#view-gradients .grad-summary >> text=truncated BPTT: k = 2")
    wait_query(page, truncate="2")
    page.fill("#clip-input", "0.001")
    page.dispatch_event("#clip-input", "change")
    page.wait_for_selector("#view-gradients .grad-summary >> text=clipped")
    wait_query(page, clip="0.001")


def test_chip_shows_one_hot_and_info_button_explains(page, server_url):
    open_page(page, server_url + "/?model=rnn-hello&text=hell")
    page.locator("#tokens .chip").nth(1).click()
    onehot = page.locator("#onehot")
    assert onehot.is_visible()
    bits = onehot.locator(".bit").all_text_contents()
    assert len(bits) == 4 and bits.count("1") == 1
    page.click("button[data-explain='unrolled']")
    assert page.locator("#info-panel").is_visible()
    assert "W_hh" in page.text_content("#info-body")
    page.click("#info-close")
    assert not page.locator("#info-panel").is_visible()


def test_compare_runs_the_sentence_through_three_cells(page, server_url, trio):
    open_page(page, f"{server_url}/?model={trio['lstm']}&text={quote('the lazy dog')}&view=compare")
    for kind in ("rnn", "lstm", "gru"):
        page.wait_for_selector(f"#view-compare [data-cell='{kind}'] .main-svg", timeout=15000)
        assert page.locator(f"#view-compare [data-cell='{kind}'] .compare-pred .chip").count() >= 1


def test_check_gradient_compares_with_a_finite_difference(page, server_url):
    open_page(page, server_url + "/?model=lstm-rhymes&text=twinkle&t=2&phase=backward&unit=3")
    page.click("#equations button[data-quantity='c']")
    out = page.locator("#equations .gradcheck-out")
    page.wait_for_selector("#equations .gradcheck-out[data-ok]")
    assert out.get_attribute("data-ok") == "1"
    text = out.text_content()
    assert text.startswith("dL/dc[t=2, unit=3]") and "finite difference" in text


def test_gradient_flow_is_fetched_when_its_view_opens(page, server_url):
    """Traces skip the costly T×T matrix until the student opens the Gradients view."""
    open_page(page, f"{server_url}/?model=rnn-rhymes&text=little%20star&view=heatmaps")
    assert page.evaluate("() => window.__unrolled.controller.trace.grad_flow") is None
    page.click("button[data-view='gradients']")
    page.locator("#view-gradients [data-plot='flow']").scroll_into_view_if_needed()
    page.wait_for_selector("#view-gradients [data-plot='flow'] .main-svg")
    flow = page.evaluate("() => window.__unrolled.controller.trace.grad_flow")
    assert len(flow) == len("little star") and len(flow[0]) == len("little star")


def test_streamed_trace_is_binary_and_exactly_the_posted_one(page, server_url):
    """The page asks /ws for binary frames (float64 as its 8 bytes): what it decodes is, number
    for number, what POST /api/trace answers in JSON."""
    kinds = []
    page.on(
        "websocket",
        lambda ws: ws.on("framereceived", lambda payload: kinds.append(type(payload).__name__)),
    )
    open_page(page, f"{server_url}/?model=lstm-rhymes&text={quote('twinkle, little star')}")
    shown = page.evaluate("() => window.__unrolled.controller.trace")
    body = {"model": "lstm-rhymes", "text": "twinkle, little star", "top_k": 5, "flow": False}
    posted = httpx.post(server_url + "/api/trace", json=body).json()
    assert "bytes" in kinds  # the trace came as binary messages
    assert len(shown["steps"]) == len(posted["steps"]) == len("twinkle, little star")
    assert shown["steps"] == posted["steps"]
    assert shown["backward"] == posted["backward"]
    assert shown["grad_norms"] == posted["grad_norms"] and shown["loss"] == posted["loss"]
