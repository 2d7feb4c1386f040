"""The bag-of-words companions of two recurrent demo models (used by scripts/train_demos.py).

Each is trained on its companion's task with the companion's own vocabulary (so a token has the
same id in both), then both models are measured on the same sentences: the task's held-out set
where it has one (sentiment), else every sentence of the task (question: gru-question was
trained on them too, and the task has no other sentences). The numbers go into the file's
"evaluation"; tests/server/test_demo_claims_vocab.py measures them again on the shipped files.
"""

from __future__ import annotations

import time
from pathlib import Path

from engine import bow
from engine.bow_storage import load_bow, save_bow
from engine.storage import load_model
from engine.tasks import demo_task
from engine.train import evaluate

BOW_DEMOS = [
    {
        "id": "bow-question",
        "task": "question",
        "companion": "gru-question",
        "hidden_size": 16,
        "train": bow.BowTrainConfig(steps=3000, lr=0.01, seed=0),
        "description": "A bag-of-words network (16 hidden units) trained on the same sentences "
        "as gru-question. It sees only which words a sentence has, not their order: 'you are "
        "good' and 'are you good' are the same input to it, so it must give them the same "
        "answer.",
    },
    {
        "id": "bow-sentiment",
        "task": "sentiment",
        "companion": "lstm-sentiment",
        "hidden_size": 16,
        "train": bow.BowTrainConfig(steps=16000, lr=0.01, seed=0),
        "description": "A bag-of-words network (16 hidden units) trained on the same sentences "
        "as lstm-sentiment. 'it was good , not bad' and 'it was bad , not good' have the same "
        "words, so it gives them the same answer; the LSTM reads the order.",
    },
]


def evaluation_set(task) -> tuple[str, list[tuple[str, int]]]:
    """("held-out" | "training", the sentences both models are measured on)."""
    if task.test_examples:
        return "held-out", task.test_examples
    return "training", task.examples


def evaluation(spec: dict, model: bow.BagOfWords, demo_dir: Path) -> dict | None:
    """Both models' accuracy on the same sentences (the companion read from demo_dir); None
    while the companion is not trained yet (``--metadata-only`` measures it later)."""
    task = demo_task(spec["task"])
    which, sentences = evaluation_set(task)
    path = demo_dir / f"{spec['companion']}.npz"
    if not path.exists():
        print(f"{spec['id']}: no {path.name} yet; run --metadata-only once it is trained")
        return None
    companion = load_model(path)
    vocab = companion.vocab
    encoded = [(vocab.encode(text), y) for text, y in sentences]
    return {
        "set": which,
        "size": len(encoded),
        "accuracy": bow.accuracy(model, encoded),
        "companion_accuracy": evaluate(companion.model, encoded)["accuracy"],
    }


def build(spec: dict, demo_dir: Path, metadata_only: bool = False) -> str:
    """Train (or, metadata_only, reload) the companion and save it with its evaluation."""
    start = time.perf_counter()
    task = demo_task(spec["task"])
    vocab = task.vocabulary()
    path = demo_dir / "bow" / f"{spec['id']}.npz"
    path.parent.mkdir(parents=True, exist_ok=True)
    if metadata_only:
        old = load_bow(path)
        if old.vocab.tokens != vocab.tokens:
            raise SystemExit(f"{path}: its vocabulary is not the task's; train it again instead")
        model = old.model
    else:
        cfg = bow.BowConfig(len(vocab), spec["hidden_size"], len(task.labels), seed=0)
        model = bow.BagOfWords(cfg)
        bow.train(model, task.encoded_examples(vocab), spec["train"])
    extra = {
        "id": spec["id"],
        "source": "demo",
        "task": task.name,
        "companion": spec["companion"],
        "description": spec["description"],
        "example": task.example,
        "evaluation": evaluation(spec, model, demo_dir),
    }
    save_bow(path, model, vocab, task.labels, extra=extra)
    took = time.perf_counter() - start
    return f"{spec['id']}: {took:.1f} s, {extra['evaluation']} -> {path}"
