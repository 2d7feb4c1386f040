"""Where the page's cold load spends its time (prints figures; not a test).

Starts a server as bench/page.py does (--model stack3|h64), opens a new Chromium (empty HTTP
cache; the server has never traced the sentence) and records, from navigation start to
body[data-ready='1']:

* every request (document, CSS, ES modules, plotly.js, the API, the WebSocket and its frames):
  when it started and finished, its size on the wire (CDP Network);
* the main thread's CPU by kind of work (parse HTML, compile/evaluate each script, other script,
  style, layout, paint) and its long tasks, from Chromium's trace (devtools.timeline);
* the JS functions' inclusive times (CDP CPU profile);
* the page's own marks (performance.mark) and the paint timings.

    python bench/page_load.py [--model stack3] [--warm] [--no-trace] [--save trace.json]

--warm: load the page once first (HTTP cache and the server's trace cache warm), then measure.
"""

from __future__ import annotations

import argparse
import collections
import json
import sys
import tempfile
from pathlib import Path
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parent))
from page import CHROMIUM, CHROMIUM_ARGS, TEXT, start_server, train_h64, write_stack3  # noqa: E402
from page_profile import KIND_OF, profile_by_function  # noqa: E402

CATEGORIES = ",".join(
    [
        "devtools.timeline",
        "disabled-by-default-devtools.timeline",
        "v8",
        "v8.execute",
        "blink.user_timing",
        "loading",
        "netlog",
    ]
)
LOAD_KINDS = {"ParseHTML": "parse HTML", "v8.compile": "compile", "v8.compileModule": "compile"}


def short(url: str) -> str:
    name = url.rsplit("/", 1)[-1].split("?")[0] or url
    return name if len(name) < 40 else name[:37] + "..."


def network_log(cdp) -> dict:
    """Requests and WebSocket frames by CDP Network events (timestamps in seconds)."""
    log = {"req": {}, "ws": []}

    def sent(e):
        log["req"][e["requestId"]] = {
            "url": e["request"]["url"],
            "start": e["timestamp"],
            "type": e.get("type", ""),
        }

    def response(e):
        r = log["req"].get(e["requestId"])
        if r is not None:
            r["response"] = e["timestamp"]
            r["status"] = e["response"]["status"]
            r["cached"] = e["response"].get("fromDiskCache", False)
            r["timing"] = e["response"].get("timing")

    def finished(e):
        r = log["req"].get(e["requestId"])
        if r is not None:
            r["end"] = e["timestamp"]
            r["bytes"] = e.get("encodedDataLength", 0)

    cdp.on("Network.requestWillBeSent", sent)
    cdp.on("Network.responseReceived", response)
    cdp.on("Network.loadingFinished", finished)
    for kind in ("webSocketWillSendHandshakeRequest", "webSocketHandshakeResponseReceived"):
        cdp.on(f"Network.{kind}", lambda e, k=kind: log["ws"].append((k, e["timestamp"])))
    cdp.on(
        "Network.webSocketFrameSent",
        lambda e: log["ws"].append(
            ("frame sent", e["timestamp"], len(e["response"]["payloadData"]))
        ),
    )
    cdp.on(
        "Network.webSocketFrameReceived",
        lambda e: log["ws"].append(
            ("frame received", e["timestamp"], len(e["response"]["payloadData"]))
        ),
    )
    return log


def main_thread(events: list[dict]) -> tuple[int, int]:
    """(pid, tid) of the renderer's main thread (CrRendererMain) that parsed the page."""
    names = {
        (e["pid"], e["tid"]): e["args"]["name"]
        for e in events
        if e.get("ph") == "M" and e.get("name") == "thread_name"
    }
    parse = [e for e in events if e.get("name") == "ParseHTML"]
    for e in parse:
        if names.get((e["pid"], e["tid"])) == "CrRendererMain":
            return e["pid"], e["tid"]
    return parse[0]["pid"], parse[0]["tid"]


