"""Truncated BPTT, both rules: how far back a gradient reaches, and that k >= T is plain BPTT.

chunked (the default): no gradient crosses the boundaries of chunks [0, k), [k, 2k), ...;
sliding: the gradient entering at t flows back through t..t-k+1. (The comparisons with PyTorch
graphs, detached every k steps or k steps back, are in test_cells_torch.py.)
"""

import numpy as np
import pytest

from engine.cells import flow, truncated_bptt
from engine.cells.grads import Grads
from tests.engine.test_cells_fd import numeric_grad

ALL_VARIANTS = ["rnn_tanh", "rnn_relu", "lstm", "gru", "lstm_peephole"]
MODES = ["chunked", "sliding"]


def last_step_only(cell, T, seed=0):
    rng = np.random.default_rng(seed)
    dh = np.zeros((T, cell.hidden_size))
    dh[-1] = rng.standard_normal(cell.hidden_size)
    return dh


def dh0_of(grads):
    return grads.dstate[0] if isinstance(grads.dstate, tuple) else grads.dstate


def state_after(cell, tape, t, state):
    """The recorded state entering step t (the initial state for t = 0)."""
    if t == 0:
        return state
    return (tape.h[t - 1], tape.c[t - 1]) if cell.kind == "lstm" else tape.h[t - 1]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("variant", ALL_VARIANTS)
def test_k_at_least_T_is_full_bptt_exactly(variant, mode, make_cell, random_problem):
    cell = make_cell(variant, n_in=3, H=5, seed=3)
    x, state, dh, dstate = random_problem(cell, 8)
    tape = cell.forward(x, state)
    full = tape.backward(dh, dstate)
    for k in (8, 9, 100):
        cut = tape.backward(dh, dstate, truncate=k, truncate_mode=mode)
        for name, g in full.params.items():
            np.testing.assert_array_equal(cut.params[name], g)
        np.testing.assert_array_equal(cut.dx, full.dx)
        np.testing.assert_array_equal(cut.dh, full.dh)


@pytest.mark.parametrize(
    "mode,k,first_reached",
    [
        ("sliding", 1, 9),
        ("sliding", 2, 8),
        ("sliding", 4, 6),
        ("sliding", 9, 1),
        # chunks of k: T=10, k=4 is [0,4) [4,8) [8,10), so the last step reaches 8 and 9 only
        ("chunked", 1, 9),
        ("chunked", 3, 9),
        ("chunked", 4, 8),
        ("chunked", 10, 0),
    ],
)
@pytest.mark.parametrize("variant", ALL_VARIANTS)
def test_last_step_gradient_reaches_exactly_its_window_or_chunk(
    variant, mode, k, first_reached, make_cell, random_problem
):
    T = 10
    cell = make_cell(variant, n_in=3, H=4, seed=k)
    if variant == "rnn_relu":
        cell.params["bias_ih"] += 3.0  # keep every unit alive: a dead relu stops any gradient
    x, state, _, _ = random_problem(cell, T)
    tape = cell.forward(x, state)
    grads = tape.backward(last_step_only(cell, T), truncate=k, truncate_mode=mode)
    assert_reaches_exactly(grads, first_reached, T)


def assert_reaches_exactly(grads, first_reached: int, T: int):
    norms = grads.contribution_norms()
    for t in range(T):
        reached = t >= first_reached
        for name, g in grads.contribution(t).items():
            if reached:
                assert np.linalg.norm(g) > 0, (name, t)
            else:
                assert not np.any(g), (name, t)  # exactly zero, not merely small
        assert (norms["weight_hh"][t] > 0) == reached
        assert np.any(grads.dh[t]) == reached
    assert np.any(dh0_of(grads)) == (first_reached == 0)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("variant", ALL_VARIANTS)
def test_truncate_one_stops_at_the_recurrence(variant, mode, make_cell, random_problem):
    """k=1: dL/dh_t is only what arrives from outside; the initial state gets only from step 0."""
    cell = make_cell(variant, n_in=3, H=4, seed=4)
    x, state, dh, _ = random_problem(cell, 6)
    grads = cell.forward(x, state).backward(dh, truncate=1, truncate_mode=mode)
    np.testing.assert_array_equal(grads.dh, dh)
    alone = cell.forward(x[:1], state).backward(dh[:1])  # step 0 on its own
    np.testing.assert_allclose(grads.contribution(0)["weight_hh"], alone.params["weight_hh"])
    np.testing.assert_allclose(dh0_of(grads), dh0_of(alone), rtol=1e-13)


