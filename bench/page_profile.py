"""Where a step of the page spends its time (prints figures; not a test).

Starts a server and loads the page as bench/page.py does (--model h64|stack3), then records a
Chromium performance trace (CDP Tracing, the DevTools timeline categories) while it presses
ArrowRight --keys times, and prints, per step, the main thread's time by kind of work: script,
style, layout, pre-paint, paint, compositing, raster (on the raster threads), with the DOM's
node count (CDP Performance.getMetrics) and the page's own marks.

    python bench/page_profile.py [--model stack3] [--keys 20] [--phase forward|backward]
"""

from __future__ import annotations

import argparse
import collections
import json
import statistics
import sys
import tempfile
from pathlib import Path
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parent))
from page import CHROMIUM, CHROMIUM_ARGS, TEXT, start_server, train_h64, write_stack3  # noqa: E402

KINDS = {
    "script": {
        "FunctionCall",
        "EvaluateScript",
        "EventDispatch",
        "TimerFire",
        "FireAnimationFrame",
        "v8.compile",
        "MajorGC",
        "MinorGC",
        "V8.GCScavenger",
    },
    "style": {"UpdateLayoutTree", "RecalculateStyles", "ScheduleStyleRecalculation"},
    "layout": {"Layout"},
    "pre-paint": {"PrePaint"},
    "paint": {"Paint", "PaintImage"},
    "layerize": {"Layerize", "UpdateLayer", "UpdateLayerTree", "CompositeLayers", "Commit"},
    "raster": {"RasterTask", "GPUTask"},
}
KIND_OF = {name: kind for kind, names in KINDS.items() for name in names}


def summarise(events: list[dict], keys: int) -> dict[str, float]:
    """CPU ms per kind, top-level only (an event inside another of its thread is skipped)."""
    totals: dict[str, float] = collections.defaultdict(float)
    by_name: dict[str, float] = collections.defaultdict(float)
    spans: dict[tuple, list[tuple[float, float]]] = collections.defaultdict(list)
    for e in sorted(
        (e for e in events if e.get("ph") == "X" and e.get("name") in KIND_OF),
        key=lambda e: e["ts"],
    ):
        key = (e["pid"], e["tid"])
        end = e["ts"] + e.get("dur", 0)
        if spans[key] and e["ts"] < spans[key][-1][1]:
            continue  # nested in the previous top-level event of this thread
        spans[key].append((e["ts"], end))
        # thread time (tdur): what the work costs, not how long a loaded machine made it wait
        totals[KIND_OF[e["name"]]] += e.get("tdur", e.get("dur", 0)) / 1000
        by_name[e["name"]] += e.get("tdur", e.get("dur", 0)) / 1000
    summarise.by_name = {k: v / keys for k, v in by_name.items()}
    return {k: v / keys for k, v in totals.items()}


