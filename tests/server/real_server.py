"""`python -m server` as the teacher runs it, in a subprocess, for the tests that need one."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]


def start(data_dir: Path, cwd: Path | None = None, **env: str) -> tuple[subprocess.Popen, str]:
    """Start a server on a free port with its own data folder (and more UNROLLED_* `env`);
    returns the process (its output piped) and its URL ("http://127.0.0.1:<port>/") once it
    answers."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "server", "--port", "0", "--no-browser"],
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(ROOT), "UNROLLED_DATA_DIR": str(data_dir), **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url, deadline = None, time.monotonic() + 60
    while url is None and time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        m = re.search(r"(http://127\.0\.0\.1:\d+/)", line)
        url = m and m.group(1)
    if url is None:
        stop(proc)
        raise AssertionError("the server did not print its URL")
    while time.monotonic() < deadline:
        try:
            httpx.get(url + "api/health", timeout=1)
            break
        except httpx.TransportError:
            time.sleep(0.05)
    return proc, url


def stop(proc: subprocess.Popen) -> str:
    """Stop the server; returns what it printed after its URL."""
    proc.terminate()
    out, _ = proc.communicate(timeout=20)
    return out