@pytest.mark.parametrize("k", [2, 3])
@pytest.mark.parametrize("variant", ALL_VARIANTS)
def test_sliding_equals_sum_of_windowed_runs(variant, k, make_cell, random_problem):
    """An independent reference: each source's gradient, computed by a full backward over a
    k-step slice of the sequence that starts from the recorded state."""
    T = 9
    cell = make_cell(variant, n_in=3, H=4, seed=k + 10, scale=1.5)
    x, state, dh, dstate = random_problem(cell, T, seed=k)
    tape = cell.forward(x, state)
    got = tape.backward(dh, dstate, truncate=k, truncate_mode="sliding")
    total = {name: np.zeros_like(p) for name, p in cell.params.items()}
    dx = np.zeros_like(x)
    for t in range(T):
        start = max(t - k + 1, 0)
        piece = cell.forward(x[start : t + 1], state_after(cell, tape, start, state))
        d = np.zeros_like(piece.h)
        d[-1] = dh[t]
        g = piece.backward(d, dstate if t == T - 1 else None)
        for name in total:
            total[name] += g.params[name]
        dx[start : t + 1] += g.dx
    for name, g in total.items():
        np.testing.assert_allclose(got.params[name], g, rtol=1e-11, atol=1e-12)
    np.testing.assert_allclose(got.dx, dx, rtol=1e-11, atol=1e-12)


