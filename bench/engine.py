"""Speed and memory of the NumPy cells against PyTorch's nn.LSTM / nn.GRU / nn.RNN.

Ours: forward with every gate recorded, then full BPTT with every dgates, dh (and dc) record.
Torch: forward, loss = sum(dh * h), backward (parameter gradients and dx), on the same weights.
Both float64 and single-threaded. Run:  python bench/engine.py [--repeat N] [--no-memory]
"""

import os

# before NumPy/torch load their BLAS: one thread each, so the comparison is per core
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from engine import GRU, LSTM, RNN  # noqa: E402

CONFIGS = [(50, 32, 30), (200, 128, 64), (1000, 256, 64)]  # (T, H, I)
GOALS = {50: 0.6, 200: 0.6, 1000: 0.8}  # ours / torch
CELLS = {"lstm": LSTM, "gru": GRU, "rnn": RNN}


def timed(fn, repeat: int) -> float:
    """Best wall time in ms over ``repeat`` runs, after one warm-up run.

    The best run, as timeit reports, is the least disturbed by other work on the machine.
    """
    fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return 1000 * min(times)


def bench_pair(kind: str, T: int, H: int, I: int, repeat: int):  # noqa: E741
    cell = CELLS[kind](I, H, seed=0)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((T, I))
    dh = rng.standard_normal((T, H))

    def ours():
        tape = cell.forward(x)
        tape.backward(dh)

    ours_ms = timed(ours, repeat)
    try:
        import torch
    except ImportError:
        return ours_ms, None
    torch.set_num_threads(1)
    m = getattr(torch.nn, kind.upper())(I, H).double()
    m.load_state_dict({k + "_l0": torch.from_numpy(v) for k, v in cell.params.items()})
    tx, tdh = torch.from_numpy(x)[:, None], torch.from_numpy(dh)[:, None]

    def theirs():
        xx = tx.clone().requires_grad_()
        out = m(xx)[0]
        (out * tdh).sum().backward()

    return ours_ms, timed(theirs, repeat)


# VmHWM (peak resident memory) belongs to the new process image; ru_maxrss would also count
# the parent's memory at fork time
MEMORY_SCRIPT = """
import os, sys, tracemalloc
os.environ["OPENBLAS_NUM_THREADS"] = "1"
sys.path.insert(0, {root!r})
import numpy as np
from engine import LSTM

def hwm():
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmHWM"))

base = hwm()
T, H, I = 3000, 256, 64
cell = LSTM(I, H, seed=0)
rng = np.random.default_rng(0)
x, dh = rng.standard_normal((T, I)), rng.standard_normal((T, H))
tracemalloc.start()
grads = cell.forward(x).backward(dh)
peak = tracemalloc.get_traced_memory()[1]
print(peak, base, hwm())
"""


def peak_memory() -> tuple[float, float, float]:
    """LSTM T=3000, H=256 forward + backward in a fresh process -> MB (traced, base, peak)."""
    root = str(Path(__file__).resolve().parents[1])
    out = subprocess.run(
        [sys.executable, "-c", MEMORY_SCRIPT.format(root=root)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    peak, base, rss = (int(v) for v in out)
    return peak / 2**20, base / 1024, rss / 1024  # VmHWM is in KiB


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=7, help="timed runs per figure (median)")
    ap.add_argument("--cells", default="lstm,gru,rnn", help="comma-separated cell kinds")
    ap.add_argument("--no-memory", action="store_true", help="skip the memory measurement")
    args = ap.parse_args()
    print(f"numpy {np.__version__}, OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE')}")
    print(f"{'config':<28}{'ours ms':>10}{'torch ms':>10}{'ratio':>8}{'goal':>7}")
    for kind in args.cells.split(","):
        for T, H, I in CONFIGS:  # noqa: E741
            repeat = max(3, args.repeat * 50 // T) if T <= 200 else args.repeat
            ours, theirs = bench_pair(kind, T, H, I, repeat)
            label = f"{kind} T={T} H={H} I={I}"
            if theirs is None:
                print(f"{label:<28}{ours:>10.2f}{'-':>10}")
                continue
            ratio = ours / theirs
            goal = GOALS[T]
            mark = "ok" if ratio <= goal else "MISS"
            print(f"{label:<28}{ours:>10.2f}{theirs:>10.2f}{ratio:>8.2f}{goal:>5.1f} {mark}")
    if not args.no_memory:
        traced, base, rss = peak_memory()
        print(
            f"LSTM T=3000 H=256 I=64 forward+backward: traced NumPy peak {traced:.0f} MB, "
            f"process peak RSS {rss:.0f} MB (interpreter + NumPy alone {base:.0f} MB); goal < 1024"
        )


if __name__ == "__main__":
    main()
