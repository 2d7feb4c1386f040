"""The unrolled network drawn as it is computed, for every architecture: a row per layer and
direction (clicking a row, its button or the layer menu shows that cell; the URL keeps it), the
reverse rows pointing left with their BPTT from t = 0 up, the join [h→_t ; h←_t], the four
set-ups, Jordan's y_{t-1} → h_t, the peephole terms, and inputs the model did not know."""

import pytest
from pagekit import open_page, shot

TEXT = "hello"


def trace_is(page, layer: int, direction: int):
    page.wait_for_function(
        f"() => {{ const t = window.__unrolled.controller.trace;"
        f" return t && t.layer === {layer} && t.direction === {direction}; }}"
    )


def shown_row(page) -> tuple[int, int]:
    b = page.locator("svg.unrolled .row-button.shown")
    assert b.count() == 1
    return int(b.get_attribute("data-layer")), int(b.get_attribute("data-direction"))


def canvas_cell(page, layer: int, direction: int, t: int) -> tuple[float, float]:
    """The page position of a cell painted on the stack's canvas (a compact cell, or a join with
    direction -1): the centre of its hit box."""
    page.locator("canvas.unrolled-stack").scroll_into_view_if_needed()
    return tuple(
        page.evaluate(
            """([l, d, t]) => {
            const cv = window.__unrolled.unrolled.stack.canvas;
            const c = cv.cells.find((c) => c.l === l && c.d === d && c.s === t);
            const box = cv.canvas.getBoundingClientRect(), [x0, y0, x1, y1] = c.hit;
            return [box.left + (x0 + x1) / 2, box.top + (y0 + y1) / 2];
        }""",
            [layer, direction, t],
        )
    )


def url_has(page, layer: int, direction: int):
    want = [f"layer={layer}"] + ([f"direction={direction}"] if direction else [])
    page.wait_for_function("(w) => w.every((p) => location.search.includes(p))", arg=want)


ROWS = [(0, 0), (0, 1), (1, 1), (1, 0)]


def test_every_row_of_a_two_layer_bidirectional_model_is_selectable_and_linked(
    page, context, server_url
):
    open_page(page, f"{server_url}/?model=deep-bi-lstm&text={TEXT}")
    svg = page.locator("svg.unrolled")
    assert svg.get_attribute("data-rows") == "4"  # 2 layers x 2 directions
    assert shown_row(page) == (1, 0)  # the top layer, forward, by default
    # layer 0 at the bottom: the rows' buttons from the top are 1 ←, 1 →, 0 ←, 0 →
    ys = {
        (
            int(b.get_attribute("data-layer")),
            int(b.get_attribute("data-direction")),
        ): b.bounding_box()["y"]
        for b in page.locator("svg.unrolled .row-button").all()
    }
    assert ys[(1, 1)] < ys[(1, 0)] < ys[(0, 1)] < ys[(0, 0)]
    for layer, direction in ROWS:
        page.click(f"svg.unrolled .row-button[data-layer='{layer}'][data-direction='{direction}']")
        trace_is(page, layer, direction)
        url_has(page, layer, direction)
        assert shown_row(page) == (layer, direction)
        assert page.input_value("#layer-select") == f"{layer}:{direction}"
        # the cell view and the equations follow
        note = page.text_content("#equations .eq-note")
        assert f"Layer {layer} of 0…1" in note
        assert ("reverse direction" in note) == (direction == 1)
        # a copied link opens the same row
        link = page.url
        other = context.new_page()
        open_page(other, link)
        trace_is(other, layer, direction)
        assert shown_row(other) == (layer, direction)
        assert other.input_value("#layer-select") == f"{layer}:{direction}"
        other.close()