def profile_by_function(profile: dict) -> list[tuple[str, float]]:
    """Self time (ms) per JS function (name file:line), most first, from a CDP CPU profile."""
    nodes = {n["id"]: n for n in profile["nodes"]}
    parent = {c: n["id"] for n in profile["nodes"] for c in n.get("children", [])}
    dt = profile.get("timeDeltas", [])
    out: dict[str, float] = collections.defaultdict(float)

    def name(f: dict) -> str:
        if not f["url"]:
            return f["functionName"] or "(native)"
        file = f["url"].rsplit("/", 1)[-1].split("?")[0]
        return f"{f['functionName'] or '(anon)'} {file}:{f['lineNumber'] + 1}"

    for sample, delta in zip(profile.get("samples", [])[1:], dt[1:], strict=False):
        seen, node = set(), sample
        while node is not None:  # inclusive: every function on the stack, once
            key = name(nodes[node]["callFrame"])
            if key not in seen:
                seen.add(key)
                out[key] += delta / 1000
            node = parent.get(node)
    skip = {"(idle)", "(root)", "(program)", "(garbage collector)"}
    return sorted(((k, v) for k, v in out.items() if k not in skip), key=lambda kv: -kv[1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", choices=("h64", "stack3"), default="stack3")
    ap.add_argument("--keys", type=int, default=20)
    ap.add_argument("--phase", choices=("forward", "backward"), default="forward")
    ap.add_argument(
        "--play", type=float, default=0, help="instead of keys: play at this speed for --keys / 4 s"
    )
    ap.add_argument("--save", help="write the raw trace (JSON) here, for chrome://tracing")
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as data_dir:
        stack3 = write_stack3(data_dir) if args.model == "stack3" else None
        proc, url = start_server(data_dir)
        try:
            model = stack3 or train_h64(url)
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                page = browser.new_page(viewport={"width": 1280, "height": 720})
                page.goto(f"{url}/?model={model}&text={quote(TEXT)}")
                page.wait_for_selector("body[data-ready='1']", timeout=30000)
                page.locator("#view-heatmaps").scroll_into_view_if_needed()
                page.wait_for_selector("#view-heatmaps .plot .main-svg", timeout=60000)
                page.locator("h2", has_text="The unrolled network").click()
                page.keyboard.press("Home" if args.phase == "forward" else "End")
                page.wait_for_timeout(500)
                cdp = page.context.new_cdp_session(page)
                cdp.send("Performance.enable")
                metrics = {
                    m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]
                }
                chunks: list[dict] = []
                cdp.on("Tracing.dataCollected", lambda e: chunks.extend(e["value"]))
                cdp.send("Profiler.enable")
                cdp.send("Profiler.setSamplingInterval", {"interval": 200})
                cdp.send("Profiler.start")
                cdp.send(
                    "Tracing.start",
                    {
                        "categories": "devtools.timeline,disabled-by-default-devtools.timeline,v8",
                        "transferMode": "ReportEvents",
                    },
                )
                key = "ArrowRight" if args.phase == "forward" else "ArrowLeft"
                if args.play:
                    page.select_option("#speed-select", str(int(args.play)))
                    page.locator("h2", has_text="The unrolled network").click()
                    page.keyboard.press("Space")
                    page.wait_for_timeout(args.keys * 250)
                    page.keyboard.press("Space")
                else:
                    for _ in range(args.keys):
                        page.keyboard.press(key)
                        page.wait_for_timeout(150)
                profile = cdp.send("Profiler.stop")["profile"]
                done = []
                cdp.on("Tracing.tracingComplete", lambda e: done.append(1))
                cdp.send("Tracing.end")
                while not done:
                    page.wait_for_timeout(100)
                browser.close()
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    if args.save:
        Path(args.save).write_text(json.dumps(chunks))
    per = summarise(chunks, args.keys)
    print(
        f"model {model}: {args.keys} × {key}; DOM nodes {metrics.get('Nodes', 0):.0f}, "
        f"layout objects {metrics.get('LayoutObjects', 0):.0f}"
    )
    total = sum(v for k, v in per.items() if k != "raster")
    print(
        "per step, main thread: "
        + ", ".join(f"{k} {v:.1f} ms" for k, v in sorted(per.items()) if k != "raster")
        + f"; total {total:.1f} ms; raster (other threads) {per.get('raster', 0):.1f} ms"
    )
    print(
        "by event: "
        + ", ".join(
            f"{k} {v:.1f}" for k, v in sorted(summarise.by_name.items(), key=lambda kv: -kv[1])[:10]
        )
    )
    self_ms = profile_by_function(profile)
    print(
        "JS time per step (inclusive): "
        + ", ".join(f"{name} {ms / args.keys:.2f} ms" for name, ms in self_ms[:25])
    )
    layouts = [
        e.get("dur", 0) / 1000 for e in chunks if e.get("name") == "Layout" and e.get("ph") == "X"
    ]
    if layouts:
        print(
            f"layouts: {len(layouts)}, median {statistics.median(layouts):.1f} ms, "
            f"max {max(layouts):.1f} ms"
        )


if __name__ == "__main__":
    main()
