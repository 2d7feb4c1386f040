"""Classroom sync: how long a teacher's step takes to reach every one of N connected students.

    python bench/sync.py [--students 100] [--steps 60] [--broker in-process|redis|both]
                         [--workers W] [--gap 0.05]

Starts a real server (a subprocess, as `unrolled` would): with the in-process broker one worker;
with Redis (a `redis-server` of its own on a free port) `--workers` processes (default 2), so
students land on both and the teacher's steps cross between them through Redis pub/sub. N
students and a teacher connect to /ws/room/{code} (the `websockets` package, all in this
process); the teacher sends a step every --gap seconds. For each step, the time from the send
until the LAST student has it; p50/p99/max over the steps, and the p99 over every (step,
student) delivery. Goal on a 2-core machine: p99 to all students under 100 ms, both brokers.
The students' side runs in this one process and is part of what is timed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import httpx
import websockets

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_redis() -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = subprocess.Popen(
        [
            shutil.which("redis-server"),
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            tempfile.mkdtemp(prefix="unrolled-redis-"),
        ],  # fmt: skip
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2) as s:
                s.sendall(b"PING\r\n")
                if s.recv(16).startswith(b"+PONG"):
                    return proc, f"redis://127.0.0.1:{port}/0"
        except OSError:
            time.sleep(0.05)
    proc.kill()
    sys.exit("redis-server did not start")


def start_server(workers: int, broker_url: str) -> tuple[subprocess.Popen, str, Path]:
    data = Path(tempfile.mkdtemp(prefix="unrolled-sync-"))
    log = data / "server.log"
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "UNROLLED_DATA_DIR": str(data),
        "UNROLLED_BROKER_URL": broker_url,
        "UNROLLED_TRACE_PROCESSES": "0",  # no traces here: rooms only
        "UNROLLED_API_RATE": "1000",
    }
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "server",
                "--port",
                "0",
                "--no-browser",
                "--workers",
                str(workers),
            ],  # fmt: skip
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    deadline = time.monotonic() + 60
    url = None
    while url is None and time.monotonic() < deadline and proc.poll() is None:
        found = re.search(r"serving at (http://127\.0\.0\.1:\d+/)", log.read_text())
        url = found.group(1) if found else None
        time.sleep(0.05)
    if url is None:
        sys.exit("the server did not start:\n" + log.read_text())
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "api/health", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            time.sleep(0.05)
    time.sleep(1.0 if workers > 1 else 0)  # the other workers finish starting
    return proc, url, data


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


async def run_room(url: str, students: int, steps: int, gap: float) -> dict:
    room = httpx.post(url + "api/rooms", timeout=10).json()
    ws_url = url.replace("http", "ws", 1) + f"ws/room/{room['code']}"
    arrivals: dict[int, list[float]] = {k: [] for k in range(1, steps + 1)}
    workers: Counter = Counter()
    errors: list[str] = []
    done = {k: asyncio.Event() for k in arrivals}

    async def student(ws) -> None:
        async for raw in ws:
            message = json.loads(raw)
            if message["type"] == "state":
                seq = message["state"]["t"] + 1
                arrivals[seq].append(time.perf_counter())
                if len(arrivals[seq]) == students:
                    done[seq].set()
            elif message["type"] == "error":
                errors.append(message["message"])

    sockets = []
    for _ in range(students):
        ws = await websockets.connect(ws_url, max_queue=None)
        hello = json.loads(await ws.recv())
        workers[hello["worker"]] += 1
        sockets.append(ws)
    readers = [asyncio.create_task(student(ws)) for ws in sockets]
    teacher = await websockets.connect(ws_url)
    teacher_worker = json.loads(await teacher.recv())["worker"]
    await teacher.send(json.dumps({"type": "teach", "secret": room["secret"]}))
    while json.loads(await teacher.recv())["type"] != "teaching":
        pass

    to_all: list[float] = []
    each: list[float] = []
    for k in range(steps):
        state = {"model": "lstm-rhymes", "text": "twinkle twinkle little star", "t": k,
                 "phase": "forward", "view": "heatmaps", "unit": k % 8}  # fmt: skip
        sent = time.perf_counter()
        await teacher.send(json.dumps({"type": "state", "state": state}))
        try:
            await asyncio.wait_for(done[k + 1].wait(), 5)
        except TimeoutError:
            errors.append(f"step {k}: {len(arrivals[k + 1])} of {students} students in 5 s")
        times = [t - sent for t in arrivals[k + 1]]
        if times:
            to_all.append(max(times))
            each.extend(times)
        await asyncio.sleep(gap)
    await teacher.close()
    for ws in sockets:
        await ws.close()
    for task in readers:
        task.cancel()
    return {
        "to_all": to_all,
        "each": each,
        "errors": errors,
        "workers": workers,
        "teacher_worker": teacher_worker,
    }


def report(name: str, students: int, steps: int, result: dict) -> None:
    ms = lambda s: f"{s * 1000:.1f} ms"  # noqa: E731
    to_all, each = result["to_all"], result["each"]
    crossing = sum(n for pid, n in result["workers"].items() if pid != result["teacher_worker"])
    print(f"{name}: {students} students, {steps} steps, {len(result['workers'])} worker(s) "
          f"({crossing} students on another worker than the teacher's)")  # fmt: skip
    if to_all:
        print(f"  to all students   p50 {ms(percentile(to_all, 50))}   p99 "
              f"{ms(percentile(to_all, 99))}   max {ms(max(to_all))}")  # fmt: skip
        print(f"  to each student   p50 {ms(percentile(each, 50))}   p99 "
              f"{ms(percentile(each, 99))}")  # fmt: skip
    print(f"  errors: {len(result['errors'])}")
    for e in result["errors"][:5]:
        print("   ", e)


def bench(name: str, workers: int, broker_url: str, args) -> int:
    proc, url, _ = start_server(workers, broker_url)
    try:
        result = asyncio.run(run_room(url, args.students, args.steps, args.gap))
    finally:
        stop(proc)
    report(name, args.students, args.steps, result)
    return len(result["errors"])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--students", type=int, default=100)
    p.add_argument("--steps", type=int, default=60)
    p.add_argument("--broker", choices=["in-process", "redis", "both"], default="both")
    p.add_argument("--workers", type=int, default=2, help="server workers with Redis")
    p.add_argument("--gap", type=float, default=0.05, help="seconds between the teacher's steps")
    args = p.parse_args()
    errors = 0
    if args.broker in ("in-process", "both"):
        errors += bench("in-process broker (1 worker)", 1, "", args)
    if args.broker in ("redis", "both"):
        if shutil.which("redis-server") is None:
            print("redis: skipped (redis-server is not installed)")
        else:
            redis, url = start_redis()
            try:
                errors += bench(f"redis broker ({args.workers} workers)", args.workers, url, args)
            finally:
                redis.terminate()
                redis.wait(timeout=10)
    sys.exit(1 if errors else 0)


if __name__ == "__main__":
    main()
