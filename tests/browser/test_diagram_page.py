"""The cell diagram (static/js/views/diagram.js): the numbers on its wires are the trace's.

For an LSTM, a GRU, a tanh and a ReLU RNN and a peephole LSTM (untrained, seeded in conftest's
SHAPED_MODELS), at a chosen step and unit, forward and backward: every badge's value is the
trace's number (or the product diagram_values.js forms, computed here again with NumPy), its text
is that number as the page formats it, and each product the page forms agrees with the
engine's own gradients (δf·f(1−f) is the trace's dL/da_f, …). Also: the previous state of the
reverse direction and the input of a layer above the first, the keyboard unit control, the embed
view, reduced motion; screenshots at 1024×768 and 1920×1080.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, localcontext

import numpy as np
import pytest
from pagekit import open_page, shot

TEXT = "hello"

BADGES = """els => els.filter(e => e.style.display !== 'none').map(e => ({
  wire: e.dataset.wire, value: e.dataset.value, phase: e.dataset.phase,
  name: e.querySelector('.b-name').textContent, text: e.querySelector('.b-value').textContent,
  factor: e.querySelector('.b-factor').textContent }))"""


def js_fixed(x: float, digits: int) -> str:
    """Number.prototype.toFixed: the exact binary value, ties away from zero."""
    q = Decimal(abs(x)).quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP)
    return ("-" if x < 0 and q != 0 else "") + f"{q:.{digits}f}"


def js_exponential(x: float, digits: int) -> str:
    """Number.prototype.toExponential(digits)."""
    with localcontext() as ctx:
        ctx.prec = 2000
        d = Decimal(abs(x))
        e = d.adjusted()
        m = d.scaleb(-e).quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP)
        if m >= 10:
            m, e = (m / 10).quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP), e + 1
    return ("-" if x < 0 else "") + f"{m:.{digits}f}e{'+' if e >= 0 else '-'}{abs(e)}"


def fmt(v, digits: int = 3) -> str:
    """static/js/dom.js fmt()."""
    if v is None:
        return "–"
    a = abs(v)
    s = js_exponential(v, 2) if a != 0 and (a < 1e-3 or a >= 1e4) else js_fixed(v, digits)
    return s.replace("-", "−", 1)


def open_diagram(page, server_url, model, t, unit, phase="forward", extra="", path="/"):
    url = (
        f"{server_url}{path}?model={model}&text={TEXT}&t={t}&phase={phase}&view=diagram"
        f"&unit={unit}{extra}"
    )
    open_page(page, url)
    if phase == "backward":
        page.wait_for_function(
            "() => { const tr = window.__unrolled.controller.trace;"
            " return tr && tr.backward && tr.backward.length === tr.steps.length; }"
        )
    page.wait_for_function(
        f"() => document.querySelector('.diagram .badge[data-phase=\"{phase}\"]') !== null"
    )
    return page.evaluate("() => window.__unrolled.controller.trace")


def show_diagram(page):
    """Scroll the diagram's panel to just under the sticky top bar and player."""
    page.evaluate(
        "() => document.getElementById('view-diagram').closest('.panel')"
        ".scrollIntoView({block: 'start'})"
    )


def badges(page, root="#view-diagram") -> dict[str, dict]:
    return {b["wire"]: b for b in page.eval_on_selector_all(f"{root} .badge", BADGES)}


def vec(v):
    return np.array([np.nan if x is None else x for x in v], dtype=float)


def previous(tr, t):
    """The state the step read: steps[t-1] (reverse direction: t+1), state0 past the end."""
    p = t - 1 if tr["direction"] == 0 else t + 1
    if 0 <= p < len(tr["steps"]):
        return tr["steps"][p]
    return tr["state0"]


def next_back(tr, t):
    n = t + 1 if tr["direction"] == 0 else t - 1
    if 0 <= n < len(tr["steps"]):
        return tr["backward"][n]
    H = tr["hidden_size"]
    return {"dh_prev": [0.0] * H, "dc_prev": [0.0] * H}


