"""The benchmarks run with small arguments and report their figures (they are not timed tests)."""

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


def test_train_benchmark_runs_and_reports():
    out = subprocess.run(
        [sys.executable, "bench/train.py", "--quick"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert out.returncode == 0, out.stderr
    assert re.search(r"first step loss difference [\d.e+-]+ \(ok", out.stdout)
    assert re.search(r"engine\s+[\d.]+ steps/s", out.stdout)
    assert re.search(r"torch\s+[\d.]+ steps/s", out.stdout)
    assert re.search(r"ratio\s+[\d.]+x torch", out.stdout)
    assert re.search(r"hello .*loss per char < 0\.1 after \d+ steps in [\d.]+ s", out.stdout)


def test_sync_benchmark_runs_clean():
    """A few students, both brokers (Redis where redis-server is installed, two workers)."""
    out = subprocess.run(
        [sys.executable, "bench/sync.py", "--students", "6", "--steps", "5"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stdout.count("errors: 0") == (1 if "redis: skipped" in out.stdout else 2)
    p99 = re.search(r"to all students\s+p50 [\d.]+ ms\s+p99 ([\d.]+) ms", out.stdout)
    assert p99 and float(p99.group(1)) > 0
