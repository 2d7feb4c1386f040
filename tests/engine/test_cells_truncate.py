"""Truncated BPTT: how far back a gradient reaches, and that k >= T is plain BPTT.

(The comparison with PyTorch graphs detached k steps back is in test_cells_torch.py.)
"""

import numpy as np
import pytest

from engine.cells import flow

ALL_VARIANTS = ["rnn_tanh", "rnn_relu", "lstm", "gru", "lstm_peephole"]


def last_step_only(cell, T, seed=0):
    rng = np.random.default_rng(seed)
    dh = np.zeros((T, cell.hidden_size))
    dh[-1] = rng.standard_normal(cell.hidden_size)
    return dh


@pytest.mark.parametrize("variant", ALL_VARIANTS)
def test_window_at_least_T_is_full_bptt_exactly(variant, make_cell, random_problem):
    cell = make_cell(variant, n_in=3, H=5, seed=3)
    x, state, dh, dstate = random_problem(cell, 8)
    tape = cell.forward(x, state)
    full = tape.backward(dh, dstate)
    for k in (8, 9, 100):
        cut = tape.backward(dh, dstate, truncate=k)
        for name, g in full.params.items():
            np.testing.assert_array_equal(cut.params[name], g)
        np.testing.assert_array_equal(cut.dx, full.dx)
        np.testing.assert_array_equal(cut.dh, full.dh)


@pytest.mark.parametrize("k", [1, 2, 4, 9])
@pytest.mark.parametrize("variant", ALL_VARIANTS)
def test_last_step_gradient_reaches_exactly_k_steps(variant, k, make_cell, random_problem):
    T = 10
    cell = make_cell(variant, n_in=3, H=4, seed=k)
    if variant == "rnn_relu":
        cell.params["bias_ih"] += 3.0  # keep every unit alive: a dead relu stops any gradient
    x, state, _, _ = random_problem(cell, T)
    grads = cell.forward(x, state).backward(last_step_only(cell, T), truncate=k)
    norms = grads.contribution_norms()
    for t in range(T):
        share = grads.contribution(t)
        reached = t > T - 1 - k
        for name, g in share.items():
            if reached:
                assert np.linalg.norm(g) > 0, (name, t)
            else:
                assert not np.any(g), (name, t)  # exactly zero, not merely small
        assert (norms["weight_hh"][t] > 0) == reached
        assert np.any(grads.dh[t]) == reached
    state_reached = k >= T
    dh0 = grads.dstate[0] if cell.kind == "lstm" else grads.dstate
    assert np.any(dh0) == state_reached


@pytest.mark.parametrize("variant", ALL_VARIANTS)
def test_truncate_one_stops_at_the_recurrence(variant, make_cell, random_problem):
    """k=1: dL/dh_t is only what arrives from outside; the initial state gets only from step 0."""
    cell = make_cell(variant, n_in=3, H=4, seed=4)
    x, state, dh, _ = random_problem(cell, 6)
    grads = cell.forward(x, state).backward(dh, truncate=1)
    np.testing.assert_array_equal(grads.dh, dh)
    alone = cell.forward(x[:1], state).backward(dh[:1])  # step 0 on its own
    np.testing.assert_allclose(grads.contribution(0)["weight_hh"], alone.params["weight_hh"])
    dh0 = grads.dstate[0] if cell.kind == "lstm" else grads.dstate
    ref = alone.dstate[0] if cell.kind == "lstm" else alone.dstate
    np.testing.assert_allclose(dh0, ref, rtol=1e-13)


@pytest.mark.parametrize("k", [2, 3])
@pytest.mark.parametrize("variant", ALL_VARIANTS)
def test_truncated_equals_sum_of_windowed_runs(variant, k, make_cell, random_problem):
    """An independent reference: each source's gradient, computed by a full backward over a
    k-step slice of the sequence that starts from the recorded state."""
    T = 9
    cell = make_cell(variant, n_in=3, H=4, seed=k + 10, scale=1.5)
    x, state, dh, dstate = random_problem(cell, T, seed=k)
    tape = cell.forward(x, state)
    got = tape.backward(dh, dstate, truncate=k)
    total = {name: np.zeros_like(p) for name, p in cell.params.items()}
    dx = np.zeros_like(x)
    for t in range(T):
        start = max(t - k + 1, 0)
        if start == 0:
            s0 = state
        elif cell.kind == "lstm":
            s0 = (tape.h[start - 1], tape.c[start - 1])
        else:
            s0 = tape.h[start - 1]
        piece = cell.forward(x[start : t + 1], s0)
        d = np.zeros_like(piece.h)
        d[-1] = dh[t]
        g = piece.backward(d, dstate if t == T - 1 else None)
        for name in total:
            total[name] += g.params[name]
        dx[start : t + 1] += g.dx
    for name, g in total.items():
        np.testing.assert_allclose(got.params[name], g, rtol=1e-11, atol=1e-12)
    np.testing.assert_allclose(got.dx, dx, rtol=1e-11, atol=1e-12)


@pytest.mark.parametrize("variant", ["rnn_tanh", "rnn_relu", "lstm", "gru"])
def test_step_by_step_backward_equals_the_fast_loop(variant, make_cell, random_problem):
    """The readable step functions and the vectorised whole-sequence loop give one answer."""
    cell = make_cell(variant, n_in=4, H=6, seed=8, scale=2.0)
    x, state, dh, dstate = random_problem(cell, 30)
    tape = cell.forward(x, state)
    h_T, c_T = tape._split_dstate(dstate)
    fast = tape._backward_full(dh, h_T, c_T)
    slow = flow.backward_by_steps(tape, dh, h_T, c_T, window=30)
    for a, b in zip(fast, slow, strict=True):
        if a is None:
            assert b is None
        else:
            np.testing.assert_allclose(a, b, rtol=1e-11, atol=1e-12)


@pytest.mark.parametrize("bad", [0, -2, 1.5, True, "3"])
def test_truncate_must_be_a_positive_integer(bad, make_cell, random_problem):
    cell = make_cell("gru", n_in=2, H=3)
    x, state, dh, _ = random_problem(cell, 4)
    with pytest.raises(ValueError, match="truncate"):
        cell.forward(x, state).backward(dh, truncate=bad)
