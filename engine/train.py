"""Training loops. The engine never prints: progress goes to callbacks.

- ``train_lm``: a many-to-many token language model over one long sequence of ids, in chunks of
  ``seq_len`` (truncated BPTT as in min-char-rnn): chunk j's inputs are ids[p : p+seq_len], its
  targets the same shifted by one, and its initial state is chunk j-1's final state (the
  gradient does not cross the chunk boundary). At the end of the data, back to the start with a
  zero state.
- ``train_examples``: a list of (input, target) pairs, one update per example, in an order
  reshuffled each epoch (e.g. sentence classification with a many-to-one model).

Callbacks: ``on_step(info)`` after every update with info = {"step", "steps", "loss" (smoothed),
"raw_loss", "grad_norm", "clipped", "elapsed", "eta"} (seconds); ``on_sample(text)`` every
``sample_every`` steps (language model only); ``should_stop()`` is polled before each update
and ends training early when it returns True.

Deterministic: the model's seed fixes the initial weights, TrainConfig.seed the example order and
the samples; two runs with the same seeds give bit-identical parameters.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from engine.heads import loss_forward
from engine.model import SequenceModel
from engine.optim import clip_by_global_norm, clip_by_value, make_optimizer
from engine.sample import sample
from engine.targets import as_targets, next_tokens, one_to_many_steps


@dataclass
class TrainConfig:
    steps: int = 1000  # parameter updates
    seq_len: int = 25  # language model: tokens per chunk (truncated-BPTT length)
    optimizer: str = "adagrad"  # "sgd" | "adagrad" | "adam"
    lr: float = 0.1  # learning rate
    momentum: float = 0.0  # sgd only
    clip_norm: float | None = 5.0  # rescale gradients whose global norm exceeds this
    clip_value: float | None = None  # then clamp every element to [-clip_value, clip_value]
    truncate: int | None = None  # truncated BPTT inside a chunk (None: the whole chunk)
    truncate_mode: str = "chunked"  # "chunked" | "sliding" (engine/cells/truncated_bptt.py)
    smoothing: float = 0.99  # smoothed loss = s * smoothed + (1 - s) * loss
    sample_every: int = 0  # language model: sample every n steps (0: never)
    sample_len: int = 200  # tokens per sample
    temperature: float = 1.0  # sampling temperature
    seed: int = 0  # example order and sampling
    frozen: tuple[str, ...] = ()  # parameter names kept as they are (not trained)


@dataclass
class TrainResult:
    steps: int  # updates done
    loss: float  # smoothed loss at the end
    last_loss: float  # the last update's loss
    stopped: bool  # ended by should_stop()
    elapsed: float  # seconds


class _Progress:
    def __init__(self, cfg: TrainConfig, on_step):
        self.cfg, self.on_step = cfg, on_step
        self.start = time.perf_counter()
        self.smooth: float | None = None

    def update(self, step: int, loss: float, res) -> None:
        s = self.cfg.smoothing
        self.smooth = loss if self.smooth is None else s * self.smooth + (1 - s) * loss
        if self.on_step is None:
            return
        elapsed = time.perf_counter() - self.start
        done = step + 1
        self.on_step(
            {
                "step": done,
                "steps": self.cfg.steps,
                "loss": self.smooth,
                "raw_loss": loss,
                "grad_norm": res.global_norm,
                "clipped": res.clipped,
                "elapsed": elapsed,
                "eta": elapsed / done * (self.cfg.steps - done),
            }
        )

    def result(self, steps: int, last: float, stopped: bool) -> TrainResult:
        return TrainResult(
            steps=steps,
            loss=float("nan") if self.smooth is None else self.smooth,
            last_loss=last,
            stopped=stopped,
            elapsed=time.perf_counter() - self.start,
        )


def _update(model: SequenceModel, opt, run, targets, cfg: TrainConfig):
    if not cfg.frozen:
        res = run.backward(
            targets, truncate=cfg.truncate, clip=cfg.clip_norm, truncate_mode=cfg.truncate_mode
        )
        if cfg.clip_value is not None:
            clip_by_value(res.params, cfg.clip_value)
        opt.step(model.params, res.params)
        return res
    # frozen parameters: their gradients are dropped before clipping, and they are not stepped
    res = run.backward(targets, truncate=cfg.truncate, truncate_mode=cfg.truncate_mode)
    grads = {k: g for k, g in res.params.items() if k not in cfg.frozen}
    if cfg.clip_norm is not None:
        clip_by_global_norm(grads, cfg.clip_norm)
    if cfg.clip_value is not None:
        clip_by_value(grads, cfg.clip_value)
    opt.step({k: w for k, w in model.params.items() if k in grads}, grads)
    return res


def train_lm(
    model: SequenceModel,
    ids: Sequence[int] | np.ndarray,
    cfg: TrainConfig,
    on_step: Callable[[dict], None] | None = None,
    on_sample: Callable[[str], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    decode: Callable[[list[int]], str] | None = None,
) -> TrainResult:
    """Train a many-to-many token model to predict ids[t+1] from ids[..t]. `decode` turns
    sampled ids into the text given to on_sample (default: the ids separated by spaces)."""
    if model.config.setup != "many-to-many" or model.config.vocab_size is None:
        raise ValueError("train_lm needs a many-to-many model on token inputs")
    ids = np.asarray(ids, dtype=np.int64)
    if ids.shape[0] < 2:
        raise ValueError("train_lm needs at least two tokens")
    seq_len = min(cfg.seq_len, ids.shape[0] - 1)
    opt = make_optimizer(cfg.optimizer, cfg.lr, cfg.momentum)
    progress = _Progress(cfg, on_step)
    decode = decode or (lambda ks: " ".join(map(str, ks)))
    can_sample = on_sample is not None and cfg.sample_every > 0 and not model.config.bidirectional
    p, state, last = 0, None, float("nan")
    for step in range(cfg.steps):
        if should_stop is not None and should_stop():
            return progress.result(step, last, True)
        if p + seq_len + 1 > ids.shape[0]:
            p, state = 0, None  # end of data: start again from a zero state
        window = ids[p : p + seq_len + 1]  # the chunk and the token after it
        inputs, targets = window[:-1], next_tokens(window, model.config.output_size)[:-1]
        if can_sample and step % cfg.sample_every == 0:
            drawn, _ = sample(
                model, inputs[:1], cfg.sample_len, cfg.temperature, cfg.seed + step, state
            )
            on_sample(decode([int(inputs[0]), *drawn]))
        run = model.forward(inputs, state)
        res = _update(model, opt, run, targets, cfg)
        state = run.final_state  # carried into the next chunk; no gradient crosses over
        p += seq_len
        last = res.loss
        progress.update(step, last, res)
    return progress.result(cfg.steps, last, False)


def run_example(model: SequenceModel, inputs, target):
    """Forward one (input, target) example -> (run, targets as backward takes them)."""
    targets = as_targets(model, target)
    return model.forward(inputs, steps=one_to_many_steps(model, targets)), targets


def train_examples(
    model: SequenceModel,
    examples: Sequence[tuple[object, object]],
    cfg: TrainConfig,
    on_step: Callable[[dict], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> TrainResult:
    """One update per (input, target) example; each example starts from a zero state.

    target: a label (int) or [label] for many-to-one/one-to-one with ce, a sequence of labels
    for many-to-many/one-to-many (-1 = no loss), or float vectors (T_out, O) for mse.
    """
    if not examples:
        raise ValueError("train_examples needs at least one example")
    rng = np.random.default_rng(cfg.seed)
    opt = make_optimizer(cfg.optimizer, cfg.lr, cfg.momentum)
    progress = _Progress(cfg, on_step)
    order: list[int] = []
    last = float("nan")
    for step in range(cfg.steps):
        if should_stop is not None and should_stop():
            return progress.result(step, last, True)
        if not order:
            order = list(rng.permutation(len(examples)))
        inputs, target = examples[order.pop()]
        run, targets = run_example(model, inputs, target)
        res = _update(model, opt, run, targets, cfg)
        last = res.loss
        progress.update(step, last, res)
    return progress.result(cfg.steps, last, False)


def evaluate(model: SequenceModel, examples: Sequence[tuple[object, object]]) -> dict:
    """Mean loss over examples and, for ce, the accuracy of the argmax at steps with a target."""
    total, correct, counted = 0.0, 0, 0
    for inputs, target in examples:
        run, targets = run_example(model, inputs, target)
        total += float(loss_forward(model.config.loss, run.outputs, targets).sum())
        if model.config.loss == "ce":
            has = targets >= 0
            correct += int((run.outputs.argmax(axis=1)[has] == targets[has]).sum())
            counted += int(has.sum())
    out = {"loss": total / len(examples)}
    if model.config.loss == "ce":
        out["accuracy"] = correct / counted if counted else None
    return out