def test_the_layer_menu_and_a_click_on_a_cell_choose_the_row_too(page, server_url):
    open_page(page, f"{server_url}/?model=deep-bi-lstm&text={TEXT}")
    for layer, direction in ROWS:
        page.select_option("#layer-select", f"{layer}:{direction}")
        trace_is(page, layer, direction)
        assert shown_row(page) == (layer, direction)
    # a compact cell of another row: that row, at that step
    page.mouse.click(*canvas_cell(page, 1, 1, 3))
    trace_is(page, 1, 1)
    assert page.get_attribute("#step-label", "data-t") == "3"
    assert page.locator("svg.unrolled g.step.current").get_attribute("data-t") == "3"


def test_a_row_is_chosen_with_the_keyboard(page, server_url):
    open_page(page, f"{server_url}/?model=deep-bi-lstm&text={TEXT}")
    page.focus("svg.unrolled .row-button[data-layer='0'][data-direction='1']")
    page.keyboard.press("Enter")
    trace_is(page, 0, 1)
    # focus stays on the chosen row's (new) button, so Tab and Enter can go on
    page.wait_for_function("() => document.activeElement.classList.contains('row-button')")
    assert page.evaluate("document.activeElement.dataset.layer") == "0"
    page.focus("svg.unrolled .row-button[data-layer='1'][data-direction='0']")
    page.keyboard.press(" ")  # Space chooses the row and does not start the player
    trace_is(page, 1, 0)
    assert page.get_attribute("body", "data-playing") == "0"


def test_reverse_rows_point_left_and_their_bptt_runs_from_t0_up(page, server_url):
    open_page(page, f"{server_url}/?model=deep-bi-lstm&text={TEXT}&layer=0&direction=1")
    trace_is(page, 0, 1)
    # the shown row's arrows are SVG, the other rows' are painted on the canvas (its shapes)
    boxes = page.evaluate(
        """() => [...document.querySelectorAll('svg.unrolled line.rec.h')]
        .map((l) => [l.classList.contains('rev'), +l.getAttribute('x1') - +l.getAttribute('x2')])
        .concat(window.__unrolled.unrolled.stack.canvas.shapes('mrec')
          .map((s) => [s.cls.includes('rev'), s.pts[0][0] - s.pts[1][0]]))"""
    )
    rev = [dx for is_rev, dx in boxes if is_rev]
    fwd = [dx for is_rev, dx in boxes if not is_rev]
    assert len(rev) == 2 * 5 and len(fwd) == 2 * 5  # a recurrent arrow per cell of each row
    assert all(dx > 0 for dx in rev) and all(dx < 0 for dx in fwd)  # ← and →
    # the shown reverse row starts on the right, from h_T = 0
    assert page.locator("svg.unrolled .h0").get_by_text("h₅ = 0").count() == 1
    # the forward pass of a reverse cell runs T-1..0, then its BPTT from t = 0 up
    page.click("svg.unrolled .row-button[data-layer='0'][data-direction='1']")  # focus the view
    page.keyboard.press("Home")
    assert page.get_attribute("#step-label", "data-t") == "4"
    order = []
    for _ in range(10):
        order.append(
            (
                page.get_attribute("#step-label", "data-phase"),
                page.get_attribute("#step-label", "data-t"),
            )
        )
        page.keyboard.press("ArrowRight")
    assert order == [("forward", str(t)) for t in (4, 3, 2, 1, 0)] + [
        ("backward", str(t)) for t in range(5)
    ]
    assert "Backward →" in page.text_content("#step-label")
    # at backward t = 1 the reverse row's gradient is in for steps 0 and 1 only
    page.keyboard.press("Home")
    for _ in range(6):
        page.keyboard.press("ArrowRight")
    assert page.get_attribute("#step-label", "data-t") == "1"
    on = page.locator("svg.unrolled g.step.grad-on").evaluate_all(
        "gs => gs.map((g) => g.dataset.t)"
    )
    assert on == ["0", "1"]


