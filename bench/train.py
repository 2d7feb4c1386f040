"""Training speed of the engine against PyTorch (CPU, float64, one thread), on the same work.

1. A character LSTM (H=128, chunks of 50, Adam, clip 5) over ~20 kB of text (the nursery rhymes
   of engine/tasks.py, repeated): the engine's own loop (engine.train.train_lm) against a
   standard PyTorch loop (nn.LSTM + nn.Linear on one-hot inputs, CrossEntropyLoss(sum), Adam,
   clip_grad_norm_, the state detached between chunks), both from the engine's initial weights
   (loaded into torch by their state-dict names), so both compute the same thing: the first
   step's loss is checked to agree to 1e-9. Reports steps/s for each and the ratio.
2. "hello" (engine/tasks.py) trained by the recipe until the loss per character is below 0.1:
   how long it takes.

Goals: engine >= 1.5x PyTorch's steps/s; hello in < 1 s.
Run:  python bench/train.py [--steps N] [--quick]
"""

import os

# before NumPy/torch load their BLAS: one thread each, so the comparison is per core
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from engine import recipe  # noqa: E402
from engine.model import SequenceModel  # noqa: E402
from engine.tasks import BUILTIN, RHYMES, text_task  # noqa: E402
from engine.train import TrainConfig, train_lm  # noqa: E402

HIDDEN, SEQ_LEN, LR, CLIP = 128, 50, 2e-3, 5.0
TEXT_BYTES = 20_000
SPEED_GOAL, HELLO_GOAL_S, HELLO_LOSS = 1.5, 1.0, 0.1


def corpus() -> str:
    """~20 kB of text, the same on every run."""
    return (RHYMES * (TEXT_BYTES // len(RHYMES) + 1))[:TEXT_BYTES]


def lm_config(steps: int) -> TrainConfig:
    return TrainConfig(steps=steps, seq_len=SEQ_LEN, optimizer="adam", lr=LR, clip_norm=CLIP)


def engine_run(model: SequenceModel, ids: np.ndarray, steps: int) -> tuple[float, list[float]]:
    """Seconds for `steps` updates of the engine's loop, and each update's loss."""
    losses: list[float] = []
    t0 = time.perf_counter()
    train_lm(model, ids, lm_config(steps), on_step=lambda info: losses.append(info["raw_loss"]))
    return time.perf_counter() - t0, losses


def torch_run(torch, state: dict, ids: np.ndarray, V: int, steps: int) -> tuple[float, list]:
    """The same training in a standard PyTorch loop: seconds and each update's loss."""
    nn = torch.nn

    class CharLSTM(nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = nn.LSTM(V, HIDDEN)
            self.head = nn.Linear(HIDDEN, V)

        def forward(self, x, hc):
            h, hc = self.rnn(x, hc)
            return self.head(h[:, 0]), hc

    model = CharLSTM().double()
    model.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in state.items()})
    opt = torch.optim.Adam(model.parameters(), lr=LR)
    loss_fn = nn.CrossEntropyLoss(reduction="sum")
    ids_t = torch.from_numpy(ids)
    onehot = torch.eye(V, dtype=torch.float64)[ids_t][:, None]  # (N, 1, V)
    seq_len = min(SEQ_LEN, len(ids) - 1)
    losses: list[float] = []
    t0 = time.perf_counter()
    p, hc = 0, None
    for _ in range(steps):
        if p + seq_len + 1 > len(ids):
            p, hc = 0, None  # end of data: a zero state, as train_lm
        logits, hc = model(onehot[p : p + seq_len], hc)
        loss = loss_fn(logits, ids_t[p + 1 : p + seq_len + 1])
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), CLIP)
        opt.step()
        hc = tuple(s.detach() for s in hc)  # truncated BPTT: no gradient across chunks
        p += seq_len
        losses.append(loss.item())
    return time.perf_counter() - t0, losses


def bench_lm(steps: int) -> None:
    task = text_task(corpus())
    vocab = task.vocabulary()
    ids = np.asarray(vocab.encode(task.text), dtype=np.int64)
    model = SequenceModel(recipe.model_config(task, vocab, "lstm", HIDDEN))
    state = model.state_dict()  # before training: the same start for both
    print(f"char LSTM H={HIDDEN}, chunks of {SEQ_LEN}, Adam, {len(ids)} chars, V={len(vocab)}")
    ours_s, ours_losses = engine_run(model, ids, steps)
    try:
        import torch
    except ImportError:
        print(f"  engine   {steps / ours_s:8.1f} steps/s   (torch not installed)")
        return
    torch.set_num_threads(1)
    torch_s, torch_losses = torch_run(torch, state, ids, len(vocab), steps)
    diff = abs(ours_losses[0] - torch_losses[0])
    same = "ok" if diff <= 1e-9 else "MISMATCH"
    print(f"  first step loss  engine {ours_losses[0]:.12f}  torch {torch_losses[0]:.12f}")
    print(f"  first step loss difference {diff:.1e} ({same}, tolerance 1e-9)")
    print(f"  last step loss   engine {ours_losses[-1]:.6f}  torch {torch_losses[-1]:.6f}")
    ours_rate, torch_rate = steps / ours_s, steps / torch_s
    ratio = ours_rate / torch_rate
    verdict = "meets" if ratio >= SPEED_GOAL else "misses"
    print(f"  engine   {ours_rate:8.1f} steps/s")
    print(f"  torch    {torch_rate:8.1f} steps/s")
    print(f"  ratio    {ratio:8.2f}x torch ({verdict} the goal of {SPEED_GOAL}x)")
    if diff > 1e-9:
        sys.exit("the engine and torch do not compute the same first step")


def bench_hello(max_steps: int = 2000) -> None:
    task = BUILTIN["hello"]
    cfg = TrainConfig(steps=max_steps, seq_len=25, optimizer="adam", lr=0.01)
    per_token = recipe.tokens_per_update(task, cfg)
    reached: list[int] = []

    def on_step(info: dict) -> None:
        if not reached and info["raw_loss"] / per_token < HELLO_LOSS:
            reached.append(info["step"])

    t0 = time.perf_counter()
    trained = recipe.train_task(
        task, "lstm", 32, cfg, on_step=on_step, should_stop=lambda: bool(reached)
    )
    seconds = time.perf_counter() - t0
    if not reached:
        print(f"hello: loss per char never fell below {HELLO_LOSS} in {max_steps} steps")
        return
    verdict = "meets" if seconds < HELLO_GOAL_S else "misses"
    print(
        f"hello (LSTM H=32, Adam lr 0.01): loss per char < {HELLO_LOSS} after "
        f"{trained.result.steps} steps in {seconds:.3f} s "
        f"({verdict} the goal of < {HELLO_GOAL_S} s)"
    )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=300, help="updates per loop (default 300)")
    p.add_argument("--quick", action="store_true", help="a few steps only (a smoke run)")
    args = p.parse_args()
    steps = 5 if args.quick else args.steps
    bench_lm(steps)
    bench_hello()


if __name__ == "__main__":
    main()