def expected(tr, t, phase) -> dict[str, np.ndarray]:
    """Every wire's vector, from the trace alone (diagram_values.js, written again)."""
    S, P = tr["steps"][t], previous(tr, t)
    g = {k: vec(v) for k, v in S["gates"].items()}
    h, hp = vec(S["h"]), vec(P["h"])
    if phase == "forward":
        out = {"h_prev": hp, "h": h, "h_out": h, "h_up": h}
        if tr["cell"] == "lstm":
            c, cp = vec(S["c"]), vec(P["c"])
            out.update(
                c_prev=cp, c=c, c_out=c, tanh_c=np.tanh(c), fc=g["f"] * cp, ig=g["i"] * g["g"]
            )
            out.update({k: g[k] for k in "ifgo"})
        elif tr["cell"] == "gru":
            m = vec(S["m"])
            out.update(r=g["r"], z=g["z"], n=g["n"], m=m, rm=g["r"] * m, omz=1 - g["z"])
            out.update(zh=g["z"] * hp, zn=(1 - g["z"]) * g["n"])
        else:
            out["a"] = vec(S["pre"])
        return out
    B, N = tr["backward"][t], next_back(tr, t)
    dh = vec(B["dh"])
    da = {k: vec(v) for k, v in B["dgates"].items()}
    out = {
        "h_out": vec(N["dh_prev"]),
        "h_up": vec(B["dh_in"]),
        "h": dh,
        "h_prev": vec(B["dh_prev"]),
    }
    if tr["cell"] == "lstm":
        c, cp, dc = vec(S["c"]), vec(P["c"]), vec(B["dc"])
        tc = np.tanh(c)
        out.update(c=dc, c_out=vec(N["dc_prev"]), c_prev=vec(B["dc_prev"]), fc=dc, ig=dc)
        out.update(o=dh * tc, tanh_c=dh * g["o"], c_tanh=dh * g["o"] * (1 - tc**2))
        out.update(f=dc * cp, i=dc * g["g"], g=dc * g["i"])
        out.update({f"a_{k}": da[k] for k in "ifgo"})
    elif tr["cell"] == "gru":
        m = vec(S["m"])
        out.update(zh=dh, zn=dh, z=dh * (hp - g["n"]), omz=dh * g["n"], n=dh * (1 - g["z"]))
        out.update(a_n=da["n"], rm=da["n"], r=da["n"] * m, m=da["n"] * g["r"])
        out.update(a_r=da["r"], a_z=da["z"])
    else:
        out["a"] = da["pre"]
    return out


def check_wires(page, tr, t, unit, phase):
    """Each badge shows its wire's number at `unit`, formatted as the page formats numbers."""
    shown = badges(page)
    want = expected(tr, t, phase)
    assert set(want) <= set(shown), sorted(set(want) - set(shown))
    for wire, v in want.items():
        b = shown[wire]
        assert b["phase"] == phase
        x = float(b["value"])
        assert x == pytest.approx(v[unit], rel=1e-12, abs=1e-15), (wire, x, v[unit])
        assert b["text"] == fmt(x), (wire, b["text"], x)
    return shown


def check_engine_agrees(tr, t, unit, phase, shown):
    """The products the page forms are the engine's: they recombine into the trace's numbers."""
    S = tr["steps"][t]
    g = {k: v[unit] for k, v in S["gates"].items()}
    val = {w: float(b["value"]) for w, b in shown.items() if w != "x"}
    close = lambda a, b: a == pytest.approx(b, rel=1e-9, abs=1e-13)  # noqa: E731
    if phase == "forward":
        if tr["cell"] == "lstm":
            assert close(val["fc"] + val["ig"], S["c"][unit])  # c = f ⊙ c_{t-1} + i ⊙ g
            assert close(val["o"] * val["tanh_c"], S["h"][unit])  # h = o ⊙ tanh c
        if tr["cell"] == "gru":
            assert close(val["zh"] + val["zn"], S["h"][unit])  # h = z ⊙ h_{t-1} + (1 - z) ⊙ n
        return
    B = tr["backward"][t]
    da = {k: v[unit] for k, v in B["dgates"].items()}
    assert close(val["h_out"] + val["h_up"], B["dh"][unit])  # δh = from t+1 + from outside
    if tr["cell"] == "lstm":
        assert close(val["f"] * g["f"] * (1 - g["f"]), da["f"])
        assert close(val["i"] * g["i"] * (1 - g["i"]), da["i"])
        assert close(val["g"] * (1 - g["g"] ** 2), da["g"])
        assert close(val["o"] * g["o"] * (1 - g["o"]), da["o"])
        if not tr["peephole"]:  # δc = from t+1 + via h (peepholes add w_co ⊙ δa_o)
            assert close(val["c_out"] + val["c_tanh"], B["dc"][unit])
    if tr["cell"] == "gru":
        assert close(val["n"] * (1 - g["n"] ** 2), da["n"])
        assert close(val["z"] * g["z"] * (1 - g["z"]), da["z"])
        assert close(val["r"] * g["r"] * (1 - g["r"]), da["r"])


