"""The training recipe: from a task (engine/tasks.py) to a trained model and what is saved with it.

One recipe for the demo models (scripts/train_demos.py) and the models trained from the page
(the server's training jobs), so both are built and trained the same way:

    vocab   = task.vocabulary()
    config  = model_config(task, vocab, cell, hidden_size, num_layers, seed, **network)
              # the task's set-up (task.setup): a classifier is many-to-one over its labels,
              # a language model or a fill-blank model many-to-many over the vocabulary, the
              # one-to-one and one-to-many tasks read one token and output tokens
    trained = train_task(task, cell, hidden_size, train_cfg, ...)   # train_examples or train_lm
    meta    = metadata(task)               # task name, example, labels, steps (one-to-many)

``network`` options (all off by default, so the existing models are built as before):
``embed_size`` (token embeddings of that size instead of one-hot inputs),
``bidirectional``, ``peephole`` (LSTM), ``jordan``: output-to-hidden recurrence, as a Jordan
network has it *instead of* hidden-to-hidden: the cell's weight_hh starts at zero and is not
trained (TrainConfig.frozen), so y_{t-1} is the only path from one step to the next.

``tokens_per_update`` is how many predictions one update's loss sums (1 for a classifier, the
chunk length for a language model): dividing by it gives a loss per token that compares across
tasks and chunk lengths.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

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
    bidirectional: bool = False,
    peephole: bool = False,
    jordan: bool = False,
    embed_size: int | None = None,
) -> ModelConfig:
    """The model a task trains: the task's set-up, over its labels or its vocabulary; its
    tokens one-hot, or embedded in `embed_size` dimensions when given."""
    return ModelConfig(
        cell=cell,
        vocab_size=len(vocab),
        input_encoding="onehot" if embed_size is None else "embedding",
        embed_size=embed_size,
        hidden_size=hidden_size,
        num_layers=num_layers,
        bidirectional=bidirectional,
        output_size=len(task.labels) if task.classify else len(vocab),
        setup=task.setup,
        peephole=peephole,
        jordan=jordan,
        seed=seed,
    )


JORDAN_FROZEN = ("rnn.weight_hh_l0",)  # a Jordan network has no hidden-to-hidden recurrence


def tokens_per_update(task: Task, cfg: TrainConfig) -> int:
    """How many predictions one update's loss sums (as train_lm cuts the text into chunks; one
    per example's step with a target otherwise)."""
    if task.kind == "lm":
        return min(cfg.seq_len, len(task.vocabulary().encode(task.text)) - 1)
    return task.steps if task.kind == "one-to-many" else 1


def smoothed_loss(previous: float | None, raw_loss: float, per_update: int) -> float:
    """The loss per predicted token, smoothed over updates (0.9 of the previous, 0.1 of this
    one): comparable across tasks and chunk lengths. `previous` None starts the average."""
    loss = float(raw_loss) / per_update
    return loss if previous is None else 0.9 * previous + 0.1 * loss


def build_model(
    task: Task, cell: str, hidden_size: int, num_layers: int = 1, seed: int = 0, **network
) -> SequenceModel:
    """The untrained model train_task would train (its weights from `seed`)."""
    vocab = task.vocabulary()
    return SequenceModel(model_config(task, vocab, cell, hidden_size, num_layers, seed, **network))


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
    model: SequenceModel | None = None,
    **network,
) -> Trained:
    """Build the task's model (weights from `seed`, `network` options as model_config's) and
    train it with `cfg`; the callbacks are engine.train's (on_sample: language models only).
    `model`: train this one instead (built by build_model, e.g. to watch its weights from the
    callbacks)."""
    vocab = task.vocabulary()
    if model is None:
        model = build_model(task, cell, hidden_size, num_layers, seed, **network)
    if network.get("jordan"):
        for name in JORDAN_FROZEN:
            model.params[name][...] = 0.0
        cfg = replace(cfg, frozen=tuple(sorted({*cfg.frozen, *JORDAN_FROZEN})))
    if task.kind != "lm":
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
    """The loss and accuracy over the training examples (and the held-out ones, when the task
    has them: "held_out_*" for a task's held-out data, "test_*" for a classifier's held-out
    examples); a language model's smoothed loss."""
    task, vocab = trained.task, trained.vocab
    if task.kind == "lm":
        return {"loss": trained.result.loss}
    out = evaluate(trained.model, task.encoded_examples(vocab))
    if task.held_out:
        held = evaluate(trained.model, task.encoded_examples(vocab, task.held_out))
        out.update({f"held_out_{k}": v for k, v in held.items()})
    if task.test_examples:
        test = evaluate(trained.model, task.encoded_examples(vocab, held_out=True))
        out.update({f"test_{k}": v for k, v in test.items()})
    return out


def metadata(task: Task) -> dict:
    """What a model file records about its task: the task name, an example, the labels, and
    how many steps a one-to-many model generates."""
    meta = {"task": task.name, "example": task.example}
    if task.labels:
        meta["labels"] = list(task.labels)
    if task.steps is not None:
        meta["steps"] = task.steps
    return meta
