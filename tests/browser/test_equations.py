"""The equations panel writes the model's own equations: ReLU for a ReLU RNN, the layer below's
h as the input of a stacked layer, t+1 as the previous step of a reverse direction. The ✓ at
the end of a line means the numbers shown, put through that equation, give the engine's value."""

from __future__ import annotations

import pytest
from pagekit import open_page, shot

pytestmark = pytest.mark.browser


def lines(page) -> list[str]:
    return [t.strip() for t in page.locator("#equations .eq").all_text_contents()]


def line(page, lhs: str) -> str:
    found = [t for t in lines(page) if t.startswith(lhs + " =")]
    assert found, f"no line for {lhs}: {lines(page)}"
    return found[0]


def test_a_relu_rnn_shows_relu_and_its_derivative(page, server_url):
    open_page(page, f"{server_url}/?model=relu-rnn&text=hello&t=2&unit=1")
    h = line(page, "h₂")
    assert "ReLU(a₂) = max(0, a₂)" in h and "tanh" not in h and h.endswith("✓")
    page.locator("svg.cellgrid text.row-label", has_text="h").first.hover()
    assert "ReLU" in page.locator("svg.cellgrid text.row-label title").nth(1).text_content()
    page.click("#btn-last")  # backward phase, t = 0
    page.fill("#text-input", "hello")
    for _ in range(2):
        page.click("#btn-back")  # backward runs right to left: t = 2
    page.wait_for_selector("#equations >> text=dL/da₂")
    da = line(page, "dL/da₂")
    assert "[a₂ > 0]" in da and "1−h" not in da and da.endswith("✓")
    shot(page, "equations-relu")


def test_a_tanh_rnn_still_shows_tanh(page, server_url):
    open_page(page, f"{server_url}/?model=rnn-hello&text=hell&t=2")
    assert "tanh(a₂)" in line(page, "h₂") and "ReLU" not in page.text_content("#equations")


def test_a_stacked_layer_reads_the_layer_below(page, server_url):
    open_page(page, f"{server_url}/?model=deep-gru&text=hello&t=2")
    assert page.locator("#layer-field").is_visible()
    assert page.locator("#layer-select option:checked").text_content() == "layer 1 (top)"
    r = line(page, "r₂")
    assert "W_ir h⁽⁰⁾₂" in r and "x₂" not in r and "h₁" in r
    assert "hidden state of layer 0 below" in page.text_content("#equations .eq-note")
    assert line(page, "h₂").endswith("✓")
    page.select_option("#layer-select", label="layer 0")
    page.wait_for_url(lambda u: "layer=0" in u)
    page.wait_for_function("() => window.__unrolled.controller.trace.layer === 0")
    assert "W_ir x₂" in line(page, "r₂")
    assert line(page, "h₂").endswith("✓")


def test_a_reverse_direction_takes_its_state_from_t_plus_1(page, server_url):
    open_page(page, f"{server_url}/?model=deep-bi-lstm&text=hello&t=2&unit=3")
    names = page.locator("#layer-select option").all_text_contents()
    assert "layer 1 (top) ← reverse" in names and "layer 0 → forward" in names
    page.select_option("#layer-select", label="layer 1 (top) ← reverse")
    page.wait_for_url(lambda u: "direction=1" in u)
    page.wait_for_function("() => window.__unrolled.controller.trace.direction === 1")
    assert "W·[[h→⁽⁰⁾₂; h←⁽⁰⁾₂], h₃] + b" in line(page, "i₂")  # both directions below
    c = line(page, "c₂")
    assert "f₂⊙c₃" in c and c.endswith("✓")  # c₃'s number, as the engine used it
    assert "right to left" in page.text_content("#equations .eq-note")
    # A reverse direction computes from the right: its first step is t = 4, from the zero state
    # h₅; its BPTT runs from t = 0 up, so the player's last position is t = 4 again.
    page.click("#btn-last")
    page.wait_for_selector("#equations >> text=dL/dh₄")
    page.click("#btn-first")
    assert page.get_attribute("#step-label", "data-t") == "4"
    assert "h₅" in line(page, "i₄") and line(page, "c₄").endswith("✓")
    # Backward: the gradient arrives from step t−1, where the reverse state goes next.
    page.click("#btn-last")
    for _ in range(2):
        page.click("#btn-back")
    page.wait_for_selector("#equations >> text=dL/dh₂")
    assert "from step 1 through W_hh" in line(page, "dL/dh₂")
    assert "from c₁" in line(page, "dL/dc₂")
    page.click("#equations button[data-quantity='c']")
    page.wait_for_selector("#equations .gradcheck-out[data-ok]")
    assert page.get_attribute("#equations .gradcheck-out", "data-ok") == "1"
    shot(page, "equations-reverse")


def test_a_plain_model_has_no_layer_menu(page, server_url):
    open_page(page, f"{server_url}/?model=lstm-rhymes&text=twinkle")
    assert not page.locator("#layer-field").is_visible()
    assert page.locator("#equations .eq-note").count() == 0


def test_the_network_says_a_reverse_direction_flows_right_to_left(page, server_url):
    open_page(page, f"{server_url}/?model=deep-bi-lstm&text=hello&layer=1&direction=1")
    assert "flows right to left" in page.text_content("svg.unrolled")
    page.select_option("#layer-select", label="layer 1 (top) → forward")
    page.wait_for_function("() => window.__unrolled.controller.trace.direction === 0")
    assert "right to left" not in page.text_content("svg.unrolled")