CASES = [
    ("plain-lstm", "lstm"),
    ("plain-gru", "gru"),
    ("tanh-rnn", "rnn"),
    ("peephole-lstm", "peephole"),
]


@pytest.mark.parametrize(("model", "name"), CASES)
def test_wires_carry_the_trace_numbers(page, server_url, model, name):
    t, unit = 2, 3
    for phase in ("forward", "backward"):
        tr = open_diagram(page, server_url, model, t, unit, phase)
        shown = check_wires(page, tr, t, unit, phase)
        check_engine_agrees(tr, t, unit, phase, shown)
        x = shown["x"]
        if phase == "forward":
            assert x["value"] == tr["steps"][t]["seen_as"] == "l" and x["text"] == "“l”"
        else:
            assert float(x["value"]) == pytest.approx(tr["backward"][t]["dx_norm"], rel=1e-12)
        title = page.text_content(".diagram-title")
        assert f"t = {t}" in title and f"unit {unit}" in title
        for vw, vh in ((1024, 768), (1920, 1080)):
            page.set_viewport_size({"width": vw, "height": vh})
            show_diagram(page)
            suffix = "" if phase == "forward" else "-backward"
            shot(page, f"diagram-{name}{suffix}-{vw}")
            if vw == 1024:  # the whole diagram is on the projector's screen, not cut off
                box = page.locator("svg.diagram").bounding_box()
                assert box["height"] <= vh - 150 and box["width"] >= 700
                assert box["y"] >= 100 and box["y"] + box["height"] <= vh  # all of it on screen
                size = page.eval_on_selector(
                    ".diagram .b-value",
                    "e => parseFloat(getComputedStyle(e).fontSize) * e.getScreenCTM().a",
                )
                assert size >= 17  # px on screen, for the back of the room
        page.set_viewport_size({"width": 1280, "height": 720})


def test_variants_draw_what_they_compute(page, server_url):
    tr = open_diagram(page, server_url, "peephole-lstm", 1, 0, "backward")
    assert tr["peephole"] is True
    assert page.locator(".diagram [data-wire-path='p_i']").count() == 1
    labels = page.eval_on_selector_all(".diagram .peep-label", "els => els.map(e => e.textContent)")
    assert sorted(labels) == ["× w_cf", "× w_ci", "× w_co"]
    assert "peepholes" in badges(page)["c_prev"]["factor"]
    tr = open_diagram(page, server_url, "plain-lstm", 1, 0)
    assert page.locator(".diagram [data-wire-path='p_i']").count() == 0
    tr = open_diagram(page, server_url, "relu-rnn", 2, 1, "backward")
    assert tr["nonlinearity"] == "relu"
    assert "ReLU" in page.text_content(".diagram .box")
    b = check_wires(page, tr, 2, 1, "backward")
    assert b["a"]["factor"] == "× [aₜ > 0]"
    shot(page, "diagram-relu-rnn-backward")
    # t = 0 reads the initial state (zeros) and gets nothing from a step before
    tr = open_diagram(page, server_url, "plain-gru", 0, 2)
    assert float(badges(page)["h_prev"]["value"]) == 0.0
    check_wires(page, tr, 0, 2, "forward")