def test_the_output_joins_both_directions(page, server_url):
    open_page(page, f"{server_url}/?model=deep-bi-lstm&text={TEXT}")
    joins = page.evaluate("window.__unrolled.unrolled.stack.canvas.shapes('join-box').length")
    assert joins == 2 * 5  # one per layer and step
    labels = page.locator("svg.unrolled .join-label").all_text_contents()
    assert sorted(labels) == ["[h→ₜ;h←ₜ] → layer 1", "[h→ₜ;h←ₜ] → y_t"]
    page.mouse.move(*canvas_cell(page, 1, -1, 2))  # its tooltip
    title = page.get_attribute("#unrolled", "title")
    assert "[h→_2 ; h←_2]" in title and "what the output reads" in title


def test_a_layer_above_reads_the_layer_below_in_the_equations(page, server_url):
    open_page(page, f"{server_url}/?model=deep-gru&text={TEXT}&t=1")
    assert "h⁽⁰⁾₁" in page.text_content("#equations")
    assert "x₁" not in page.text_content("#equations .eq-block")
    page.select_option("#layer-select", "0:0")
    trace_is(page, 0, 0)
    assert "x₁" in page.text_content("#equations .eq-block")


def losses(page) -> dict[int, str]:
    return {
        int(g.get_attribute("data-t")): g.locator("text.loss").text_content()
        for g in page.locator("svg.unrolled g.step").all()
    }


def test_one_to_one_is_a_single_column(page, server_url):
    open_page(page, f"{server_url}/?model=one-to-one-rnn&text=h")
    assert page.locator("svg.unrolled g.step").count() == 1
    assert page.locator("svg.unrolled").get_attribute("data-rows") == "1"
    assert losses(page)[0] != ""
    assert "One-to-one" in page.text_content("svg.unrolled")


def test_one_to_many_reads_one_input_then_zeros_with_an_output_at_every_step(page, server_url):
    open_page(page, f"{server_url}/?model=one-to-many-gru&text=h")
    steps = page.locator("svg.unrolled g.step")
    assert steps.count() == 10
    toks = page.locator("svg.unrolled g.step text.tok").all_text_contents()
    assert toks == ["h"] + ["0"] * 9
    assert page.locator("svg.unrolled text.tok.zero-input").count() == 9
    assert "zero vector" in page.text_content("svg.unrolled g.step[data-t='3'] .input title")
    preds = page.locator("svg.unrolled g.step text.pred").all_text_contents()
    assert all(p != "" for p in preds)  # an output at every step
    assert page.locator("svg.unrolled path.io.out").count() == 10


def test_many_to_one_has_its_loss_and_gradient_at_the_end_only(page, server_url):
    open_page(page, f"{server_url}/?model=many-to-one-lstm&text={TEXT}&phase=backward&t=0")
    got = losses(page)
    assert [t for t, v in got.items() if v] == [4]
    assert page.locator("svg.unrolled path.io.out").count() == 1
    gin = page.locator("svg.unrolled path.gin")
    assert gin.count() == 1  # the gradient enters at the last step alone...
    assert gin.evaluate("p => p.closest('.rowcell').dataset.t") == "4"
    widths = page.locator("svg.unrolled g.step line.grad").evaluate_all(
        "ls => ls.map((l) => +l.getAttribute('stroke-width'))"
    )
    assert all(w > 0 for w in widths[1:])  # ...and flows back through every step
    assert "L = Σ L_t = L₄" in page.text_content("#ledger")


def test_many_to_many_ledger_sums_the_losses(page, server_url):
    open_page(page, f"{server_url}/?model=deep-gru&text={TEXT}&phase=backward&t=4")
    trace = page.evaluate("window.__unrolled.controller.trace")
    ledger = page.text_content("#ledger")
    assert "L = Σ L_t = L₀ + L₁ + L₂ + L₃" in ledger and "(4 losses)" in ledger
    assert f"{trace['loss']:.3f}" in ledger
    assert abs(sum(s["loss"] or 0 for s in trace["steps"]) - trace["loss"]) < 1e-9


def test_jordan_draws_the_previous_output_feeding_the_cell(page, server_url):
    open_page(page, f"{server_url}/?model=jordan-rnn&text={TEXT}&t=2")
    assert page.locator("svg.unrolled path.rec.jordan").count() == 5
    assert "y₁ feeds h₂" in page.text_content(
        "svg.unrolled g.step[data-t='2'] path.rec.jordan title"
    )
    eq = page.text_content("#equations .eq-block")
    assert "[x₂; y₁]" in eq


