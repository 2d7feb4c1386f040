"""The training recipe: from a task (engine/tasks.py) to a trained model and what is saved with it.

One recipe for the demo models (scripts/train_demos.py) and the models trained from the page
(the server's training jobs), so both are built and trained the same way:

    vocab   = task.vocabulary()
    config  = model_config(task, vocab, cell, hidden_size, num_layers, seed)
              # a classifier: many-to-one over its labels; otherwise a next-token
              # language model: many-to-many over the vocabulary
    trained = train_task(task, cell, hidden_size, train_cfg, ...)   # train_examples or train_lm
    meta    = metadata(task)                                         # task name, example, labels

``tokens_per_update`` is how many predictions one update's loss sums (1 for a classifier, the
chunk length for a language model): dividing by it gives a loss per token that compares across
tasks and chunk lengths.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from engine.model import ModelConfig, SequenceModel
from engine.tasks import Task
from engine.tokenize import Vocabulary
from engine.train import TrainConfig, TrainResult, evaluate, train_examples, train_lm


@dataclass
class Trained:
    model: SequenceModel
    vocab: Vocabulary
    task: Task
    result: TrainResult


def model_config(
    task: Task,
    vocab: Vocabulary,
    cell: str,
    hidden_size: int,
    num_layers: int = 1,
    seed: int = 0,
    embed_size: int | None = None,
) -> ModelConfig:
    """The model a task trains: many-to-one over the labels, or a many-to-many language model;
    its tokens one-hot, or embedded in `embed_size` dimensions when given."""
    return ModelConfig(
        cell=cell,
        vocab_size=len(vocab),
        input_encoding="onehot" if embed_size is None else "embedding",
        embed_size=embed_size,
        hidden_size=hidden_size,
        num_layers=num_layers,
        output_size=len(task.labels) if task.classify else len(vocab),
        setup="many-to-one" if task.classify else "many-to-many",
        seed=seed,
    )


def tokens_per_update(task: Task, cfg: TrainConfig) -> int:
    """How many predictions one update's loss sums (as train_lm cuts the text into chunks)."""
    if task.classify:
        return 1
    return min(cfg.seq_len, len(task.vocabulary().encode(task.text)) - 1)


def smoothed_loss(previous: float | None, raw_loss: float, per_update: int) -> float:
    """The loss per predicted token, smoothed over updates (0.9 of the previous, 0.1 of this
    one): comparable across tasks and chunk lengths. `previous` None starts the average."""
    loss = float(raw_loss) / per_update
    return loss if previous is None else 0.9 * previous + 0.1 * loss


def train_task(
    task: Task,
    cell: str,
    hidden_size: int,
    cfg: TrainConfig,
    num_layers: int = 1,
    seed: int = 0,
    on_step: Callable[[dict], None] | None = None,
    on_sample: Callable[[str], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    embed_size: int | None = None,
) -> Trained:
    """Build the task's model (weights from `seed`) and train it with `cfg`; the callbacks are
    engine.train's (on_sample: language models only)."""
    vocab = task.vocabulary()
    config = model_config(task, vocab, cell, hidden_size, num_layers, seed, embed_size)
    model = SequenceModel(config)
    if task.classify:
        examples = task.encoded_examples(vocab)
        result = train_examples(model, examples, cfg, on_step, should_stop=should_stop)
    else:
        result = train_lm(
            model,
            vocab.encode(task.text),
            cfg,
            on_step,
            on_sample,
            should_stop=should_stop,
            decode=vocab.decode,
        )
    return Trained(model, vocab, task, result)


def score(trained: Trained) -> dict:
    """A classifier's loss and accuracy over its examples (and over its held-out examples, as
    "test_loss", "test_accuracy", when the task has them); a language model's smoothed loss."""
    task, vocab = trained.task, trained.vocab
    if not task.classify:
        return {"loss": trained.result.loss}
    out = evaluate(trained.model, task.encoded_examples(vocab))
    if task.test_examples:
        test = evaluate(trained.model, task.encoded_examples(vocab, held_out=True))
        out.update({f"test_{k}": v for k, v in test.items()})
    return out


def metadata(task: Task) -> dict:
    """What a model file records about its task: the task name, an example, the labels."""
    meta = {"task": task.name, "example": task.example}
    if task.labels:
        meta["labels"] = list(task.labels)
    return meta
