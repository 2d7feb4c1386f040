"""Train the demo models shipped in server/demo_models/ (seeded: the same files every run).

    python scripts/train_demos.py            # writes server/demo_models/*.npz
    python scripts/train_demos.py --out DIR  # elsewhere
    python scripts/train_demos.py --metadata-only  # keep the weights, rewrite the metadata
    python scripts/train_demos.py --only ID[,ID]   # only these demos

One model per cell type, each on a real task (engine/tasks.py), trained by the recipe the
page's training uses too (engine/recipe.py):
- rnn-hello     a vanilla RNN spells "hello";
- lstm-rhymes   an LSTM continues nursery rhymes, character by character;
- rnn-rhymes, gru-rhymes  the same task for an RNN and a GRU, so the page can compare them;
- gru-question  a GRU tells "you are good" (statement) from "are you good" (question);
- lstm-printable  an LSTM over printable ASCII continues generated everyday English;
- lstm-sentiment  a word-level LSTM (embedding input, a few thousand everyday English words)
                  says positive or negative, negation included ("not bad at all").
Bag-of-words companions (engine/bow.py, in server/demo_models/bow/): bow-question and
bow-sentiment, trained on the same data as gru-question and lstm-sentiment, measured with them
on the same sentences (their files record both accuracies).
The networks of the course, each on a task of engine/network_tasks.py (DEMOS_NETWORKS, in
scripts/demo_networks.py): a 2-layer GRU, a bidirectional fill-in-the-blank model and its
forward-only twin, one-to-one and one-to-many models, Jordan vs Elman, a peephole LSTM.
Takes well under two minutes on a laptop. ``--metadata-only`` writes what this script says
about each model (description, vocabulary with its normalisation, task, example, labels) into
the existing files without training: the weights, and so the checksum, stay bit-identical.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

# One BLAS thread: these matrices are small, and a second thread only spins (on a busy machine
# it made training several times slower). Set before numpy is imported.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine import recipe  # noqa: E402
from engine.model import SequenceModel  # noqa: E402
from engine.storage import load_model, save_model  # noqa: E402
from engine.tasks import demo_task  # noqa: E402
from engine.tokenize import Vocabulary  # noqa: E402
from engine.train import TrainConfig  # noqa: E402
from scripts import bow_demos  # noqa: E402
from scripts.demo_networks import DEMOS_NETWORKS  # noqa: E402

PRINTABLE_STEPS = 8000
SENTIMENT_STEPS = 20000
PRINTABLE_DESCRIPTION = (
    "An LSTM (64 hidden units) over every printable ASCII character: capitals, digits and "
    "punctuation, so 'The quick brown fox jumps over the lazy dog 42 times.' is read letter by "
    "letter with nothing unknown (an accent or an emoji reads as <unk>). It read generated "
    "everyday English and guesses the next character: on such text it never read, its first "
    "guess is right 74% of the time."
)
SENTIMENT_DESCRIPTION = (
    "An LSTM (32 hidden units) that reads a sentence word by word, each word a 16-number "
    "embedding, and says whether it is positive or negative. Its vocabulary has 2,728 everyday "
    "English words. It learned negation: 'good' is positive, 'not good' negative, 'not bad at "
    "all' positive; and order: 'it was good , not bad' is positive, 'it was bad , not good' "
    "negative."
)

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
    {
        "id": "lstm-printable",
        "task": "printable",
        "cell": "lstm",
        "hidden_size": 64,
        "train": TrainConfig(steps=PRINTABLE_STEPS, seq_len=50, optimizer="adam", lr=0.005, seed=0),
        "description": PRINTABLE_DESCRIPTION,
    },
    {
        "id": "lstm-sentiment",
        "task": "sentiment",
        "cell": "lstm",
        "hidden_size": 32,
        "embed_size": 16,
        "train": TrainConfig(steps=SENTIMENT_STEPS, optimizer="adam", lr=0.003, seed=0),
        "description": SENTIMENT_DESCRIPTION,
    },
    *DEMOS_NETWORKS,
]
NETWORK_OPTIONS = ("num_layers", "bidirectional", "peephole", "jordan", "embed_size")


def train_demo(spec: dict) -> recipe.Trained:
    options = {k: spec[k] for k in NETWORK_OPTIONS if k in spec}
    return recipe.train_task(
        demo_task(spec["task"]), spec["cell"], spec["hidden_size"], spec["train"], **options
    )


def save_demo(path: Path, spec: dict, model: SequenceModel, vocab: Vocabulary) -> None:
    """The demo's file: its weights and everything this script says about it."""
    meta = recipe.metadata(demo_task(spec["task"]))
    task_name = meta.pop("task")
    extra = {"id": spec["id"], "source": "demo", **meta}
    save_model(
        path, model, vocab=vocab, task=task_name, description=spec["description"], extra=extra
    )


def rewrite_metadata(path: Path, spec: dict) -> None:
    """Save the file's own weights again with the script's metadata (no training)."""
    vocab = demo_task(spec["task"]).vocabulary()
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
    parser.add_argument("--only", help="comma-separated demo ids (default: every demo)")
    args = parser.parse_args(argv)
    known = [s["id"] for s in DEMOS] + [s["id"] for s in bow_demos.BOW_DEMOS]
    only = set(known if args.only is None else args.only.split(","))
    if unknown := sorted(only - set(known)):
        parser.error(f"unknown demo ids {unknown}; known: {', '.join(known)}")
    args.out.mkdir(parents=True, exist_ok=True)
    for spec in DEMOS:
        if spec["id"] not in only:
            continue
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
    for spec in bow_demos.BOW_DEMOS:
        if spec["id"] in only:
            print(bow_demos.build(spec, args.out, metadata_only=args.metadata_only))


if __name__ == "__main__":
    main()
