"""Images and animations of an exported view, drawn by headless Chromium (Playwright).

The exported file (server.export.document) is opened from a temporary file with every network
request refused; the page's own image code (static/js/images.js, `window.__unrolled.images`)
serialises the SVG diagrams with their computed styles and rasterises them, and plotly draws
its charts, so an image from here is the one the page's buttons give. Frames of a range of
steps become numbered PNGs or one animated GIF (Pillow: one palette for all its frames).
"""

from __future__ import annotations

import base64
import io
import re
import tempfile
from pathlib import Path

FORMATS = ("html", "png", "svg", "gif", "frames")
TARGETS = ("unrolled", "cell", "page")
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
MAX_FRAMES = 500


class RenderError(Exception):
    """Images cannot be made here (no Chromium, no Playwright, no Pillow) or the range is bad."""


def parse_steps(spec: str) -> tuple[int, int]:
    """ "0-19" -> (0, 19); "5" -> (5, 5)."""
    m = re.fullmatch(r"\s*(\d+)\s*(?:-\s*(\d+)\s*)?", spec)
    if not m:
        raise RenderError(f"--steps {spec!r}: write FIRST-LAST, e.g. 0-19")
    first, last = int(m.group(1)), int(m.group(2) or m.group(1))
    if last < first:
        raise RenderError(f"--steps {spec!r}: the last step comes before the first")
    return first, last


def _need(module: str, hint: str):
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise RenderError(f"{hint} is not installed: pip install 'unrolled[export]'") from None


def render(
    html: str,
    fmt: str,
    output: Path,
    *,
    target: str = "unrolled",
    steps: tuple[int, int] | None = None,
    fps: float = 4,
    width: int = 1280,
) -> str:
    """Draw the exported page `html` as `fmt` (png, svg, gif or frames) into `output` (frames:
    a folder of frame-000.png ...); returns what was written, in words."""
    if fmt not in FORMATS[1:]:
        raise RenderError(f"format must be one of {', '.join(FORMATS)}")
    if not Path(CHROMIUM).exists():
        raise RenderError(
            f"{CHROMIUM} is missing: install Chromium (Debian: apt-get install chromium)"
        )
    sync_api = _need("playwright.sync_api", "Playwright")
    image = _need("PIL.Image", "Pillow") if fmt == "gif" else None
    with tempfile.TemporaryDirectory(prefix="unrolled-render-") as tmp:
        page_file = Path(tmp) / "view.html"
        page_file.write_text(html, encoding="utf-8")
        with sync_api.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                ctx = browser.new_context(viewport={"width": width, "height": 900})
                page = ctx.new_page()
                errors: list[str] = []
                page.on("console", lambda m: m.type == "error" and errors.append(m.text))
                page.on("pageerror", lambda e: errors.append(str(e)))
                page.route("**/*", _offline_only)
                page.goto(page_file.as_uri())
                page.wait_for_selector("body[data-ready='1']", timeout=30000)
                if errors:
                    raise RenderError("the exported page failed: " + "; ".join(errors[:3]))
                return _draw(page, fmt, output, target, steps, fps, image)
            finally:
                browser.close()


def _offline_only(route) -> None:
    if route.request.url.startswith(("file:", "data:", "blob:")):
        route.continue_()
    else:
        route.abort()


def _draw(page, fmt, output: Path, target, steps, fps, image) -> str:
    if fmt == "png" and target == "page":
        page.screenshot(path=str(output), full_page=True)
        return "the whole page"
    try:  # charts appear once plotly has loaded
        page.wait_for_function(
            "(t) => window.__unrolled.images.targets().includes(t)", arg=target, timeout=15000
        )
    except Exception:  # noqa: BLE001 (Playwright's TimeoutError): said below
        pass
    known = page.evaluate("() => window.__unrolled.images.targets()")
    if target not in known:
        raise RenderError(f"--target {target!r}: this view has {', '.join(known)}")
    if fmt == "svg":
        text = page.evaluate("(t) => window.__unrolled.images.svgOf(t)", target)
        output.write_text(text, encoding="utf-8")
        return f"SVG of {target}"
    if fmt == "png":
        output.write_bytes(_png(page.evaluate("(t) => window.__unrolled.images.pngOf(t)", target)))
        return f"PNG of {target}"
    T = page.evaluate("() => window.__unrolled.controller.trace.steps.length")
    first, last = steps or (0, T - 1)
    if last >= T:
        raise RenderError(f"--steps: this sentence has steps 0-{T - 1}")
    if last - first + 1 > MAX_FRAMES:
        raise RenderError(f"--steps: at most {MAX_FRAMES} frames")
    scale = 2 if fmt == "frames" else 1
    urls = page.evaluate(
        "([t, a, b, s]) => window.__unrolled.images.framesOf(t, a, b, s)",
        [target, first, last, scale],
    )
    frames = [_png(u) for u in urls]
    if fmt == "frames":
        output.mkdir(parents=True, exist_ok=True)
        for i, png in enumerate(frames):
            (output / f"frame-{i:03d}.png").write_bytes(png)
        return f"{len(frames)} PNG frames"
    images = [image.open(io.BytesIO(png)).convert("RGB") for png in frames]
    shared = _palette(image, images)
    frames_p = [im.quantize(palette=shared, dither=image.Dither.NONE) for im in images]
    frames_p[0].save(
        output,
        save_all=True,
        append_images=frames_p[1:],
        duration=round(1000 / fps),
        loop=0,
    )
    return f"GIF of {len(images)} frames"


def _palette(image, images):
    """One palette of 256 colours for every frame, from all of them at once (fast octree, no
    dithering: flat diagrams stay flat, and no colour of a later frame is missing)."""
    sheet = image.new("RGB", (max(im.width for im in images), sum(im.height for im in images)))
    y = 0
    for im in images:
        sheet.paste(im, (0, y))
        y += im.height
    return sheet.quantize(colors=256, method=image.Quantize.FASTOCTREE, dither=image.Dither.NONE)


def _png(data_url: str) -> bytes:
    return base64.b64decode(data_url.split(",", 1)[1])
