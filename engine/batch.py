"""Many sequences through one model at once: ``forward_many(model, inputs, states)``.

A classroom sends a burst of different sentences to the same model. One at a time, each step
of each sentence is a handful of NumPy calls on (H,) vectors, and the Python around them costs
more than the arithmetic. Side by side, B sentences take the same number of calls on (B, H)
arrays (each cell's ``forward_arrays``), so a burst costs about what its longest sentence does.

    batch            x (T, B, I): sequence i in column i, T = the longest T_i, zeros after T_i
    forward cell     step s of sequence i reads x_s of sequence i
    reverse cell     step s of sequence i reads x_{T_i-1-s}: each sequence is reversed within
                     its own length, so each one's reverse pass starts at its own last token
    padding          steps s >= T_i are computed and dropped; no kept step reads one (a cell
                     step reads only its input and the step before it)

Each Run is what ``model.forward(ids, state)`` gives for that sequence alone: the same tapes (a
tape's x, h, c, gates, …), outputs, probabilities and final state, up to rounding. A (B, H) @
(H, G) product may sum a row's H terms in another order than a (H,) @ (H, G) one, so the last
bits can differ (tests/engine/test_batch.py). The tapes of one cell share one copy of its
parameters (``tape.params_shared``). Models whose recurrence is not a plain sequence of cell
steps (Jordan, peephole LSTM, one-to-many) and a single sequence run ``model.forward``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from engine.model import Run, SequenceModel


def batchable(model: SequenceModel) -> bool:
    """Can forward_many run this model's sequences side by side?"""
    cfg = model.config
    cells_ok = all(cell.batchable for layer in model.cells for cell in layer)
    return cells_ok and not cfg.jordan and cfg.setup != "one-to-many"


def forward_many(
    model: SequenceModel, inputs: Sequence, states: Sequence | None = None
) -> list[Run]:
    """model.forward(inputs[i], states[i]) for every i, as one batched pass where it can."""
    states = [None] * len(inputs) if states is None else list(states)
    if len(states) != len(inputs):
        raise ValueError(f"{len(inputs)} inputs but {len(states)} states")
    if len(inputs) < 2 or not batchable(model):
        return [model.forward(x, s) for x, s in zip(inputs, states, strict=True)]
    read = [model.inputs(x) for x in inputs]  # (ids, x (T_i, I)), checked as forward checks
    runs = [
        Run(model, ids, x, model.output_steps(x.shape[0]), model._as_state(s))
        for (ids, x), s in zip(read, states, strict=True)
    ]
    for group in length_groups([run.x.shape[0] for run in runs]):
        _forward_side_by_side(model, [runs[i] for i in group])
    return runs


def length_groups(lengths: Sequence[int]) -> list[list[int]]:
    """The indices of `lengths` in groups of similar length, shortest first: a group's longest
    is at most PADDING times its shortest (plus PADDING_STEPS), so padding at most doubles a
    group's work; one long text among short ones runs on its own."""
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    groups: list[list[int]] = []
    for i in order:
        if groups and lengths[i] <= PADDING * lengths[groups[-1][0]] + PADDING_STEPS:
            groups[-1].append(i)
        else:
            groups.append([i])
    return groups


PADDING, PADDING_STEPS = 2, 8


def _forward_side_by_side(model: SequenceModel, runs: list[Run]) -> None:
    """Fill in runs (their x and initial_state set) with one batched pass through the cells."""
    lengths = [run.x.shape[0] for run in runs]
    T, B = max(lengths), len(runs)
    layer_in = np.zeros((T, B, runs[0].x.shape[1]))  # (T, B, I), original time
    for i, run in enumerate(runs):
        layer_in[: lengths[i], i] = run.x
    cols = np.arange(B)
    rev = np.arange(T)[:, None].repeat(B, axis=1)  # (T, B) reverse time -> original time
    for i, n in enumerate(lengths):
        rev[:n, i] = np.arange(n - 1, -1, -1)  # (padding steps read themselves)
    tapes: list[list[list]] = [[] for _ in runs]  # [sequence][layer][direction]
    for li, layer in enumerate(model.cells):
        outs = []
        for d, cell in enumerate(layer):
            xin = np.ascontiguousarray(layer_in if d == 0 else layer_in[rev, cols])
            starts = [cell._split_state(run.initial_state.cells[li][d]) for run in runs]
            h0 = np.stack([h for h, _ in starts])  # (B, H)
            c0 = None if starts[0][1] is None else np.stack([c for _, c in starts])
            arrays = cell.forward_arrays(xin, h0, c0)  # each (T, B, …); h last
            params = cell.snapshot()  # one copy for every tape of this cell
            for i, (h0_i, c0_i) in enumerate(starts):
                n = lengths[i]
                # each tape owns its arrays: a view into the batch's would keep the whole
                # batch in memory for as long as one trace of it waits in a cache
                own = [np.ascontiguousarray(a[:n, i]) for a in arrays]
                tape = cell.tape(xin[:n, i].copy(), h0_i, c0_i, own, params=params)
                if d == 0:
                    tapes[i].append([])
                tapes[i][li].append(tape)
            h = arrays[-1]  # (T, B, H) in the cell's own time
            outs.append(h if d == 0 else h[rev, cols])
        layer_in = np.concatenate(outs, axis=-1) if len(outs) == 2 else outs[0]
    for i, run in enumerate(runs):
        model.finish(run, tapes[i], layer_in[: lengths[i], i].copy())