def test_peephole_equations_show_the_cell_state_feeding_the_gates(page, server_url):
    open_page(page, f"{server_url}/?model=peephole-lstm&text={TEXT}&t=2&unit=1")
    trace = page.evaluate("window.__unrolled.controller.trace")
    w = trace["peepholes"]
    c1 = trace["steps"][1]["c"][1]
    rows = page.locator("#equations .eq").all_text_contents()
    i_row = next(r for r in rows if r.startswith("i₂"))
    o_row = next(r for r in rows if r.startswith("o₂"))
    assert "w_ci⊙c₁" in i_row and "w_co⊙c₂" in o_row
    assert f"{w['w_ci'][1] * c1:.3f}".replace("-", "−") in i_row
    assert any(r.startswith("c₂") and r.endswith("✓") for r in rows)


def test_unknown_tokens_are_dimmed_with_what_the_model_read(page, server_url):
    open_page(page, f"{server_url}/?model=deep-gru&text=hexlo")
    unknown = page.locator("svg.unrolled text.tok.unknown")
    assert unknown.count() == 1 and unknown.text_content() == "x"
    tip = page.text_content("svg.unrolled g.step[data-t='2'] .input title")
    assert "not in the model's vocabulary" in tip and "zero vector" in tip


def test_the_embed_shows_and_switches_rows(page, server_url):
    open_page(page, f"{server_url}/embed?model=deep-bi-lstm&text={TEXT}&layer=0&direction=1")
    trace_is(page, 0, 1)
    assert shown_row(page) == (0, 1)
    page.click("svg.unrolled .row-button[data-layer='1'][data-direction='1']")
    trace_is(page, 1, 1)
    assert "layer=1" in page.get_attribute("#open-full", "href")


SHOTS = {
    "stacked-2x-bi": f"?model=deep-bi-lstm&text={TEXT}&phase=backward&t=2",
    "stacked-gru": f"?model=deep-gru&text={TEXT}&t=3",
    "one-to-one": "?model=one-to-one-rnn&text=h",
    "one-to-many": "?model=one-to-many-gru&text=h&t=4",
    "many-to-one": f"?model=many-to-one-lstm&text={TEXT}&phase=backward&t=2",
    "jordan": f"?model=jordan-rnn&text={TEXT}&t=3",
    "peephole": f"?model=peephole-lstm&text={TEXT}&t=3",
    "stack3-bi-t100": "?model=stack3-bi-lstm&text="
    + ("hello world " * 9)[:100].replace(" ", "%20")
    + "&layer=1&direction=1&phase=backward&t=60",
}


@pytest.mark.parametrize("size", [(1024, 768), (1920, 1080)])
def test_screenshots_of_each_architecture(browser, server_url, size):
    w, h = size
    for theme in ("light", "dark"):
        ctx = browser.new_context(viewport={"width": w, "height": h})
        page = ctx.new_page()
        errors: list[str] = []
        page.on("console", lambda m, errors=errors: m.type == "error" and errors.append(m.text))
        page.on("pageerror", lambda e, errors=errors: errors.append(str(e)))
        for name, query in SHOTS.items():
            if theme == "dark" and name not in ("stacked-2x-bi", "stack3-bi-t100"):
                continue
            open_page(page, f"{server_url}/{query}&theme={theme}")
            page.locator(".unrolled-panel").scroll_into_view_if_needed()
            suffix = "" if theme == "light" else "-dark"
            shot(page.locator(".unrolled-panel"), f"layers-{name}{suffix}-{w}x{h}")
        open_page(
            page, f"{server_url}/embed?model=stack3-bi-lstm&text={TEXT}&layer=0&theme={theme}"
        )
        shot(page, f"layers-embed-stack3{'' if theme == 'light' else '-dark'}-{w}x{h}")
        ctx.close()
        assert errors == []
