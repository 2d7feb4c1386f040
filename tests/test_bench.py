"""The classroom benchmark runs (a few students) and reports no errors in each message mode."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("args", [[], ["--mode", "frames", "--vary"], ["--mode", "json", "--flow"]])
def test_classroom_benchmark_runs_clean(args):
    out = subprocess.run(
        [sys.executable, "bench/classroom.py", "--students", "4", "--traces", "2", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert "errors: 0" in out.stdout
    assert "8 traces in" in out.stdout  # every trace reached its done frame
    p99 = re.search(r"whole trace\s+p50\s+[\d.]+ ms\s+p99\s+([\d.]+) ms", out.stdout)
    assert p99 and float(p99.group(1)) > 0


def test_health_under_load_benchmark_runs_clean():
    out = subprocess.run(
        [sys.executable, "bench/health_under_load.py", "--seconds", "3", "--hidden", "128"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert out.returncode == 0, out.stderr
    assert "errors: 0" in out.stdout
    assert re.search(r"trace\s+200: \d+", out.stdout) and "typing     ok:" in out.stdout
    p99 = re.search(r"/api/health \(\d+ requests\)\s+p50 [\d.]+ ms\s+p99 ([\d.]+) ms", out.stdout)
    assert p99 and float(p99.group(1)) > 0
