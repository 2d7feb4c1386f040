"""Page benchmark (prints figures; not a test).

Starts a real server (its own data folder), trains an LSTM with H = 64 on a ~100-character text
through the API, then drives Debian's Chromium:

* load to the first drawing: navigation start -> body[data-drawn-ms] (the trace's forward half
  on screen, every control bound; the gradients follow when the backward half arrives);
* load to interactive: navigation start -> main.js sets body[data-ready] (first trace drawn,
  its gradients too);
* playback frame rate at H = 64, T = 100, from requestAnimationFrame timestamps (goal >= 55 fps);
* step-key latency: keydown ArrowRight -> the next animation frame after the DOM update, and the
  frame after that (painted) (goal < 50 ms).

    python bench/page.py [--seconds 4] [--keys 30] [--model h64|stack3]

--model stack3: instead of the trained H = 64 LSTM, a 3-layer bidirectional LSTM with H = 64
(untrained, written into the server's data folder with the engine before it starts): six rows
of 100 cells on the page.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parents[1]
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
TEXT = (
    "the quick brown fox jumps over the lazy dog while the cat sleeps in the warm sun "
    "and birds sing soft"
)  # 100 characters: T = 100


def call(url: str, body: dict | None = None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, headers={"content-type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as resp:
        return json.loads(resp.read())


STACK3 = "bench-stack3"


def write_stack3(data_dir: str) -> str:
    """A 3-layer bidirectional LSTM, H = 64, over TEXT's characters, as a user model file."""
    sys.path.insert(0, str(ROOT))
    from engine import ModelConfig, SequenceModel, Vocabulary, save_model

    vocab = Vocabulary.from_text(TEXT, level="char")
    cfg = ModelConfig(
        cell="lstm", vocab_size=len(vocab), hidden_size=64, num_layers=3, bidirectional=True
    )
    folder = Path(data_dir) / "models"
    folder.mkdir(parents=True, exist_ok=True)
    extra = {"id": STACK3, "source": "imported", "example": TEXT, "name": STACK3}
    desc = "3-layer bidirectional LSTM, H = 64 (untrained), for the page benchmark."
    save_model(folder / f"{STACK3}.npz", SequenceModel(cfg), vocab, "next-char", desc, extra)
    return STACK3