@pytest.mark.parametrize("k", [2, 3, 4])
@pytest.mark.parametrize("variant", ALL_VARIANTS)
def test_chunked_equals_one_full_backward_per_chunk(variant, k, make_cell, random_problem):
    """An independent reference: full BPTT over each chunk on its own, started from the state
    the previous chunk handed over; summed, and dstate from the first chunk only."""
    T = 9
    cell = make_cell(variant, n_in=3, H=4, seed=k + 20, scale=1.5)
    x, state, dh, dstate = random_problem(cell, T, seed=k)
    tape = cell.forward(x, state)
    got = tape.backward(dh, dstate, truncate=k)
    total = {name: np.zeros_like(p) for name, p in cell.params.items()}
    dx, dh_tot = np.zeros_like(x), np.zeros_like(dh)
    for a, b in truncated_bptt.chunks(T, k):
        piece = cell.forward(x[a:b], state_after(cell, tape, a, state))
        g = piece.backward(dh[a:b], dstate if b == T else None)
        for name in total:
            total[name] += g.params[name]
        dx[a:b], dh_tot[a:b] = g.dx, g.dh
        if a == 0:
            first = g
    for name, g in total.items():
        np.testing.assert_allclose(got.params[name], g, rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(got.dx, dx, rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(got.dh, dh_tot, rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(dh0_of(got), dh0_of(first), rtol=1e-12, atol=1e-13)


def chunked_loss(cell, x, starts, dh, dstate) -> float:
    """L = Σ_t dh_t·h_t + dstate·(final state), each chunk run from a constant state."""
    total = 0.0
    for (a, b), s0 in starts:
        tape = cell.forward(x[a:b], s0)
        total += float(np.sum(dh[a:b] * tape.h))
        if b == len(x):
            fs = tape.final_state
            if cell.kind == "lstm":
                total += float(dstate[0] @ fs[0] + dstate[1] @ fs[1])
            else:
                total += float(dstate @ fs)
    return total


@pytest.mark.parametrize("variant", ALL_VARIANTS)
def test_chunked_gradient_is_the_derivative_of_the_chunked_loss(variant, make_cell, random_problem):
    """Finite differences: with every chunk started from a constant (detached) state, the
    derivative of the loss is exactly what chunked truncation computes."""
    T, k = 7, 3
    cell = make_cell(variant, n_in=2, H=3, seed=6, scale=1.5)
    x, state, dh, dstate = random_problem(cell, T, seed=2)
    tape = cell.forward(x, state)
    grads = tape.backward(dh, dstate, truncate=k)
    starts = [((a, b), state_after(cell, tape, a, state)) for a, b in truncated_bptt.chunks(T, k)]
    for name, p in cell.params.items():
        numeric = numeric_grad(lambda: chunked_loss(cell, x, starts, dh, dstate), p)
        np.testing.assert_allclose(grads.params[name], numeric, rtol=1e-6, atol=1e-7)


def test_chunks_and_first_chunk():
    assert truncated_bptt.chunks(10, 4) == [(0, 4), (4, 8), (8, 10)]
    assert truncated_bptt.chunks(10, 4, first_chunk=2) == [(0, 2), (2, 6), (6, 10)]
    assert truncated_bptt.chunks(3, 5) == [(0, 3)]
    # the reverse direction's own time: the forward chunks [0,4) [4,8) [8,10) read backwards
    f = truncated_bptt.reverse_first_chunk(10, 4)
    own = truncated_bptt.chunks(10, 4, first_chunk=f)
    assert sorted((10 - b, 10 - a) for a, b in own) == truncated_bptt.chunks(10, 4)


@pytest.mark.parametrize("variant", ["rnn_tanh", "rnn_relu", "lstm", "gru"])
def test_step_by_step_backward_equals_the_fast_loop(variant, make_cell, random_problem):
    """The readable step functions and the vectorised whole-sequence loop give one answer,
    with and without chunk boundaries."""
    cell = make_cell(variant, n_in=4, H=6, seed=8, scale=2.0)
    x, state, dh, dstate = random_problem(cell, 30)
    tape = cell.forward(x, state)
    h_T, c_T = tape.split_dstate(dstate)
    for cuts in ([], [7, 14, 21, 28]):
        fast = tape.backward_sequence(dh, h_T, c_T, detach_at=cuts)
        slow = flow.backward_steps(tape, dh, h_T, c_T, detach_at=cuts)
        for a, b in zip(fast, slow, strict=True):
            if a is None:
                assert b is None
            else:
                np.testing.assert_allclose(a, b, rtol=1e-11, atol=1e-12)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("variant", ALL_VARIANTS)
def test_gradient_flow_is_zero_exactly_where_truncation_stops(
    variant, mode, make_cell, random_problem
):
    T, k = 9, 4
    cell = make_cell(variant, n_in=3, H=4, seed=1)
    if variant == "rnn_relu":
        cell.params["bias_ih"] += 3.0
    x, state, dh, _ = random_problem(cell, T)
    tape = cell.forward(x, state)
    M = tape.gradient_flow(dh, truncate=k, truncate_mode=mode)
    full = tape.gradient_flow(dh)
    reach = truncated_bptt.reached(T, k, mode)
    np.testing.assert_array_equal(M[reach], full[reach])
    assert not M[~reach].any()
    # row t of M is what backward gives for L_t alone
    for t in range(T):
        only = np.zeros_like(dh)
        only[t] = dh[t]
        g = tape.backward(only, truncate=k, truncate_mode=mode)
        np.testing.assert_allclose(M[t], np.linalg.norm(g.dh, axis=1), rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("bad", [0, -2, 1.5, True, "3"])
def test_truncate_must_be_a_positive_integer(bad, make_cell, random_problem):
    cell = make_cell("gru", n_in=2, H=3)
    x, state, dh, _ = random_problem(cell, 4)
    with pytest.raises(ValueError, match="truncate"):
        cell.forward(x, state).backward(dh, truncate=bad)


def test_an_unknown_truncation_mode_is_refused(make_cell, random_problem):
    cell = make_cell("rnn_tanh", n_in=2, H=3)
    x, state, dh, _ = random_problem(cell, 4)
    with pytest.raises(ValueError, match="truncate_mode"):
        cell.forward(x, state).backward(dh, truncate=2, truncate_mode="window")


def test_grads_from_the_named_tuple(make_cell, random_problem):
    cell = make_cell("lstm", n_in=2, H=3)
    x, state, dh, dstate = random_problem(cell, 5)
    tape = cell.forward(x, state)
    seq = tape.backward_sequence(dh, *tape.split_dstate(dstate))
    g = Grads(tape, seq)
    np.testing.assert_array_equal(g.dh, seq.dh)
    assert g.dstate[0] is seq.dh0 and g.dstate[1] is seq.dc0


@pytest.mark.parametrize("variant", ["rnn_tanh", "lstm", "gru"])
def test_chunked_and_sliding_differ_on_a_long_sentence(variant, make_cell, random_problem):
    """The two rules are different gradients (so the mode a trace names matters)."""
    cell = make_cell(variant, n_in=3, H=4, seed=2, scale=1.5)
    x, state, dh, dstate = random_problem(cell, 24, seed=3)
    tape = cell.forward(x, state)
    chunked = tape.backward(dh, dstate, truncate=5).params["weight_hh"]
    sliding = tape.backward(dh, dstate, truncate=5, truncate_mode="sliding").params["weight_hh"]
    assert np.linalg.norm(chunked - sliding) > 1e-3 * np.linalg.norm(sliding)