def cpu_by_kind(events: list[dict], thread, t0: float, t1: float) -> dict[str, float]:
    """Main-thread ms between t0 and t1 (µs): top-level events by kind; compile by script."""
    out: dict[str, float] = collections.defaultdict(float)
    last_end = 0.0
    for e in sorted(
        (
            e
            for e in events
            if e.get("ph") == "X"
            and (e["pid"], e["tid"]) == thread
            and t0 <= e["ts"] <= t1
            and (e["name"] in KIND_OF or e["name"] in LOAD_KINDS)
        ),
        key=lambda e: e["ts"],
    ):
        if e["ts"] < last_end:
            continue
        last_end = e["ts"] + e.get("dur", 0)
        ms = e.get("dur", 0) / 1000
        kind = LOAD_KINDS.get(e["name"]) or KIND_OF[e["name"]]
        if e["name"] == "EvaluateScript" or e["name"].startswith("v8.compile"):
            data = e.get("args", {}).get("data", {})
            url = data.get("url") or data.get("fileName") or ""
            kind = f"{'evaluate' if e['name'] == 'EvaluateScript' else 'compile'} {short(url)}"
        out[kind] += ms
    return out


def long_tasks(events: list[dict], thread, t0: float, t1: float, min_ms: float = 30) -> list:
    tasks = [
        e
        for e in events
        if e.get("ph") == "X"
        and e.get("name") in ("RunTask", "ThreadControllerImpl::RunTask")
        and (e["pid"], e["tid"]) == thread
        and t0 <= e["ts"] <= t1
        and e.get("dur", 0) >= min_ms * 1000
    ]
    out = []
    for task in tasks:
        end = task["ts"] + task["dur"]
        inside = [
            e
            for e in events
            if (e["pid"], e["tid"]) == thread
            and e.get("ph") == "X"
            and task["ts"] <= e["ts"] < end
            and e is not task
            and e["name"]
            in (
                "FunctionCall",
                "EvaluateScript",
                "v8.compileModule",
                "ParseHTML",
                "Layout",
                "UpdateLayoutTree",
                "Paint",
                "FireAnimationFrame",
                "EventDispatch",
                "TimerFire",
                "v8.evaluateModule",
            )
        ]
        top = max(inside, key=lambda e: e.get("dur", 0), default=None)
        what = ""
        if top:
            data = top.get("args", {}).get("data", {})
            where = data.get("url") or data.get("functionName") or data.get("type") or ""
            what = f"{top['name']} {short(where)} {top.get('dur', 0) / 1000:.0f} ms"
        out.append(((task["ts"] - t0) / 1000, task["dur"] / 1000, what))
    return out


def warm_server(url: str, page_url: str) -> None:
    """Fetch the page and every file it names (gzip), as an earlier visitor would have."""
    import re
    import urllib.request

    def get(u: str) -> bytes:
        req = urllib.request.Request(u, headers={"accept-encoding": "gzip"})
        with urllib.request.urlopen(req, timeout=60) as resp:
            return resp.read()

    html = get(page_url).decode()
    for path in set(re.findall(r'(?:href|src|data-plotly-url)="(/[^"]+)"', html)):
        get(url + path.replace("&amp;", "&"))


