"""The encoder–decoder with attention: our forward+backward against PyTorch's, side by side.

The model: Luong "general" attention, H = 64, embeddings of 32, a source of 30 tokens and a
target of 30 (31 decoder steps with <eos>), vocabularies of 32 (+ <bos>, <eos>). Ours is
engine/seq2seq.py's forward and backward (every per-step value kept for the trace); PyTorch's is
the same model written from the same equations (nn.RNN/LSTM/GRU, CPU, float64,
torch.set_num_threads(1)), forward and loss.backward(). Both start from the same weights and
their losses are checked to agree to 1e-9. Also timed: the whole trace body the API answers
(server.tracing.seq2seq.trace_body without the JSON step: the engine's run, backward, and
every step as lists of floats).

Goal: ours <= 0.5x PyTorch's time.
Run:  python bench/seq2seq.py [--reps N] [--cells lstm,gru,rnn] [--quick]
"""

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from engine.seq2seq import Seq2Seq  # noqa: E402
from engine.seq2seq_config import Seq2SeqConfig  # noqa: E402

H, E, S, T, V = 64, 32, 30, 30, 32
GOAL = 0.5


def make(cell: str) -> Seq2Seq:
    return Seq2Seq(
        Seq2SeqConfig(
            cell=cell,
            src_vocab_size=V,
            tgt_vocab_size=V + 2,
            bos_id=0,
            eos_id=1,
            hidden_size=H,
            input_encoding="embedding",
            embed_size=E,
            attention="general",
            seed=0,
        )
    )


def ours(model, src, tgt):
    return model.forward(src, tgt).backward().loss


def torch_model(model: Seq2Seq):
    import torch

    nn, F = torch.nn, torch.nn.functional
    cfg = model.config
    kind = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}[cfg.cell]

    class TorchSeq2Seq(nn.Module):
        def __init__(self):
            super().__init__()
            self.src_embedding = nn.Embedding(V, E)
            self.tgt_embedding = nn.Embedding(V + 2, E)
            self.encoder, self.decoder = kind(E, H), kind(E, H)
            self.W_a = nn.Parameter(torch.empty(H, H))
            self.W_c = nn.Parameter(torch.empty(H, 2 * H))
            self.b_c = nn.Parameter(torch.empty(H))
            self.head = nn.Linear(H, V + 2)

        def forward(self, src, dec_in, targets):
            Hbar, state = self.encoder(self.src_embedding(src))  # (S, H), the context
            h, _ = self.decoder(self.tgt_embedding(dec_in), state)  # (T, H)
            alpha = torch.softmax(h @ (Hbar @ self.W_a.T).T, dim=1)  # (T, S)
            ctx = alpha @ Hbar
            h_tilde = torch.tanh(torch.cat([ctx, h], dim=1) @ self.W_c.T + self.b_c)
            return F.cross_entropy(self.head(h_tilde), targets, reduction="sum")

    tm = TorchSeq2Seq().double()
    names = {"attn.W_a": "W_a", "attn.W_c": "W_c", "attn.b_c": "b_c"}
    sd = {names.get(k, k): torch.tensor(v) for k, v in model.params.items()}
    tm.load_state_dict(sd)
    return tm


def timed(fn, reps: int) -> float:
    """Median seconds per call, after two warm-up calls."""
    fn()
    fn()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def trace_body_fn(model, src, tgt):
    """The API's trace body for the same source and target (engine + per-step lists)."""
    from engine.seq2seq_config import BOS, EOS
    from engine.tokenize import Vocabulary
    from server.core.schemas import Seq2SeqTraceRequest
    from server.tracing.seq2seq import PreparedSeq2Seq, trace_body

    class _Entry:  # the registry entry's few fields trace_body reads
        id = "bench"
        vocab = Vocabulary([f"s{i}" for i in range(V)], level="word")
        target_vocab = Vocabulary([BOS, EOS, *(f"t{i}" for i in range(V))], level="word")

        def __init__(self, m):
            self.model = m

        def output_names(self):
            return self.target_vocab.tokens

    entry = _Entry(model)
    src_enc = entry.vocab.lookup([f"s{i}" for i in src])
    tgt_enc = entry.target_vocab.lookup([entry.target_vocab.tokens[i] for i in tgt])
    req = Seq2SeqTraceRequest(model="bench", source="x", target="x")
    p = PreparedSeq2Seq(entry, req, src_enc, tgt_enc, T + 1, ("bench", 0))
    return lambda: trace_body(p)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=30)
    parser.add_argument("--cells", default="lstm,gru,rnn")
    parser.add_argument("--quick", action="store_true", help="few repetitions (a smoke test)")
    args = parser.parse_args(argv)
    reps = 3 if args.quick else args.reps
    import torch

    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    src = rng.integers(0, V, S)
    tgt = rng.integers(2, V + 2, T)
    dec_in = torch.tensor(np.r_[0, tgt])
    targets = torch.tensor(np.r_[tgt, 1])
    print(f"seq2seq, attention general, H={H}, E={E}, source {S}, target {T} (+<eos>)")
    missed = []
    for cell in args.cells.split(","):
        model = make(cell)
        tm = torch_model(model)
        src_t = torch.tensor(src)

        def torch_step(tm=tm, src_t=src_t):
            tm.zero_grad()
            loss = tm(src_t, dec_in, targets)
            loss.backward()
            return loss.item()

        diff = abs(ours(model, src, tgt) - torch_step()) / abs(torch_step())
        ok = "ok" if diff <= 1e-9 else "MISMATCH"
        t_ours = timed(lambda model=model: ours(model, src, tgt), reps)
        t_torch = timed(torch_step, reps)
        t_trace = timed(trace_body_fn(model, src, tgt), reps)
        ratio = t_ours / t_torch
        if ratio > GOAL:
            missed.append(cell)
        print(f"{cell:5s} loss difference {diff:.1e} ({ok})")
        print(f"{cell:5s} engine      {t_ours * 1e3:8.2f} ms  forward+backward")
        print(f"{cell:5s} torch       {t_torch * 1e3:8.2f} ms  forward+backward (1 thread)")
        print(f"{cell:5s} ratio       {ratio:8.2f}x torch   (goal <= {GOAL}x)")
        print(f"{cell:5s} trace body  {t_trace * 1e3:8.2f} ms  the API's whole trace, unserialised")
    print("goal met" if not missed else f"goal missed for {','.join(missed)}")


if __name__ == "__main__":
    main()
