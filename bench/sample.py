"""Speed of generation: 500 characters from a char LSTM/GRU/RNN with H = 128 (issue 12's goal:
under 100 ms), by engine.sample.sample (the ids) and sample_steps (every step's frame, what
POST /api/sample sends), single-threaded. Run:  python bench/sample.py [--repeat N] [--n N]
"""

import os

# before NumPy loads its BLAS: one thread, as each trace process runs
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from engine import ModelConfig, SequenceModel  # noqa: E402
from engine.sample import sample, sample_steps  # noqa: E402

VOCAB = 96  # printable ASCII
GOAL_MS = 100.0


def best_ms(fn, repeat: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return 1000 * min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5, help="timed runs per figure (best)")
    ap.add_argument("--n", type=int, default=500, help="tokens to generate")
    ap.add_argument("--hidden", type=int, default=128, help="hidden size H")
    args = ap.parse_args()
    print(f"{args.n} tokens, H = {args.hidden}, V = {VOCAB}, temperature 1 (best of {args.repeat})")
    for cell in ("lstm", "gru", "rnn"):
        model = SequenceModel(ModelConfig(cell=cell, vocab_size=VOCAB, hidden_size=args.hidden))
        ids_ms = best_ms(lambda m=model: sample(m, [1, 2, 3], args.n, 1.0, seed=0), args.repeat)
        frames_ms = best_ms(
            lambda m=model: sample_steps(m, [1, 2, 3], args.n, 1.0, seed=0), args.repeat
        )
        verdict = "ok" if ids_ms < GOAL_MS else f"SLOWER than the {GOAL_MS:g} ms goal"
        print(f"{cell:5} sample {ids_ms:6.1f} ms ({verdict})   sample_steps {frames_ms:6.1f} ms")


if __name__ == "__main__":
    main()
