"""The stack's other rows, wires and joins painted on one canvas (views/unrolled_canvas.js): few
SVG nodes for a long stack, the canvas following the player (a row still to compute is an
empty dashed box, a computed one is filled), the tooltip and the click of a compact cell, the
theme, and the SVG export carrying the canvas as an image."""

from pagekit import open_page

TEXT = "hello"
LONG = ("hello world " * 9)[:100].replace(" ", "%20")

PIXEL = """([l, d, t]) => {
  const cv = window.__unrolled.unrolled.stack.canvas;
  const c = cv.cells.find((c) => c.l === l && c.d === d && c.s === t);
  const mini = c.shapes.find((s) => s.cls === "mini").box;
  const x = Math.round((mini[0] + mini[2] / 2) * cv.scale);
  const y = Math.round((mini[1] + mini[3] / 2) * cv.scale);
  return [...cv.canvas.getContext("2d").getImageData(x, y, 1, 1).data];
}"""


def centre(page, layer: int, direction: int, t: int) -> tuple[float, float]:
    page.locator("canvas.unrolled-stack").scroll_into_view_if_needed()
    return tuple(
        page.evaluate(
            """([l, d, t]) => {
            const cv = window.__unrolled.unrolled.stack.canvas;
            const c = cv.cells.find((c) => c.l === l && c.d === d && c.s === t);
            const box = cv.canvas.getBoundingClientRect();
            const m = c.shapes.find((s) => s.cls === "mini").box;
            return [box.left + m[0] + m[2] / 2, box.top + m[1] + m[3] / 2];
        }""",
            [layer, direction, t],
        )
    )


def test_a_long_stack_is_few_svg_nodes_and_every_cell_is_on_the_canvas(page, server_url):
    open_page(page, f"{server_url}/?model=stack3-bi-lstm&text={LONG}")
    T = page.evaluate("window.__unrolled.controller.trace.steps.length")
    assert T == 100
    nodes = page.evaluate("document.querySelectorAll('svg.unrolled *').length")
    assert nodes < 2500, nodes  # the SVG was ~9,500 nodes with the other rows in it
    cells = page.evaluate(
        """() => { const cv = window.__unrolled.unrolled.stack.canvas;
        return { compact: cv.shapes('mini').length, joins: cv.shapes('join-box').length,
                 wires: cv.shapes('io').length }; }"""
    )
    assert cells["compact"] == 5 * T  # every row but the shown one
    assert cells["joins"] == 3 * T  # one per bidirectional layer and step
    assert cells["wires"] >= 6 * T  # each row's wires, the shown row's too


def test_the_canvas_follows_the_player_and_the_theme(page, server_url):
    open_page(page, f"{server_url}/?model=deep-bi-lstm&text={TEXT}&t=0")
    # shown: layer 1 →, at its first step: layer 0 is computed, layer 1 ← is still to come
    done, future = page.evaluate(PIXEL, [0, 0, 2]), page.evaluate(PIXEL, [1, 1, 2])
    assert future[:3] == [255, 255, 255]  # an empty box (the light theme's --cell)
    assert done[:3] != [255, 255, 255] and done[3] == 255  # filled by ‖h‖
    page.locator("h2", has_text="The unrolled network").click()
    page.keyboard.press("End")  # the backward pass: layer 1 ← is computed (and sends gradient)
    page.wait_for_function("() => window.__unrolled.state.phase === 'backward'")
    page.wait_for_function(f"() => ({PIXEL})([1, 1, 2])[1] !== 255")
    assert page.evaluate(PIXEL, [1, 1, 2])[:3] != [255, 255, 255]
    page.keyboard.press("Home")
    page.wait_for_function(f"() => ({PIXEL})([1, 1, 2]).slice(0, 3).join() === '255,255,255'")
    page.click("#theme-toggle")  # auto -> light
    page.click("#theme-toggle")  # light -> dark: the empty box takes the dark --cell
    page.wait_for_function(f"() => ({PIXEL})([1, 1, 2]).slice(0, 3).join() === '35,42,51'")


def test_a_compact_cell_has_its_tooltip_and_a_click_shows_its_row(page, server_url):
    open_page(page, f"{server_url}/?model=deep-bi-lstm&text={TEXT}&phase=backward&t=4")
    tr = page.evaluate("window.__unrolled.controller.trace")
    # layer 0: its BPTT comes after the shown row's (layer 1 →): no gradient arrow yet
    page.mouse.move(*centre(page, 0, 0, 2))
    tip = page.get_attribute("#unrolled", "title")
    norm = tr["overview"]["h_norm"][0][0][2]
    assert tip.startswith("layer 0 → forward, step 2: ‖h_2‖ = ")
    assert f"‖h_2‖ = {norm:.3f}" in tip and "click to show this row" in tip
    assert "through W_hh" not in tip
    # layer 1 ←: its gradient is in, the tooltip names its arrow into step 3 (its previous step)
    page.mouse.move(*centre(page, 1, 1, 2))
    tip = page.get_attribute("#unrolled", "title")
    back = tr["overview_backward"]["dh_next_norm"][1][1][3]
    assert tip.startswith("layer 1 (top) ← reverse, step 2: ‖h_2‖ = ")
    assert f"‖dL/dh_3‖ from step 2 through W_hh = {back:.4f}" in tip
    assert page.evaluate("getComputedStyle(document.getElementById('unrolled')).cursor") == (
        "pointer"
    )
    page.mouse.click(*centre(page, 1, 1, 2))
    page.wait_for_function(
        "() => { const t = window.__unrolled.controller.trace; return t.layer === 1"
        " && t.direction === 1 && window.__unrolled.state.t === 2; }"
    )
    assert "direction=1" in page.url


def test_the_svg_export_carries_the_canvas(page, server_url):
    open_page(page, f"{server_url}/?model=deep-bi-lstm&text={TEXT}")
    text = page.evaluate("window.__unrolled.images.svgOf('unrolled')")
    assert 'data-raster="unrolled-stack-canvas"' in text
    start = text.index('data-raster="unrolled-stack-canvas"')
    tag = text[text.rindex("<image", 0, start) : text.index(">", start)]
    assert 'href="data:image/png;base64,' in tag and "hidden" not in tag
