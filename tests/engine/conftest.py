"""Fixtures shared by the cell tests: random cells, inputs and incoming gradients."""

import numpy as np
import pytest

from engine import GRU, LSTM, RNN

# every cell variant the engine offers; "rnn_relu" is RNN(nonlinearity="relu")
VARIANTS = ("rnn_tanh", "rnn_relu", "lstm", "gru")


def _make_cell(variant: str, n_in: int, H: int, seed: int = 0, scale: float = 1.0, **kw):
    """A cell whose PyTorch-style initial weights are multiplied by ``scale`` (>1 saturates)."""
    if variant.startswith("rnn"):
        cell = RNN(n_in, H, seed=seed, nonlinearity=variant[4:] or "tanh")
    elif variant.startswith("lstm"):
        cell = LSTM(n_in, H, seed=seed, peephole=variant == "lstm_peephole", **kw)
    else:
        cell = GRU(n_in, H, seed=seed)
    for name in cell.params:
        cell.params[name] *= scale
    return cell


def _random_problem(cell, T: int, seed: int = 1, state_scale: float = 1.0):
    """x (T, I), a nonzero initial state, dh (T, H) at every step and a final-state gradient."""
    rng = np.random.default_rng(seed)
    H = cell.hidden_size
    x = rng.standard_normal((T, cell.input_size))
    dh = rng.standard_normal((T, H))
    if cell.kind == "lstm":
        state = (state_scale * rng.standard_normal(H), state_scale * rng.standard_normal(H))
        dstate = (rng.standard_normal(H), rng.standard_normal(H))
    else:
        state = state_scale * rng.uniform(-1, 1, H)
        if cell.kind == "rnn" and cell.nonlinearity == "relu":
            state = np.abs(state)
        dstate = rng.standard_normal(H)
    return x, state, dh, dstate


@pytest.fixture
def make_cell():
    return _make_cell


@pytest.fixture
def random_problem():
    return _random_problem
