"""A classroom: N students open /ws in the same second, each runs 5 traces of its own sentence.

    python bench/classroom.py [--students 100] [--traces 5] [--workers 1] [--vary]
                              [--no-deflate] [--mode binary|json|frames] [--flow] [--url URL]
                              [--runs N] [--model demos|stack3] [--shared]

Every student has its own sentence (over the three demo models); by default it traces it 5
times (as a student replaying it would: later ones may come from the server's cache), with
--vary 5 times with different settings (truncate, top_k, random initial state, clip), so that
every trace is computed. Starts a real server (a subprocess, as `unrolled` would), then prints
the number of errors and the p50/p99 of the time to the first frame and to the whole trace (the
"done" frame). Goal on a 2-core machine: zero errors, p99 first frame <= 0.25 s, p99 whole trace
<= 0.5 s.

--model stack3: every student traces a 3-layer bidirectional LSTM, H = 64 (untrained, written
with the engine into the server's own temporary data folder), over a 100-character sentence of
its own (T = 100); --shared: every student the same sentence (a class opening the teacher's
link).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import struct
import subprocess
import sys
import time
from pathlib import Path

import httpx
import websockets

ROOT = Path(__file__).resolve().parents[1]

RHYME_LINES = [
    "twinkle, twinkle, little star",
    "how i wonder what you are",
    "up above the world so high",
    "mary had a little lamb",
    "its fleece was white as snow",
    "humpty dumpty sat on a wall",
    "jack and jill went up the hill",
    "baa, baa, black sheep",
]
SUBJECTS = [("you", "are"), ("they", "are"), ("we", "are"), ("he", "is"), ("she", "is")]
WORDS = ["good", "happy", "late", "ready", "tired", "hungry", "here", "home", "right", "sure"]


def sentence(student: int) -> dict:
    """Each student's own sentence (all different), spread over the three demo models."""
    i, kind = divmod(student, 3)
    if kind == 0:
        line = RHYME_LINES[i % len(RHYME_LINES)]
        return {"model": "lstm-rhymes", "text": f"{line} {WORDS[i // 8 % 10]} {WORDS[i % 10]}"}
    if kind == 1:
        subj, verb = SUBJECTS[i % len(SUBJECTS)]
        word = WORDS[i // len(SUBJECTS) % len(WORDS)]
        return {
            "model": "gru-question",
            "text": f"{verb} {subj} {word}" if i % 2 else f"{subj} {verb} {word}",
        }
    return {"model": "rnn-hello", "text": ("hello" * 10)[i % 5 : i % 5 + 5 + i // 5]}


VARIATIONS = [{}, {"truncate": 3}, {"top_k": 3}, {"initial_state": "random"}, {"clip": 0.5}]


STACK3 = "bench-stack3"
STACK3_TEXT = (
    "the quick brown fox jumps over the lazy dog while the cat sleeps in the warm sun "
    "and birds sing soft"
)  # 100 characters
SETUP = {"model": "demos", "shared": False}  # main() sets these from the options


def stack3_sentence(student: int) -> dict:
    """A 100-character sentence of the student's own (the text rotated), or the shared one."""
    k = 0 if SETUP["shared"] else student % len(STACK3_TEXT)
    return {"model": STACK3, "text": STACK3_TEXT[k:] + STACK3_TEXT[:k]}


def write_stack3(data_dir: Path) -> None:
    """The 3-layer bidirectional LSTM (H = 64) as a user model file in `data_dir`."""
    sys.path.insert(0, str(ROOT))
    from engine import ModelConfig, SequenceModel, Vocabulary, save_model

    vocab = Vocabulary.from_text(STACK3_TEXT, level="char")
    cfg = ModelConfig(
        cell="lstm", vocab_size=len(vocab), hidden_size=64, num_layers=3, bidirectional=True
    )
    (data_dir / "models").mkdir(parents=True, exist_ok=True)
    extra = {"id": STACK3, "source": "imported", "example": STACK3_TEXT, "name": STACK3}
    save_model(
        data_dir / "models" / f"{STACK3}.npz", SequenceModel(cfg), vocab, "next-char", "", extra
    )


def request(student: int, k: int, vary: bool, mode: str = "binary", flow: bool = False) -> dict:
    """Trace k of a student: the same sentence again, or (vary) with other settings.

    Like the page by default: each half of the trace as one binary message, and no
    gradient-flow matrix (the page asks for it only while its Gradients view is open).
    mode "json" asks for each half as one JSON message, "frames" for a message per frame."""
    body = stack3_sentence(student) if SETUP["model"] == "stack3" else sentence(student)
    body["flow"] = flow
    if mode == "binary":
        body["encoding"] = "binary"
    elif mode == "json":
        body["batch"] = True
    if vary:
        body.update(VARIATIONS[k % len(VARIATIONS)], seed=student)
    return body


def start_server(workers: int, data_dir: Path | None = None) -> tuple[subprocess.Popen, str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "UNROLLED_WS_RATE": "100"}
    if data_dir is not None:
        env["UNROLLED_DATA_DIR"] = str(data_dir)
    proc = subprocess.Popen(
        [sys.executable, "-m", "server", "--port", "0", "--no-browser", "--workers", str(workers)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    url = None
    while url is None:
        line = proc.stdout.readline()
        if not line:
            raise SystemExit("the server did not start")
        m = re.search(r"(http://127\.0\.0\.1:\d+/)", line)
        url = m and m.group(1)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "api/health", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            time.sleep(0.1)
    time.sleep(1.0 if workers > 1 else 0.2)  # let every worker finish starting
    return proc, url


async def student(
    ws_url: str,
    i: int,
    traces: int,
    vary: bool,
    go: asyncio.Event,
    out: dict,
    deflate: bool,
    mode: str,
    flow: bool,
) -> None:
    try:
        async with websockets.connect(
            ws_url, max_size=None, open_timeout=30, compression="deflate" if deflate else None
        ) as ws:
            await go.wait()
            for k in range(traces):
                t0 = time.perf_counter()
                await ws.send(json.dumps(request(i, k, vary, mode, flow)))
                first = None
                while True:
                    # Only the message's head is looked at: the client must not eat the CPU
                    # the server needs (both run on this machine).
                    frame = await ws.recv()
                    if first is None:
                        first = time.perf_counter() - t0
                    if isinstance(frame, bytes):  # binary: the done frame is in the header
                        (n,) = struct.unpack_from("<I", frame)
                        frame = frame[4 : 4 + n].decode()
                    head = frame[:40]
                    if '"type":"error"' in head:
                        out["errors"].append(json.loads(frame)["message"])
                        break
                    # batch: the done frame ends the second message (a JSON array of frames)
                    if '"phase":"done"' in (head if mode == "frames" else frame):
                        out["first"].append(first)
                        out["whole"].append(time.perf_counter() - t0)
                        out["ends"].append((k, time.perf_counter() - out["start"]))
                        break
    except Exception as e:  # count, don't crash: the figure is the number of errors
        out["errors"].append(f"{type(e).__name__}: {e}")


def cpu_seconds(proc: subprocess.Popen | None) -> dict[int, float]:
    """pid -> user + system CPU seconds so far, for a process and its descendants (Linux)."""
    if proc is None or not Path("/proc").is_dir():
        return {}
    tick = os.sysconf("SC_CLK_TCK")
    pids, out = [proc.pid], {}
    while pids:
        pid = pids.pop()
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            out[pid] = (int(fields[11]) + int(fields[12])) / tick  # utime, stime
            for task in Path(f"/proc/{pid}/task").iterdir():
                pids.extend(int(c) for c in (task / "children").read_text().split())
        except OSError:
            continue
    return out


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, int(round(q / 100 * (len(s) - 1))))]


async def classroom(
    url: str, students: int, traces: int, vary: bool, deflate: bool, mode: str, flow: bool
) -> dict:
    ws_url = url.replace("http://", "ws://") + "ws"
    out: dict = {"first": [], "whole": [], "errors": [], "ends": []}
    go = asyncio.Event()
    tasks = [
        asyncio.create_task(student(ws_url, i, traces, vary, go, out, deflate, mode, flow))
        for i in range(students)
    ]
    await asyncio.sleep(0.5)  # everyone connects within the same second...
    start = out["start"] = time.perf_counter()
    go.set()  # ...and starts at once
    await asyncio.gather(*tasks)
    out["elapsed"] = time.perf_counter() - start
    return out


def run(coroutine):
    """asyncio.run on uvloop (as the server runs) when it is installed: the students' side
    shares this machine's two cores with the server, so it should take as little as it can."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coroutine)
    return uvloop.run(coroutine)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--students", type=int, default=100)
    p.add_argument("--traces", type=int, default=5)
    p.add_argument("--workers", type=int, default=1)
    p.add_argument(
        "--vary",
        action="store_true",
        help="each of a student's traces uses other settings (no trace is served from cache)",
    )
    p.add_argument(
        "--no-deflate",
        action="store_true",
        help="do not offer permessage-deflate (browsers always offer it; the server then "
        "compresses every frame)",
    )
    p.add_argument(
        "--mode",
        choices=("binary", "json", "frames"),
        default="binary",
        help="how the trace comes: each half as one binary message (as the page asks), as one "
        "JSON message, or a JSON message per frame (as scripts get it by default)",
    )
    p.add_argument(
        "--flow",
        action="store_true",
        help="ask for the gradient-flow matrix too (as the page does when its Gradients view is "
        "open)",
    )
    p.add_argument("--url", help="use a server already running there (e.g. under a profiler)")
    p.add_argument(
        "--runs",
        type=int,
        default=1,
        help="repeat the whole measurement (a fresh server each time) and also print the median "
        "and the worst run: on a shared machine one run can be 50%% slower than the next",
    )
    p.add_argument(
        "--model",
        choices=("demos", "stack3"),
        default="demos",
        help="demos: sentences over the three demo models; stack3: a 3-layer bidirectional "
        "LSTM, H = 64, T = 100",
    )
    p.add_argument(
        "--shared",
        action="store_true",
        help="with --model stack3: every student the same sentence (the teacher's link)",
    )
    args = p.parse_args()
    SETUP.update(model=args.model, shared=args.shared)
    results = []
    for r in range(args.runs):
        if r:
            time.sleep(5)  # let the load of the last run settle
            print()
        results.append(measure(args))
    if args.runs > 1:
        print(f"\nover {args.runs} runs (median / worst):")
        print(f"errors       {sum(x['errors'] for x in results)} in all")
        for name in ("first", "whole"):
            p99s = sorted(x[name] for x in results)
            label = "first frame" if name == "first" else "whole trace"
            median = p99s[len(p99s) // 2]
            print(f"{label:12s} p99 {median * 1000:7.1f} ms / {p99s[-1] * 1000:7.1f} ms")


def measure(args) -> dict:
    """One classroom burst; prints its figures and returns its error count and p99s."""
    load = os.getloadavg()[0]  # other work on this machine (1-minute average) before we start
    tmp = None
    if args.model == "stack3" and not args.url:
        import tempfile

        tmp = tempfile.TemporaryDirectory()
        write_stack3(Path(tmp.name))
    proc, url = (
        (None, args.url)
        if args.url
        else start_server(args.workers, Path(tmp.name) if tmp else None)
    )
    try:
        server_cpu0 = cpu_seconds(proc)
        client_cpu0 = time.process_time()
        out = run(
            classroom(
                url,
                args.students,
                args.traces,
                args.vary,
                not args.no_deflate,
                args.mode,
                args.flow,
            )
        )
        client_cpu = time.process_time() - client_cpu0
        server_cpu = {k: v - server_cpu0.get(k, 0.0) for k, v in cpu_seconds(proc).items()}
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=10)
        if tmp is not None:
            tmp.cleanup()
    n = len(out["whole"])
    mode = "5 settings" if args.vary else "the same sentence again"
    print(
        f"{args.students} students x {args.traces} traces ({mode}), {args.workers} worker(s), "
        f"{os.cpu_count()} CPUs, deflate {'off' if args.no_deflate else 'on'}"
        f", {args.mode}{', flow' if args.flow else ''}: "
        f"{n} traces in "
        f"{out['elapsed']:.2f} s; load average before {load:.2f}"
    )
    per = " + ".join(f"{v:.2f}" for v in server_cpu.values())
    total = sum(server_cpu.values())
    print(f"CPU seconds: server {total:.2f} (per process: {per}), this client {client_cpu:.2f}")
    print(
        f"errors: {len(out['errors'])}" + (f" (first: {out['errors'][0]})" if out["errors"] else "")
    )
    ends = out["ends"]
    if ends:
        rounds = range(args.traces)
        last = [max((t for k, t in ends if k == j), default=float("nan")) for j in rounds]
        print("each round's last trace done at", ", ".join(f"{t * 1000:.0f}" for t in last), "ms")
    for name in ("first", "whole"):
        label = "first frame" if name == "first" else "whole trace"
        p50, p99, most = pct(out[name], 50), pct(out[name], 99), max(out[name], default=0)
        ms = [f"{v * 1000:7.1f} ms" for v in (p50, p99, most)]
        print(f"{label:12s} p50 {ms[0]}   p99 {ms[1]}   max {ms[2]}")
    return {
        "errors": len(out["errors"]),
        "first": pct(out["first"], 99),
        "whole": pct(out["whole"], 99),
    }


if __name__ == "__main__":
    main()