def start_server(data_dir: str) -> tuple[subprocess.Popen, str]:
    env = {**os.environ, "UNROLLED_DATA_DIR": data_dir, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "server", "--host", "127.0.0.1", "--port", "0", "--no-browser"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        m = re.search(r"(http://[\w.\-]+:\d+)", line or "")
        if m:
            url = m.group(1)
            threading.Thread(target=proc.stdout.read, daemon=True).start()  # keep the pipe drained
            while time.monotonic() < deadline:  # the address is printed just before it listens
                try:
                    call(f"{url}/api/health")
                    return proc, url
                except OSError:
                    time.sleep(0.1)
        if not line and proc.poll() is not None:
            break
    proc.kill()
    sys.exit("the server did not start")


def train_h64(url: str) -> str:
    job = call(
        f"{url}/api/train",
        {
            "task": "text",
            "text": TEXT * 3,
            "cell": "lstm",
            "hidden_size": 64,
            "steps": 10,
            "name": "bench-h64",
        },
    )
    while True:
        status = call(f"{url}/api/train/{job['id']}")
        if status["state"] == "done":
            return status["model_id"]
        if status["state"] in ("failed", "cancelled"):
            sys.exit(f"training failed: {status}")
        time.sleep(0.2)


FPS_JS = """(seconds) => new Promise((resolve) => {
  const stamps = [];
  const end = performance.now() + seconds * 1000;
  const tick = (now) => {
    stamps.push(now);
    if (now < end) requestAnimationFrame(tick); else resolve(stamps);
  };
  requestAnimationFrame(tick);
})"""

KEY_PROBE_JS = """() => {
  window.__keyLat = [];
  // Bubble phase on window: runs after the page's own keydown handler has updated the DOM.
  // Times are taken when each frame callback runs (performance.now), from the event's time.
  window.addEventListener("keydown", (e) => {
    if (e.key !== "ArrowRight") return;
    const t0 = e.timeStamp;
    requestAnimationFrame(() => {
      const t1 = performance.now();
      requestAnimationFrame(() => window.__keyLat.push([t1 - t0, performance.now() - t0]));
    });
  });
}"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=4.0, help="how long to sample playback")
    ap.add_argument("--keys", type=int, default=30, help="how many ArrowRight presses to time")
    ap.add_argument(
        "--model",
        choices=("h64", "stack3"),
        default="h64",
        help="h64: an LSTM trained through the API; stack3: a 3-layer bidirectional LSTM, H = 64",
    )
    args = ap.parse_args()
    if not Path(CHROMIUM).exists():
        sys.exit(f"{CHROMIUM} is missing")
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as data_dir:
        stack3 = write_stack3(data_dir) if args.model == "stack3" else None
        proc, url = start_server(data_dir)
        try:
            model = stack3 or train_h64(url)
            page_url = f"{url}/?model={model}&text={quote(TEXT)}"
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                page = browser.new_page(viewport={"width": 1280, "height": 720})
                loads, drawn = [], []
                for _ in range(3):  # first load warms the caches (plotly.js is 4.6 MB)
                    page.goto(page_url)
                    page.wait_for_selector("body[data-ready='1']", timeout=30000)
                    loads.append(float(page.get_attribute("body", "data-ready-ms")))
                    drawn.append(float(page.get_attribute("body", "data-drawn-ms")))
                T = page.locator("svg.unrolled g.step").count()
                H = page.evaluate("window.__unrolled.controller.trace.hidden_size")
                shape = page.evaluate(
                    "() => { const t = window.__unrolled.controller.trace;"
                    " return [t.num_layers, t.bidirectional]; }"
                )
                # the heatmaps are drawn once on screen (below a tall stack, after scrolling)
                page.locator("#view-heatmaps").scroll_into_view_if_needed()
                page.wait_for_selector("#view-heatmaps .plot .main-svg", timeout=60000)
                page.wait_for_timeout(500)

                playback = {}
                for speed in (4, 16):  # the default speed, and fast (a step every ~4 frames)
                    page.select_option("#speed-select", str(speed))
                    page.locator("h2", has_text="The unrolled network").click()
                    page.keyboard.press("Home")
                    page.keyboard.press("Space")  # play
                    playback[speed] = page.evaluate(FPS_JS, args.seconds)
                    page.keyboard.press("Space")  # pause

                page.keyboard.press("Home")
                page.evaluate(KEY_PROBE_JS)
                for _ in range(args.keys):
                    page.keyboard.press("ArrowRight")
                    page.wait_for_timeout(60)
                lat = page.evaluate("window.__keyLat")
                browser.close()
        finally:
            proc.terminate()
            proc.wait(timeout=10)

    def p95(xs: list[float]) -> float:
        return sorted(xs)[int(0.95 * (len(xs) - 1))]

    print(
        f"model {model}: LSTM, {shape[0]} layer(s){', bidirectional' if shape[1] else ''}, "
        f"H = {H}, T = {T}"
    )
    print(
        f"load to the forward half drawn (nav start -> drawn mark): cold {drawn[0]:.0f} ms, "
        f"warm {statistics.median(drawn[1:]):.0f} ms"
    )
    print(
        f"load to interactive, gradients drawn too (nav start -> ready flag): cold "
        f"{loads[0]:.0f} ms, warm {statistics.median(loads[1:]):.0f} ms (goal < 1000)"
    )
    for speed, stamps in playback.items():
        gaps = [b - a for a, b in zip(stamps, stamps[1:], strict=False)]
        fps = (len(stamps) - 1) / ((stamps[-1] - stamps[0]) / 1000)
        print(
            f"playback at {speed} steps/s: {fps:.1f} fps over {args.seconds:g} s; frame time "
            f"median {statistics.median(gaps):.1f} ms, p95 {p95(gaps):.1f} ms, "
            f"max {max(gaps):.1f} ms (goal >= 55 fps)"
        )
    first = [a for a, _ in lat]
    painted = [b for _, b in lat]
    print(
        f"step key -> next frame: median {statistics.median(first):.1f} ms, "
        f"p95 {p95(first):.1f} ms; -> painted frame: median "
        f"{statistics.median(painted):.1f} ms, p95 {p95(painted):.1f} ms "
        f"(goal < 50), n = {len(lat)}"
    )


if __name__ == "__main__":
    main()
