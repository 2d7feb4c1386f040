"""Targets: what each output step is scored against, and the rule when none are given.

One home for the rule, used by the trace, the gradient check, the training loops and the server.

Default targets (``default_targets``):
- a language model (many-to-many on token inputs, cross-entropy): the target of step t is the
  next input token ids[t+1]; the last step has none (its next token is not known), nor has a
  step whose next token is not one of the outputs, or is a token the vocabulary does not know
  (NO_TOKEN: there is nothing to score the guess against);
- a fill-in-the-blank model (a many-to-many token model given the blank's id, ``blank``:
  engine.tasks.FILL_BLANK) explains its guess at each blank: the target there is its own most
  likely word; the other steps have none (it was trained with a loss at the blank only);
- a classifier (many-to-one or one-to-one, cross-entropy) explains its own answer: its target
  is its predicted label, the argmax of its output;
- a one-to-many model with cross-entropy explains the sequence it generates: each step's
  target is that step's argmax;
- anything else (squared error, many-to-many on vectors): no target, so no loss and zero
  gradients.

Given targets (``as_targets``): ints for cross-entropy, one per output step, -1 or None for
"no loss here" (a single label may be given bare); float rows (T_out, O) for squared error, a
row of NaN for "no loss here".
"""

from __future__ import annotations

import numpy as np

NO_TARGET = -1  # cross-entropy: this step has no loss


def next_tokens(ids: np.ndarray, output_size: int) -> np.ndarray:
    """(T,) language-model targets: ids[t+1], and NO_TARGET for the last step or a next token
    that is not an output (>= output_size) or unknown (NO_TOKEN, < 0)."""
    ids = np.asarray(ids, dtype=np.int64)
    targets = np.full(ids.shape[0], NO_TARGET, dtype=np.int64)
    nxt = ids[1:]
    targets[:-1] = np.where((nxt >= 0) & (nxt < output_size), nxt, NO_TARGET)
    return targets


def blank_targets(ids: np.ndarray, outputs: np.ndarray, blank: int) -> np.ndarray:
    """(T,) the argmax of the outputs at the steps that read `blank`, NO_TARGET elsewhere."""
    ids = np.asarray(ids, dtype=np.int64)
    guesses = np.asarray(outputs, dtype=np.float64).argmax(axis=1).astype(np.int64)
    return np.where(ids == blank, guesses, NO_TARGET)


def default_targets(model, run, blank: int | None = None) -> np.ndarray:
    """The targets of a run when none are given (see the module docstring); `blank`: the
    blank token's id of a fill-in-the-blank model."""
    cfg = model.config
    T_out = len(run.out_idx)
    if cfg.loss == "mse":
        return np.full((T_out, cfg.output_size), np.nan)
    if cfg.setup == "many-to-many" and run.ids is not None:
        if blank is not None:
            return blank_targets(run.ids, run.outputs, blank)
        return next_tokens(run.ids, cfg.output_size)
    if cfg.setup in ("many-to-one", "one-to-one", "one-to-many"):
        return np.asarray(run.outputs, dtype=np.float64).argmax(axis=1).astype(np.int64)
    return np.full(T_out, NO_TARGET, dtype=np.int64)


def as_targets(model, targets, T_out: int | None = None) -> np.ndarray:
    """Given targets as the backward pass takes them: (T_out,) int64 for cross-entropy,
    (T_out, O) float64 for squared error. T_out None: as many as given."""
    cfg = model.config
    if cfg.loss == "mse":
        t = np.asarray(targets, dtype=np.float64).reshape(-1, cfg.output_size)
    else:
        given = np.atleast_1d(np.asarray(targets, dtype=object)).ravel()
        t = np.asarray([NO_TARGET if v is None else v for v in given]).astype(np.int64)
    if T_out is not None and t.shape[0] != T_out:
        raise ValueError(f"targets: this run has {T_out} output step(s), got {t.shape[0]}")
    return t


def targets_for(model, run, targets=None, blank: int | None = None) -> np.ndarray:
    """The given targets, checked against the run, or the default ones when None."""
    if targets is None:
        return default_targets(model, run, blank)
    return as_targets(model, targets, len(run.out_idx))


def one_to_many_steps(model, targets, steps: int | None = None) -> int | None:
    """How many steps a one-to-many model runs: `steps`, else one per given target."""
    if steps is None and targets is not None and model.config.setup == "one-to-many":
        return as_targets(model, targets).shape[0]
    return steps
