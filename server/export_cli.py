"""`unrolled export`: a view as one self-contained HTML file, an image, frames or a GIF.

    unrolled export --model lstm-rhymes --text "twinkle twinkle" -o view.html
    unrolled export --model rnn-hello --text hello --view gradients --phase backward -o v.html
    unrolled export --model rnn-hello --text hello --format gif --steps 0-4 -o hello.gif
    unrolled export --model gru-reverse-attention --text abc --whatif 0:2 -o attention.html

No server runs: the trace is computed here with the engine (server.export.view.in_process),
from any directory (the models come from the package and the data directory). png, svg, gif
and frames render the exported file in headless Chromium (server.export.render); html needs
nothing but Python.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from server.core.errors import ApiError
from server.core.settings import Settings
from server.export.document import PAGES
from server.export.render import FORMATS, TARGETS, RenderError, parse_steps
from server.models.registry import Registry

# the page's state properties (static/js/state.js) that have an option here
STATE_OPTIONS = (
    ("text", str, "the sentence (default: the model's example)"),
    ("step", int, "the step t shown (default 0)"),
    ("phase", str, "forward or backward (default forward)"),
    ("view", str, "the tab shown: heatmaps, gradients, compare, path, units, diagram, order"),
    ("layer", int, "the layer shown (-1 = top)"),
    ("direction", int, "0 forward, 1 reverse (bidirectional models)"),
    ("unit", int, "the hidden unit selected"),
    ("theme", str, "auto, light or dark"),
    ("clip", float, "clip the gradient norm to this value"),
    ("truncate", int, "truncated BPTT with k steps"),
    ("tmode", str, "chunked or sliding (with --truncate)"),
    ("overlay", str, "Path of h: a second sentence drawn on the same axes"),
    ("span", str, "Find units: the steps a-b scored"),
    ("whatif", str, "encoder–decoder: an attention what-if, t:s or t:a0,a1,..."),
    ("present", int, "1: presentation mode"),
)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="unrolled export",
        description="Export a view of Unrolled as one HTML file that works offline, or as "
        "images (png, svg), numbered PNG frames or an animated GIF.",
    )
    p.add_argument("--model", required=True, help="a model id (unrolled lists them on its page)")
    for name, kind, text in STATE_OPTIONS:
        p.add_argument(f"--{name}", type=kind, help=text)
    p.add_argument(
        "--state",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="any other state property of the page's URL (repeatable), e.g. target=cba (an "
        "encoder–decoder's teacher-forcing target, a tree's root label)",
    )
    p.add_argument("--page", choices=sorted(PAGES), default="explorer", help="explorer or embed")
    p.add_argument("--format", choices=FORMATS, default="html", help="default html")
    p.add_argument(
        "--target",
        default="unrolled",
        help=f"what an image shows: {', '.join(TARGETS)}, or a chart's name (data-plot)",
    )
    p.add_argument("--steps", help="gif/frames: the steps, e.g. 0-19 (default: every step)")
    p.add_argument("--fps", type=float, default=4, help="gif: frames per second (default 4)")
    p.add_argument("--width", type=int, default=1280, help="the browser's width in px")
    p.add_argument("-o", "--output", required=True, type=Path, help="file (frames: a folder)")
    p.add_argument("--data-dir", help="where trained and imported models are kept")
    return p.parse_args(argv)


def query_from(args: argparse.Namespace) -> dict[str, str]:
    query = {"model": args.model}
    for name, _, _ in STATE_OPTIONS:
        value = getattr(args, name)
        if value is not None:
            query["t" if name == "step" else name] = str(value)
    for item in args.state:
        key, sep, value = item.partition("=")
        if not sep:
            raise ApiError(f"--state {item!r}: write NAME=VALUE")
        query[key] = value
    return query


def main(argv: list[str] | None = None) -> None:
    from server.export.render import render
    from server.export.view import export_html, in_process, parse_view

    args = parse_args(argv)
    settings = Settings(**({"data_dir": args.data_dir} if args.data_dir else {}))
    registry = Registry(settings.data_dir)
    started = time.perf_counter()
    try:
        view = parse_view(query_from(args), registry, settings, page=args.page)
        html = export_html(view, registry, settings, in_process(settings))
        if args.format == "html":
            args.output.write_text(html, encoding="utf-8")
            what = f"{args.output} ({len(html.encode()) / 1e6:.2f} MB)"
        else:
            steps = parse_steps(args.steps) if args.steps else None
            written = render(
                html,
                args.format,
                args.output,
                target=args.target,
                steps=steps,
                fps=args.fps,
                width=args.width,
            )
            what = f"{args.output} ({written})"
    except (ApiError, RenderError) as e:
        sys.exit(f"unrolled export: {e}")
    print(f"wrote {what} in {time.perf_counter() - started:.1f} s", flush=True)