def test_layer_above_and_reverse_direction(page, server_url):
    t, unit = 1, 4
    for phase in ("forward", "backward"):
        extra = "&layer=1&direction=1"
        tr = open_diagram(page, server_url, "deep-bi-lstm", t, unit, phase, extra)
        assert (tr["layer"], tr["direction"]) == (1, 1)
        shown = check_wires(page, tr, t, unit, phase)
        assert shown["h_prev"]["name"] == ("hₜ₊₁" if phase == "forward" else "δhₜ₊₁")
        np.testing.assert_allclose(
            float(shown["h_prev"]["value"]),
            previous(tr, t)["h"][unit]
            if phase == "forward"
            else tr["backward"][t]["dh_prev"][unit],
        )
        x = shown["x"]
        assert "h⁽⁰⁾ₜ" in x["name"] and "x" not in x["name"].replace("‖", "")
        if phase == "forward":
            assert float(x["value"]) == pytest.approx(np.linalg.norm(tr["steps"][t]["x"]))
        title = page.text_content(".diagram-title")
        assert "layer 1" in title and "reverse" in title
    shot(page, "diagram-deep-bi-lstm-layer1-reverse-backward")


def test_keyboard_selects_the_unit_shared_with_the_cell_view(page, server_url):
    tr = open_diagram(page, server_url, "plain-lstm", 2, 0)
    page.focus(".diagram-unit button[aria-label='Next unit']")
    page.keyboard.press("Enter")
    page.keyboard.press("Enter")
    page.wait_for_function("() => window.__unrolled.state.unit === 2")
    check_wires(page, tr, 2, 2, "forward")
    page.fill(".diagram-unit input", "5")
    page.keyboard.press("Enter")
    page.wait_for_function("() => window.__unrolled.state.unit === 5")
    check_wires(page, tr, 2, 5, "forward")
    assert "unit=5" in page.url
    # the cell view shows the same unit: its selection column sits on unit 5
    x = float(page.get_attribute("#cell-view .unit-col", "x"))
    first = float(page.get_attribute("#cell-view [data-unit='0'] rect", "x"))
    width = float(page.get_attribute("#cell-view [data-unit='0'] rect", "width")) + 1
    assert round((x + 1 - first) / width) == 5
    # a click on a badge's bars picks the unit under the pointer
    box = page.locator(".diagram .badge[data-wire='h'] .spark-base").bounding_box()
    page.mouse.click(box["x"] + box["width"] * (1.5 / 6), box["y"])
    page.wait_for_function("() => window.__unrolled.state.unit === 1")
    # the player's arrow keys move the step and the badges follow
    page.focus("#btn-play")
    page.keyboard.press("ArrowRight")
    page.wait_for_function("() => window.__unrolled.state.t === 3")
    check_wires(page, tr, 3, 1, "forward")


def test_embed_shows_the_diagram(page, server_url):
    page.set_viewport_size({"width": 1280, "height": 720})
    tr = open_diagram(page, server_url, "plain-gru", 2, 1, "backward", path="/embed")
    assert page.is_visible("#view-diagram .diagram") and not page.is_visible("#unrolled")
    check_wires(page, tr, 2, 1, "backward")
    shot(page, "diagram-embed-gru-backward-1280")
    page.set_viewport_size({"width": 800, "height": 450})
    shot(page, "diagram-embed-gru-backward-800")
    box = page.locator("svg.diagram").bounding_box()
    assert box["y"] + box["height"] <= 450 and page.is_visible("#btn-play")


def test_dark_theme_and_reduced_motion(page, server_url):
    page.set_viewport_size({"width": 1024, "height": 768})
    page.emulate_media(reduced_motion="reduce")
    open_diagram(page, server_url, "plain-lstm", 2, 1, "backward", "&theme=dark")
    show_diagram(page)
    shot(page, "diagram-lstm-backward-dark-1024")
    ink = page.eval_on_selector(".diagram .b-value", "e => getComputedStyle(e).fill")
    assert ink in ("rgb(241, 243, 245)",)  # the dark theme's text colour on the dark badges
    page.keyboard.press("ArrowLeft")
    page.wait_for_function("() => window.__unrolled.state.t !== 2")
    assert page.eval_on_selector(".diagram .flow", "e => getComputedStyle(e).display") == "none"
    page.emulate_media(reduced_motion="no-preference")
    page.wait_for_function(
        "() => getComputedStyle(document.querySelector('.diagram .flow')).display !== 'none'"
    )
    page.keyboard.press("ArrowLeft")
    page.wait_for_function(
        "() => document.querySelector('svg.diagram').getAnimations({subtree: true}).length > 0"
    )
