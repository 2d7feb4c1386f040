"""The exported HTML file (server/export/) opened from file:// in Chromium with every network
request refused: it replays both passes, steps with the keyboard, runs no hostile text, and the
command line makes it, and its images, from any directory."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from exportkit import export, offline_pages, position
from pagekit import CHROMIUM, SCREENSHOTS

from server.core.settings import Settings
from server.export.view import export_html, in_process, parse_view
from server.models.registry import Registry

ROOT = Path(__file__).resolve().parents[2]
HOSTILE = "</script><img src=x onerror=alert(1)><script>alert(2)</script>\u2028"


@pytest.fixture
def offline(browser):
    """new(viewport) -> an Offline page (conftest's Chromium: one Playwright per session)."""
    yield from offline_pages(browser)


def test_export_replays_both_passes_offline_with_the_keyboard(tmp_path, offline):
    path = export(tmp_path, "view.html", model="lstm-rhymes", text="twinkle twinkle", t=2)
    page = offline().open(path)
    T = page.evaluate("() => window.__unrolled.controller.trace.steps.length")
    assert T == 15 and position(page) == [2, "forward"]
    page.keyboard.press("Home")
    seen = [position(page)]
    for _ in range(2 * T - 1):
        page.keyboard.press("ArrowRight")
        seen.append(position(page))
    assert seen[T - 1] == [T - 1, "forward"] and seen[T] == [T - 1, "backward"]
    assert seen[-1] == [0, "backward"]
    page.wait_for_function("() => document.querySelector('[data-plot] .main-svg')")  # plotly ran
    label = page.locator("#step-label").inner_text()
    assert "Backward" in label and "t = 0" in label
    for _ in range(3):
        page.keyboard.press("ArrowLeft")
    assert position(page) == [3, "backward"]
    # the backward pass is the real one: BPTT's gradients are in the trace, dh at t=0 non-zero
    dh = page.evaluate("() => window.__unrolled.controller.trace.backward[0].dh_norm")
    assert dh > 0
    page.click("[data-view='gradients']")
    page.wait_for_function("() => document.querySelector('#view-gradients [data-plot] .main-svg')")
    page.click("[data-view='generate']")
    note = page.locator("[data-offline-note='generate']")
    assert note.is_visible() and "needs the live server" in note.inner_text()
    assert page.locator("#text-input").is_disabled()
    # the Train panel and the classroom need the server, and say so
    page.click("#train-panel summary")
    train = page.locator("[data-offline-note='train']")
    assert train.is_visible() and "Training a model needs the live server" in train.inner_text()
    assert page.locator("#room-button").is_disabled()
    assert "needs the live server" in page.get_attribute("#room-button", "title")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for w, h in ((1024, 768), (1920, 1080)):
        page.set_viewport_size({"width": w, "height": h})
        page.click("[data-view='heatmaps']")
        page.screenshot(path=str(SCREENSHOTS / f"export-offline-{w}.png"))


def test_the_view_state_is_exported(tmp_path, offline):
    path = export(
        tmp_path,
        "dark.html",
        model="rnn-hello",
        text="hello",
        t=3,
        phase="backward",
        view="gradients",
        theme="dark",
        unit=2,
    )
    page = offline().open(path)
    state = page.evaluate(
        "() => { const s = window.__unrolled.state; "
        "return [s.t, s.phase, s.view, s.theme, s.unit]; }"
    )
    assert state == [3, "backward", "gradients", "dark", 2]
    assert page.evaluate("() => document.documentElement.dataset.effectiveTheme") == "dark"
    assert page.evaluate("() => document.getElementById('view-gradients').hidden") is False
    page.wait_for_function("() => document.querySelector('#view-gradients [data-plot] .main-svg')")


def test_compare_view_is_exported_with_the_other_cells(tmp_path, offline):
    path = export(tmp_path, "cmp.html", model="lstm-rhymes", text="twinkle", view="compare")
    page = offline().open(path)
    page.wait_for_function("() => document.querySelectorAll('.compare-col .main-svg').length >= 2")
    assert page.locator(".compare-col .error-inline").count() == 0


def test_a_hostile_sentence_runs_nothing(tmp_path, offline):
    path = export(tmp_path, "hostile.html", model="rnn-hello", text=HOSTILE)
    raw = path.read_text(encoding="utf-8")
    # the sentence is in the file only as escaped JSON: none of its markup in clear
    assert "<img src=x" not in raw and "<script>alert" not in raw and "\u2028" not in raw
    assert "\\u003cimg src=x" in raw
    o = offline()
    page = o.open(path)
    page.evaluate("() => { window.alert = (m) => { window.__alerted = m; }; }")
    page.keyboard.press("End")
    page.wait_for_timeout(300)
    assert page.evaluate("() => window.__alerted === undefined")
    assert page.locator("img[src='x']").count() == 0
    tokens = page.evaluate("() => window.__unrolled.controller.trace.tokens.join('')")
    assert tokens == HOSTILE
    chips = page.locator("#tokens .chip")
    assert chips.count() == len(HOSTILE) and chips.first.inner_text().startswith("<")  # as text
    assert o.dialogs == []


def test_the_embed_page_exports_too(tmp_path, offline):
    s = Settings(data_dir=tmp_path / "data")
    registry = Registry(s.data_dir)
    view = parse_view({"model": "gru-question", "text": "are you good"}, registry, s, page="embed")
    path = tmp_path / "embed.html"
    path.write_text(export_html(view, registry, s, in_process(s)), encoding="utf-8")
    page = offline().open(path)
    page.keyboard.press("ArrowRight")
    assert position(page) == [1, "forward"]
    assert page.locator("#open-full").is_hidden()


def run_cli(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "UNROLLED_DATA_DIR": str(cwd / "data")}
    return subprocess.run(
        [sys.executable, "-m", "server", "export", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )


def test_cli_exports_html_from_another_directory(tmp_path, offline):
    r = run_cli(
        ["--model", "rnn-hello", "--text", "hello", "--step", "2", "-o", "v.html"], tmp_path
    )
    assert r.returncode == 0, r.stderr
    page = offline().open(tmp_path / "v.html")
    assert position(page) == [2, "forward"]
    # an encoder–decoder too: the file plays its trace offline
    r = run_cli(["--model", "gru-reverse-attention", "--text", "abc", "-o", "x.html"], tmp_path)
    assert r.returncode == 0, r.stderr
    page = offline().open(tmp_path / "x.html")
    out = page.evaluate("() => window.__unrolled.controller.trace.output.text")
    assert out == "cba" and page.evaluate("() => document.body.dataset.kind") == "seq2seq"
    page.keyboard.press("ArrowRight")
    assert position(page) == [1, "forward"]
    (tmp_path / "x.html").unlink()
    bad = run_cli(["--model", "no-such-model", "-o", "x.html"], tmp_path)
    assert bad.returncode != 0 and "no model with that id" in bad.stderr
    assert not (tmp_path / "x.html").exists()


def test_cli_images_png_svg_gif_frames(tmp_path):
    Image = pytest.importorskip("PIL.Image")
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is missing")
    base = ["--model", "rnn-hello", "--text", "hello world"]
    r = run_cli([*base, "--format", "png", "-o", "u.png"], tmp_path)
    assert r.returncode == 0, r.stderr
    with Image.open(tmp_path / "u.png") as im:
        assert im.format == "PNG" and im.width > 400
    r = run_cli([*base, "--format", "svg", "--target", "cell", "-o", "c.svg"], tmp_path)
    assert r.returncode == 0, r.stderr
    svg = (tmp_path / "c.svg").read_text()
    assert svg.startswith("<svg") and 'xmlns="http://www.w3.org/2000/svg"' in svg
    r = run_cli([*base, "--format", "gif", "--steps", "1-6", "-o", "a.gif"], tmp_path)
    assert r.returncode == 0, r.stderr
    with Image.open(tmp_path / "a.gif") as im:
        assert im.format == "GIF" and im.n_frames == 6
    r = run_cli([*base, "--format", "frames", "--steps", "0-2", "-o", "frames"], tmp_path)
    assert r.returncode == 0, r.stderr
    names = sorted(p.name for p in (tmp_path / "frames").iterdir())
    assert names == ["frame-000.png", "frame-001.png", "frame-002.png"]
    r = run_cli([*base, "--format", "gif", "--steps", "5-99", "-o", "b.gif"], tmp_path)
    assert r.returncode != 0 and "steps 0-10" in r.stderr


def test_download_view_and_image_buttons_on_the_live_page(page, server_url, tmp_path, offline):
    from pagekit import open_page

    open_page(page, f"{server_url}/?model=rnn-hello&text=hello&t=1")
    with page.expect_download() as got:
        page.click("#download-view")
    saved = tmp_path / got.value.suggested_filename
    got.value.save_as(saved)
    assert saved.name == "unrolled-rnn-hello-hello.html"
    with page.expect_download() as png:
        page.click("[data-image-tools='unrolled'] [data-image='png']")
    assert png.value.suggested_filename.endswith("-unrolled.png")
    with page.expect_download() as svg:
        page.click("[data-image-tools='cell'] [data-image='svg']")
    assert svg.value.suggested_filename.endswith("-cell.svg")
    exported = offline().open(saved)
    assert position(exported) == [1, "forward"]
