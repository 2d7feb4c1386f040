"""bench/seq2seq.py runs with few repetitions and reports its figures (not a timed test)."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_seq2seq_benchmark_runs_and_reports():
    pytest.importorskip("torch")
    out = subprocess.run(
        [sys.executable, "bench/seq2seq.py", "--quick", "--cells", "lstm"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert out.returncode == 0, out.stderr
    assert re.search(r"lstm\s+loss difference [\d.e+-]+ \(ok\)", out.stdout)
    assert re.search(r"lstm\s+engine\s+[\d.]+ ms", out.stdout)
    assert re.search(r"lstm\s+torch\s+[\d.]+ ms", out.stdout)
    assert re.search(r"lstm\s+ratio\s+[\d.]+x torch", out.stdout)
    assert re.search(r"lstm\s+trace body\s+[\d.]+ ms", out.stdout)
