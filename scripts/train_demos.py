"""Train the demo models shipped in server/demo_models/ (seeded: the same files every run).

    python scripts/train_demos.py            # writes server/demo_models/*.npz
    python scripts/train_demos.py --out DIR  # elsewhere

One model per cell type, each on a real task (see server/tasks.py):
- rnn-hello     a vanilla RNN spells "hello";
- lstm-rhymes   an LSTM continues nursery rhymes, character by character;
- rnn-rhymes, gru-rhymes  the same task for an RNN and a GRU, so the page can compare them;
- gru-question  a GRU tells "you are good" (statement) from "are you good" (question).
Takes well under two minutes on a laptop.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine.model import ModelConfig, SequenceModel  # noqa: E402
from engine.storage import save_model  # noqa: E402
from engine.train import TrainConfig, evaluate, train_examples, train_lm  # noqa: E402
from server.training.tasks import BUILTIN  # noqa: E402

DEMOS = [
    {
        "id": "rnn-hello",
        "task": "hello",
        "cell": "rnn",
        "hidden_size": 8,
        "train": TrainConfig(steps=400, seq_len=8, optimizer="adagrad", lr=0.1, seed=0),
        "description": "A tiny vanilla RNN (8 hidden units) that learned to spell 'hello'. "
        "Type 'hell': after each letter it guesses the next. Watch the second 'l': the "
        "input is the same letter as before, only the hidden state knows an 'o' comes next.",
    },
    {
        "id": "lstm-rhymes",
        "task": "rhymes",
        "cell": "lstm",
        "hidden_size": 48,
        "train": TrainConfig(steps=2500, seq_len=25, optimizer="adam", lr=0.01, seed=0),
        "description": "An LSTM (48 hidden units) that read five nursery rhymes, one character at "
        "a time, and guesses the next character. Its gates decide what to keep in the cell "
        "state c and what to forget.",
    },
    {
        "id": "rnn-rhymes",
        "task": "rhymes",
        "cell": "rnn",
        "hidden_size": 48,
        "train": TrainConfig(steps=5000, seq_len=25, optimizer="adam", lr=0.003, seed=0),
        "description": "A vanilla RNN (48 hidden units) trained on the same nursery rhymes as "
        "lstm-rhymes, for comparison. Having no gates does not make its gradients fade faster "
        "here: in the gradient-flow matrix they reach further back than lstm-rhymes' and "
        "gru-rhymes', and eight steps back they keep more than half their size (the LSTM's "
        "keep about a quarter).",
    },
    {
        "id": "gru-rhymes",
        "task": "rhymes",
        "cell": "gru",
        "hidden_size": 48,
        "train": TrainConfig(steps=2500, seq_len=25, optimizer="adam", lr=0.01, seed=0),
        "description": "A GRU (48 hidden units) trained on the same nursery rhymes as lstm-rhymes. "
        "Its update gate z decides, unit by unit, how much of the old hidden state to keep.",
    },
    {
        "id": "gru-question",
        "task": "question",
        "cell": "gru",
        "hidden_size": 16,
        "train": TrainConfig(steps=2500, optimizer="adam", lr=0.01, seed=0),
        "description": "A GRU (16 hidden units) that reads a short sentence word by word and "
        "says whether it is a statement ('you are good') or a question ('are you good'). The "
        "words are the same: only their order, remembered in the hidden state, differs.",
    },
]


def train_demo(spec: dict):
    task = BUILTIN[spec["task"]]
    vocab = task.vocabulary()
    classify = task.kind == "classify"
    cfg = ModelConfig(
        cell=spec["cell"],
        vocab_size=len(vocab),
        hidden_size=spec["hidden_size"],
        output_size=len(task.labels) if classify else len(vocab),
        setup="many-to-one" if classify else "many-to-many",
        seed=0,
    )
    model = SequenceModel(cfg)
    if classify:
        examples = task.encoded_examples(vocab)
        result = train_examples(model, examples, spec["train"])
        score = evaluate(model, examples)
    else:
        result = train_lm(model, vocab.encode(task.text), spec["train"])
        score = {"loss": result.loss}
    return model, vocab, task, result, score


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "server" / "demo_models")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    for spec in DEMOS:
        start = time.perf_counter()
        model, vocab, task, result, score = train_demo(spec)
        extra = {"id": spec["id"], "source": "demo", "example": task.example}
        if task.labels:
            extra["labels"] = task.labels
        task_name = "classify" if task.kind == "classify" else f"next-{task.level}"
        path = args.out / f"{spec['id']}.npz"
        save_model(
            path, model, vocab=vocab, task=task_name, description=spec["description"], extra=extra
        )
        took = time.perf_counter() - start
        print(f"{spec['id']}: {result.steps} steps in {took:.1f} s, {score} -> {path}")


if __name__ == "__main__":
    main()