def measure(page_url: str, warm: bool, trace: bool, save: str | None, settle: float = 0) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 720})
        page.wait_for_timeout(settle * 1000)  # Chromium's own start-up done first
        if warm:
            page.goto(page_url)
            page.wait_for_selector("body[data-ready='1']", timeout=30000)
            page.goto("about:blank")
        cdp = page.context.new_cdp_session(page)
        cdp.send("Network.enable")
        net = network_log(cdp)
        chunks: list[dict] = []
        cdp.on("Tracing.dataCollected", lambda e: chunks.extend(e["value"]))
        if trace:
            cdp.send("Profiler.enable")
            cdp.send("Profiler.setSamplingInterval", {"interval": 200})
            cdp.send("Profiler.start")
            cdp.send("Tracing.start", {"categories": CATEGORIES, "transferMode": "ReportEvents"})
        page.goto(page_url)
        page.wait_for_selector("body[data-ready='1']", timeout=30000)
        ready = float(page.get_attribute("body", "data-ready-ms"))
        perf = page.evaluate(
            """() => ({
              nav: performance.getEntriesByType("navigation")[0].toJSON(),
              paint: performance.getEntriesByType("paint").map((p) => [p.name, p.startTime]),
              marks: performance.getEntriesByType("mark").map((m) => [m.name, m.startTime]),
              resources: performance.getEntriesByType("resource").map((r) => r.name),
              plotly: !!window.Plotly,
            })"""
        )
        page.wait_for_timeout(300)
        if trace:
            profile = cdp.send("Profiler.stop")["profile"]
            done = []
            cdp.on("Tracing.tracingComplete", lambda e: done.append(1))
            cdp.send("Tracing.end")
            while not done:
                page.wait_for_timeout(100)
        browser.close()
    if save:
        Path(save).write_text(json.dumps(chunks))

    print(f"ready at {ready:.0f} ms ({'warm' if warm else 'cold'}); window.Plotly {perf['plotly']}")
    n = perf["nav"]
    print(
        f"document: response end {n['responseEnd']:.0f} ms, DOM interactive "
        f"{n['domInteractive']:.0f} ms, DOMContentLoaded end {n['domContentLoadedEventEnd']:.0f} "
        f"ms, load end {n['loadEventEnd']:.0f} ms"
    )
    print("paint: " + ", ".join(f"{k} {v:.0f} ms" for k, v in perf["paint"]))
    if perf["marks"]:
        print("marks: " + ", ".join(f"{k} {v:.0f} ms" for k, v in perf["marks"]))

    doc = next((r for r in net["req"].values() if r["type"] == "Document"), None)
    base = doc["start"] if doc else 0.0
    print("requests (ms from the document request: asked -> sent -> headers -> done; size):")
    for r in sorted(net["req"].values(), key=lambda r: r["start"]):
        end = f"{(r['end'] - base) * 1000:6.0f}" if "end" in r else "  ... "
        tm = r.get("timing")
        # waited for a connection (queued) -> request sent -> response headers (the server)
        first = (
            f"{(tm['requestTime'] - base) * 1000 + tm['sendStart']:6.0f} -> "
            f"{(tm['requestTime'] - base) * 1000 + tm['receiveHeadersEnd']:6.0f}"
            if tm
            else "  ...  ->   ... "
        )
        print(
            f"  {(r['start'] - base) * 1000:7.0f} -> {first} -> {end}"
            f"  {r.get('bytes', 0) / 1024:8.1f} KB  {r['type']:10s} {short(r['url'])}"
        )
    print("WebSocket:")
    for ev in net["ws"]:
        size = f" {ev[2] / 1024:.1f} KB" if len(ev) > 2 else ""
        print(f"  {(ev[1] - base) * 1000:7.0f}  {ev[0]}{size}")

    if not trace:
        return
    thread = main_thread(chunks)
    t0 = base * 1e6  # CDP Network timestamps and trace events share the monotonic clock
    t1 = t0 + ready * 1000
    kinds = cpu_by_kind(chunks, thread, t0, t1)
    total = sum(v for k, v in kinds.items() if k != "raster")
    print(f"main thread to ready: {total:.0f} ms busy of {ready:.0f} ms")
    for k, v in sorted(kinds.items(), key=lambda kv: -kv[1])[:20]:
        if v >= 1:
            print(f"  {v:7.1f} ms  {k}")
    print("long tasks (start ms, duration ms, largest part):")
    for start, dur, what in long_tasks(chunks, thread, t0, t1):
        print(f"  {start:7.0f}  {dur:6.0f}  {what}")
    print("JS functions (inclusive ms, whole recording):")
    for name, ms in profile_by_function(profile)[:30]:
        print(f"  {ms:7.1f}  {name}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", choices=("h64", "stack3"), default="stack3")
    ap.add_argument("--warm", action="store_true", help="measure a second load instead")
    ap.add_argument(
        "--no-trace", action="store_true", help="only the requests and marks (no CPU trace)"
    )
    ap.add_argument(
        "--warm-server",
        action="store_true",
        help="fetch the page and its files once before the browser starts (not the trace)",
    )
    ap.add_argument(
        "--settle", type=float, default=0, help="seconds between Chromium's start and the load"
    )
    ap.add_argument("--save", help="write the raw trace (JSON) here, for chrome://tracing")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as data_dir:
        stack3 = write_stack3(data_dir) if args.model == "stack3" else None
        proc, url = start_server(data_dir)
        try:
            model = stack3 or train_h64(url)
            page_url = f"{url}/?model={model}&text={quote(TEXT)}"
            if args.warm_server:
                warm_server(url, page_url)
            measure(page_url, args.warm, not args.no_trace, args.save, args.settle)
        finally:
            proc.terminate()
            proc.wait(timeout=10)


if __name__ == "__main__":
    main()
