"""Does one heavy client freeze the server for everyone? `/api/health` latency while one client
drives the heaviest model the limits allow, or (--train) while a training job runs.

    python bench/health_under_load.py [--seconds 20] [--hidden 2048] [--cell lstm]
    python bench/health_under_load.py --train [--seconds 20]

--train: through the API, a 2-layer LSTM (H = 128, chunks of 50, Adam) trains on 20 000
characters (the engine's own source, GET /api/train/presets); meanwhile `/api/health` is asked
every 20 ms and another student traces a demo model every 250 ms (a new sentence each, so none
is cached). Prints both latencies and the training speed it kept (steps/s), then cancels it.

Makes the model with the engine (the largest hidden size an import accepts, by default) in a
temporary data folder, starts a real server on 127.0.0.1, and from one client, for `--seconds`:
traces as long as `max_work` allows (a new seed each, so none is cached), gradient checks (of a
hidden unit and of a weight), and live typing on a WebSocket, all at once and without pause;
meanwhile `/api/health` is asked every 20 ms. Prints its latency p50/p99/max (goal: p99 under
100 ms), what the heavy requests got (200, 429 = rate-limited, 422 = over a budget) and the
peak memory of the server and its trace processes.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import httpx
import websockets

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine.config import ModelConfig  # noqa: E402
from engine.model import SequenceModel  # noqa: E402
from engine.tokenize import Vocabulary  # noqa: E402
from server.core.settings import Settings  # noqa: E402
from server.models.registry import Registry  # noqa: E402
from server.tracing.request import GATES  # noqa: E402

ALPHABET = list("abcdefghijklmnopqrstuvwxyz ")
HEALTH_EVERY = 0.02


def make_model(data_dir: Path, cell: str, hidden: int) -> str:
    vocab = Vocabulary(ALPHABET)
    model = SequenceModel(ModelConfig(cell=cell, vocab_size=len(vocab), hidden_size=hidden))
    entry = Registry(data_dir).add(
        model, vocab, source="imported", name="heavy", task="next-char", description="heavy"
    )
    return entry.id


def start_server(data_dir: Path) -> tuple[subprocess.Popen, str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "UNROLLED_DATA_DIR": str(data_dir)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "server", "--host", "127.0.0.1", "--port", "0", "--no-browser"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = re.search(r"http://127\.0\.0\.1:\d+", proc.stdout.readline()).group(0)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/api/health", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            time.sleep(0.1)
    # keep reading the log (a line per request) so the pipe never fills and stalls the server
    threading.Thread(target=lambda: [None for _ in proc.stdout], daemon=True).start()
    return proc, url


def peak_memory_mb(pid: int) -> float:
    """VmHWM (peak resident memory) of a process and its children, from /proc (Linux)."""
    total = 0.0
    pids = [pid]
    for task in Path(f"/proc/{pid}/task").glob("*"):
        pids += [int(c) for c in (task / "children").read_text().split()]
    for p in pids:
        try:
            status = Path(f"/proc/{p}/status").read_text()
            total += int(re.search(r"VmHWM:\s+(\d+)", status).group(1)) / 1024
        except (OSError, AttributeError):
            pass
    return total


async def drive(url: str, model: str, tokens: int, H: int, seconds: float) -> dict:
    stop = time.monotonic() + seconds
    health: list[float] = []
    got: dict[str, Counter] = {k: Counter() for k in ("trace", "gradcheck", "typing")}
    text = ("hello world " * 100)[:tokens]

    async with httpx.AsyncClient(base_url=url, timeout=120) as client:

        async def ping() -> None:
            while time.monotonic() < stop:
                start = time.perf_counter()
                r = await client.get("/api/health")
                health.append(time.perf_counter() - start)
                assert r.status_code == 200
                await asyncio.sleep(HEALTH_EVERY)

        async def traces() -> None:
            seed = 0
            while time.monotonic() < stop:
                seed += 1
                body = {"model": model, "text": text, "initial_state": "random", "seed": seed}
                r = await client.post("/api/trace", json=body)
                got["trace"][r.status_code] += 1
                if r.status_code == 429:
                    await asyncio.sleep(float(r.headers.get("retry-after", 1)))

        async def gradchecks() -> None:
            n = 0
            while time.monotonic() < stop:
                n += 1
                body = {"model": model, "text": text, "t": n % tokens, "unit": n % H}
                if n % 2:
                    body |= {"quantity": "rnn.weight_hh_l0", "index": [n % H, (3 * n) % H]}
                r = await client.post("/api/gradcheck", json=body)
                got["gradcheck"][r.status_code] += 1
                if r.status_code == 429:
                    await asyncio.sleep(float(r.headers.get("retry-after", 1)))

        async def typing() -> None:
            ws_url = url.replace("http://", "ws://") + "/ws"
            async with websockets.connect(ws_url, max_size=None) as ws:
                typed = 0
                while time.monotonic() < stop:
                    if typed + tokens > 400:
                        await ws.send(json.dumps({"type": "reset", "model": model}))
                        await ws.recv()
                        typed = 0
                    feed = {"type": "feed", "model": model, "text": text}
                    await ws.send(json.dumps(feed))
                    for _ in range(tokens):
                        frame = json.loads(await ws.recv())
                        if frame.get("type") == "error":
                            got["typing"]["error"] += 1
                            break
                    else:
                        got["typing"]["ok"] += 1
                        typed += tokens
                    await asyncio.sleep(0.05)  # a fast typist

        await asyncio.gather(ping(), traces(), gradchecks(), typing())
    return {"health": health, "got": got}


STUDENT_EVERY = 0.25
TRAIN_JOB = {"cell": "lstm", "hidden_size": 128, "layers": 2, "seq_len": 50, "lr": 0.003}


async def drive_training(url: str, seconds: float, train: bool = True) -> dict:
    """Health and a student's traces while a 2-layer LSTM H=128 trains on 20 kB (or, with
    train=False, the same without the job: the baseline on this machine now)."""
    health: list[float] = []
    traces: list[float] = []
    async with httpx.AsyncClient(base_url=url, timeout=120) as client:
        presets = (await client.get("/api/train/presets")).json()
        text = next(p["text"] for p in presets if p["id"] == "source")
        body = {"task": "text", "text": text, "steps": 5000, **TRAIN_JOB}
        job = {"id": None}
        if train:
            job = (await client.post("/api/train", json=body)).json()
            while (await client.get(f"/api/train/{job['id']}")).json()["step"] < 1:
                await asyncio.sleep(0.1)  # the job's first step: it is training from here on
            start_step = (await client.get(f"/api/train/{job['id']}")).json()["step"]
        stop = time.monotonic() + seconds
        t_start = time.monotonic()

        async def ping() -> None:
            while time.monotonic() < stop:
                start = time.perf_counter()
                r = await client.get("/api/health")
                health.append(time.perf_counter() - start)
                assert r.status_code == 200
                await asyncio.sleep(HEALTH_EVERY)

        async def student() -> None:
            n = 0
            while time.monotonic() < stop:
                n += 1
                start = time.perf_counter()
                r = await client.post(
                    "/api/trace", json={"model": "lstm-rhymes", "text": f"{n} hi"}
                )
                traces.append(time.perf_counter() - start)
                assert r.status_code == 200, r.text
                await asyncio.sleep(STUDENT_EVERY)  # within api_rate (5 per second)

        await asyncio.gather(ping(), student())
        if not train:
            return {"health": health, "traces": traces}
        status = (await client.get(f"/api/train/{job['id']}")).json()
        await client.delete(f"/api/train/{job['id']}")
    rate = (status["step"] - start_step) / (time.monotonic() - t_start)
    return {"health": health, "traces": traces, "rate": rate, "state": status["state"]}


def report(what: str, result: dict) -> float:
    p50, p99, top = percentiles(result["traces"])
    print(f"{what}: student traces ({len(result['traces'])})  p50 {p50:.1f} ms  p99 {p99:.1f} ms")
    p50, p99, top = percentiles(result["health"])
    print(
        f"{what}: /api/health ({len(result['health'])} requests)  p50 {p50:.1f} ms  "
        f"p99 {p99:.1f} ms  max {top:.1f} ms"
    )
    return p99


def percentiles(xs: list[float]) -> tuple[float, float, float]:
    ms = sorted(1000 * x for x in xs)
    return statistics.median(ms), ms[min(len(ms) - 1, int(0.99 * len(ms)))], ms[-1]


def main_train(seconds: float) -> None:
    with tempfile.TemporaryDirectory(prefix="unrolled-bench-") as tmp:
        proc, url = start_server(Path(tmp))
        try:
            print(
                f"training: LSTM 2 x 128 on 20 000 characters, chunks of 50; {seconds:g} s of "
                "/api/health every 20 ms and a student's trace (lstm-rhymes) every 250 ms"
            )
            baseline = asyncio.run(drive_training(url, seconds, train=False))
            result = asyncio.run(drive_training(url, seconds))
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    report("without training", baseline)
    p99 = report("while training", result)
    print(f"training kept {result['rate']:.1f} steps/s (job {result['state']} at the end)")
    print(f"goal: /api/health p99 < 100 ms while training: {'met' if p99 < 100 else 'NOT met'}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seconds", type=float, default=20.0)
    p.add_argument("--hidden", type=int, default=Settings.model_fields["import_max_hidden"].default)
    p.add_argument("--cell", choices=sorted(GATES), default="lstm")
    p.add_argument("--train", action="store_true", help="measure while a training job runs")
    args = p.parse_args()
    if args.train:
        main_train(args.seconds)
        return

    settings = Settings()
    per_token = GATES[args.cell] * args.hidden**2
    tokens = max(1, min(settings.max_tokens, int(settings.max_work // per_token)))
    with tempfile.TemporaryDirectory(prefix="unrolled-bench-") as tmp:
        data = Path(tmp)
        model = make_model(data, args.cell, args.hidden)
        proc, url = start_server(data)
        try:
            print(
                f"model: {args.cell.upper()} H={args.hidden}; {tokens} token(s) per request "
                f"(max_work {settings.max_work:.2g}); {args.seconds:g} s from one client"
            )
            result = asyncio.run(drive(url, model, tokens, args.hidden, args.seconds))
            memory = peak_memory_mb(proc.pid)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    ms = sorted(1000 * x for x in result["health"])
    p50 = statistics.median(ms)
    p99 = ms[min(len(ms) - 1, int(0.99 * len(ms)))]
    for what, counts in result["got"].items():
        shown = ", ".join(f"{k}: {v}" for k, v in sorted(counts.items(), key=str))
        print(f"{what:10} {shown or 'none'}")
    errors = sum(v for c in result["got"].values() for k, v in c.items() if str(k)[0] == "5")
    print(f"errors: {errors}")
    print(f"peak memory of the server and its trace processes: {memory:.0f} MB")
    print(
        f"/api/health ({len(ms)} requests)  p50 {p50:.1f} ms  p99 {p99:.1f} ms  "
        f"max {ms[-1]:.1f} ms  (goal: p99 < 100 ms: {'met' if p99 < 100 else 'NOT met'})"
    )


if __name__ == "__main__":
    main()
