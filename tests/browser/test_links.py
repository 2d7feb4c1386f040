"""Every view is a link: URL round trips, back/forward, copy link/embed, the /embed iframe."""

from __future__ import annotations

from urllib.parse import parse_qs, quote, urlsplit

import pytest
from pagekit import open_page, shot

pytestmark = pytest.mark.browser


def view_of(page) -> dict:
    """What the student sees, read from the DOM (not from the State object)."""
    label = page.locator("#step-label")
    eq = page.text_content("#equations .eq-head") or ""
    return {
        "model": page.input_value("#model-select"),
        "text": page.input_value("#text-input"),
        "t": label.get_attribute("data-t"),
        "phase": label.get_attribute("data-phase"),
        "current_cell": page.locator("svg.unrolled g.step.current").get_attribute("data-t"),
        "unit": eq.split(" at step")[0],
        "tab": page.locator("[role=tab].active").get_attribute("data-view"),
    }


def test_url_round_trip_reproduces_the_view(page, context, server_url):
    q = f"model=lstm-rhymes&text={quote('little star')}&t=4&phase=backward&unit=5&view=gradients"
    open_page(page, f"{server_url}/?{q}")
    seen = view_of(page)
    assert seen == {
        "model": "lstm-rhymes",
        "text": "little star",
        "t": "4",
        "phase": "backward",
        "current_cell": "4",
        "unit": "Unit 5",
        "tab": "gradients",
    }
    # Change the state through the UI; the URL follows; a new tab on that URL shows the same.
    page.click("#btn-back")  # backward pass goes right to left: t = 5
    page.locator("svg.cellgrid g[data-unit='2']").first.click()
    page.click("[role=tab][data-view='heatmaps']")
    q = {k: v[0] for k, v in parse_qs(urlsplit(page.url).query).items()}
    assert (q["t"], q["phase"], q["unit"], q.get("view", "heatmaps")) == (
        "5",
        "backward",
        "2",
        "heatmaps",
    )
    changed = view_of(page)
    other = context.new_page()
    open_page(other, page.url)
    assert view_of(other) == changed
    other.close()


def wait_for_cell(page, kind: str):
    """Wait until the unrolled network shows a model of this cell kind."""
    page.wait_for_function(
        "(k) => document.querySelector('svg.unrolled')?.getAttribute('aria-label')?.startsWith(k)",
        arg=kind,
    )


def test_back_and_forward_restore_earlier_views(page, server_url):
    open_page(page, f"{server_url}/?model=rnn-hello&text=hell")
    page.select_option("#model-select", "lstm-rhymes")
    wait_for_cell(page, "LSTM")
    page.click("[role=tab][data-view='gradients']")
    page.go_back()
    page.wait_for_selector("[role=tab].active[data-view='heatmaps']")
    page.go_back()
    wait_for_cell(page, "RNN")
    assert page.input_value("#model-select") == "rnn-hello"
    page.go_forward()
    wait_for_cell(page, "LSTM")
    assert page.input_value("#model-select") == "lstm-rhymes"


def test_copy_link_and_embed_code(page, server_url):
    open_page(page, f"{server_url}/?model=rnn-hello&text=hell&t=2")
    page.click("#copy-link")
    link = page.get_attribute("#copy-status", "data-copied")
    assert link.startswith(server_url + "/?") and "t=2" in link and "model=rnn-hello" in link
    page.click("#copy-embed")
    code = page.get_attribute("#copy-status", "data-copied")
    assert code.startswith('<iframe src="' + server_url + "/embed?")
    assert 'width="800"' in code and 'height="450"' in code


@pytest.mark.parametrize("size", [(800, 450), (1280, 720)])
def test_embed_works_inside_an_iframe(page, server_url, host_pages, size):
    w, h = size
    page.set_viewport_size({"width": w + 40, "height": h + 40})
    q = f"model=lstm-rhymes&text={quote('twinkle, twinkle')}&t=5&phase=forward&unit=3"
    src = f"{server_url}/embed?{q}"
    # The host page comes from another origin (another local server), as on a course site.
    html = (
        f'<!doctype html><body style="margin:20px"><iframe id="w" src="{src}" '
        f'width="{w}" height="{h}" style="border:0"></iframe></body>'
    )
    host_pages.pages[f"/host-{w}.html"] = html
    page.goto(f"{host_pages.url}/host-{w}.html")
    frame = page.frame_locator("#w")
    frame.locator("body[data-ready='1']").wait_for(timeout=15000)
    assert frame.locator("svg.unrolled g.step").count() == 16
    assert frame.locator("svg.unrolled g.step.current").get_attribute("data-t") == "5"
    assert frame.locator("svg.cellgrid").count() == 1
    # Everything fits: the player bar is inside the iframe's box, and the page does not scroll.
    box = frame.locator(".player").bounding_box()
    assert box["y"] + box["height"] <= 20 + h + 1
    inner = page.frame(url=lambda u: "/embed" in u)
    assert inner.evaluate("document.documentElement.scrollHeight") <= h + 1
    frame.locator("#btn-fwd").click()
    assert frame.locator("#step-label").get_attribute("data-t") == "6"
    href = frame.locator("#open-full").get_attribute("href")
    assert href.startswith("/?") and "t=6" in href
    shot(page, f"embed-{w}x{h}")


def test_embed_code_carries_the_whole_view_and_comes_back_to_it(page, context, server_url):
    q = f"model=lstm-rhymes&text={quote('little star')}&t=4&phase=backward&unit=5&speed=8"
    open_page(page, f"{server_url}/?{q}")
    page.click("[role=tab][data-view='gradients']")
    page.click("#theme-toggle")  # light
    page.click("#copy-embed")
    code = page.get_attribute("#copy-status", "data-copied")
    src = code.split('src="')[1].split('"')[0].replace("&amp;", "&")
    want = {"model": "lstm-rhymes", "text": "little star", "t": "4", "phase": "backward"}
    want |= {"unit": "5", "view": "gradients", "theme": "light", "speed": "8"}
    assert {k: v[0] for k, v in parse_qs(urlsplit(src).query).items()} == want
    embed = context.new_page()
    open_page(embed, src)
    assert embed.locator("svg.unrolled g.step.current").get_attribute("data-t") == "4"
    full = embed.get_attribute("#open-full", "href")
    embed.close()
    back = context.new_page()
    open_page(back, server_url + full)  # "open in Unrolled" from the widget: the same tab
    assert view_of(back) == view_of(page)
    back.close()


def test_copy_link_on_localhost_gives_the_address_students_can_open(page, network_server_url):
    import httpx

    from server.web.network import share_origin

    port = urlsplit(network_server_url).port
    lan = share_origin("0.0.0.0", port)
    if lan is None:
        pytest.skip("this machine has no network address")
    open_page(page, f"{network_server_url}/?model=rnn-hello&text=hell&t=2")
    page.click("#copy-link")
    link = page.get_attribute("#copy-status", "data-copied")
    assert link.startswith(lan + "/?") and "t=2" in link and "model=rnn-hello" in link
    assert lan in page.text_content("#copy-status")  # the teacher sees which address it is
    assert httpx.get(link, timeout=10).status_code == 200  # and a student's browser can open it
    page.click("#copy-embed")
    code = page.get_attribute("#copy-status", "data-copied")
    assert code.startswith(f'<iframe src="{lan}/embed?')
