"""Train the demo models shipped in server/demo_models/ (seeded: the same files every run).

    python scripts/train_demos.py            # writes server/demo_models/*.npz
    python scripts/train_demos.py --out DIR  # elsewhere
    python scripts/train_demos.py --metadata-only  # keep the weights, rewrite the metadata
    python scripts/train_demos.py --only gru-blank-bi,gru-blank-fwd  # just these

One model per cell type, each on a real task (engine/tasks.py), trained by the recipe the
page's training uses too (engine/recipe.py):
- rnn-hello     a vanilla RNN spells "hello";
- lstm-rhymes   an LSTM continues nursery rhymes, character by character;
- rnn-rhymes, gru-rhymes  the same task for an RNN and a GRU, so the page can compare them;
- gru-question  a GRU tells "you are good" (statement) from "are you good" (question).
The networks of the course, each on a task of engine/network_tasks.py (DEMOS_NETWORKS, in
scripts/demo_networks.py): a 2-layer GRU, a bidirectional fill-in-the-blank model and its
forward-only twin, one-to-one and one-to-many models, Jordan vs Elman, a peephole LSTM.
Takes well under two minutes on a laptop. ``--metadata-only`` writes what this script says
about each model (description, vocabulary with its normalisation, task, example, labels) into
the existing files without training: the weights, and so the checksum, stay bit-identical.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine import recipe  # noqa: E402
from engine.model import SequenceModel  # noqa: E402
from engine.network_tasks import TASKS  # noqa: E402
from engine.storage import load_model, save_model  # noqa: E402
from engine.tokenize import Vocabulary  # noqa: E402
from engine.train import TrainConfig  # noqa: E402
from scripts.demo_networks import DEMOS_NETWORKS  # noqa: E402

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
    *DEMOS_NETWORKS,
]
NETWORK_OPTIONS = ("num_layers", "bidirectional", "peephole", "jordan")


def train_demo(spec: dict) -> recipe.Trained:
    options = {k: spec[k] for k in NETWORK_OPTIONS if k in spec}
    return recipe.train_task(
        TASKS[spec["task"]], spec["cell"], spec["hidden_size"], spec["train"], **options
    )


def save_demo(path: Path, spec: dict, model: SequenceModel, vocab: Vocabulary) -> None:
    """The demo's file: its weights and everything this script says about it."""
    meta = recipe.metadata(TASKS[spec["task"]])
    task_name = meta.pop("task")
    extra = {"id": spec["id"], "source": "demo", **meta}
    save_model(
        path, model, vocab=vocab, task=task_name, description=spec["description"], extra=extra
    )


def rewrite_metadata(path: Path, spec: dict) -> None:
    """Save the file's own weights again with the script's metadata (no training)."""
    vocab = TASKS[spec["task"]].vocabulary()
    old = load_model(path)
    if old.vocab.tokens != vocab.tokens or old.vocab.level != vocab.level:
        raise SystemExit(f"{path}: its vocabulary is not the task's; train it again instead")
    save_demo(path, spec, old.model, vocab)
    assert load_model(path).metadata["sha256"] == old.metadata["sha256"]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "server" / "demo_models")
    parser.add_argument(
        "--metadata-only", action="store_true", help="keep the weights, rewrite the metadata"
    )
    parser.add_argument("--only", help="comma-separated demo ids: train (or rewrite) only these")
    args = parser.parse_args(argv)
    specs = DEMOS
    if args.only:
        wanted = args.only.split(",")
        unknown = sorted(set(wanted) - {spec["id"] for spec in DEMOS})
        if unknown:
            parser.error(f"--only: no demo named {', '.join(unknown)}")
        specs = [spec for spec in DEMOS if spec["id"] in wanted]
    args.out.mkdir(parents=True, exist_ok=True)
    for spec in specs:
        path = args.out / f"{spec['id']}.npz"
        if args.metadata_only:
            rewrite_metadata(path, spec)
            print(f"{spec['id']}: metadata rewritten -> {path}")
            continue
        start = time.perf_counter()
        trained = train_demo(spec)
        save_demo(path, spec, trained.model, trained.vocab)
        took = time.perf_counter() - start
        score = recipe.score(trained)
        print(f"{spec['id']}: {trained.result.steps} steps in {took:.1f} s, {score} -> {path}")


if __name__ == "__main__":
    main()
