"""Every gradient of every cell (peephole LSTM and relu RNN included) against central finite
differences of L = Σ_t dh_t·h_t + dstate·(final state). No PyTorch needed."""

import numpy as np
import pytest

EPS = 1e-6
ALL_VARIANTS = ["rnn_tanh", "rnn_relu", "lstm", "gru", "lstm_peephole"]


def loss(cell, x, state, dh, dstate) -> float:
    tape = cell.forward(x, state)
    total = float(np.sum(dh * tape.h))
    if cell.kind == "lstm":
        return total + float(dstate[0] @ tape.final_state[0] + dstate[1] @ tape.final_state[1])
    return total + float(dstate @ tape.final_state)


def numeric_grad(f, arr: np.ndarray) -> np.ndarray:
    """Central differences of f() with respect to every entry of arr (perturbed in place)."""
    g = np.zeros_like(arr)
    for idx in np.ndindex(arr.shape):
        old = arr[idx]
        arr[idx] = old + EPS
        up = f()
        arr[idx] = old - EPS
        down = f()
        arr[idx] = old
        g[idx] = (up - down) / (2 * EPS)
    return g


def assert_fd_close(analytic, numeric):
    size = max(1.0, float(np.max(np.abs(numeric))))
    np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-6 * size)


@pytest.mark.parametrize("scale", [1.0, 2.5])
@pytest.mark.parametrize("variant", ALL_VARIANTS)
def test_gradients_match_finite_differences(variant, scale, make_cell, random_problem):
    cell = make_cell(variant, n_in=3, H=4, seed=5, scale=scale)
    x, state, dh, dstate = random_problem(cell, 6, seed=9)
    grads = cell.forward(x, state).backward(dh, dstate)

    def f():
        return loss(cell, x, state, dh, dstate)

    assert grads.params.keys() == cell.params.keys()
    for name, p in cell.params.items():
        assert_fd_close(grads.params[name], numeric_grad(f, p))
    assert_fd_close(grads.dx, numeric_grad(f, x))
    if cell.kind == "lstm":
        assert_fd_close(grads.dstate[0], numeric_grad(f, state[0]))
        assert_fd_close(grads.dstate[1], numeric_grad(f, state[1]))
    else:
        assert_fd_close(grads.dstate, numeric_grad(f, state))


def test_peephole_weights_change_the_gradients(make_cell, random_problem):
    """The peephole path is really taken: its parameters get gradient and alter the others."""
    peep = make_cell("lstm_peephole", n_in=3, H=4, seed=1)
    plain = make_cell("lstm", n_in=3, H=4, seed=1)
    x, state, dh, dstate = random_problem(plain, 5)
    g_peep = peep.forward(x, state).backward(dh, dstate)
    g_plain = plain.forward(x, state).backward(dh, dstate)
    for name in ("w_ci", "w_cf", "w_co"):
        assert np.linalg.norm(g_peep.params[name]) > 1e-3
    assert not np.allclose(g_peep.params["weight_hh"], g_plain.params["weight_hh"])


def test_peephole_with_zero_peepholes_is_the_plain_lstm(make_cell, random_problem):
    """The step-by-step peephole path and the vectorised plain path agree when w_c* = 0."""
    peep = make_cell("lstm_peephole", n_in=3, H=4, seed=2)
    plain = make_cell("lstm", n_in=3, H=4, seed=2)
    for name in ("w_ci", "w_cf", "w_co"):
        peep.params[name][:] = 0.0
    x, state, dh, dstate = random_problem(plain, 7)
    tp, tq = peep.forward(x, state), plain.forward(x, state)
    gp, gq = tp.backward(dh, dstate), tq.backward(dh, dstate)
    np.testing.assert_allclose(tp.h, tq.h, rtol=1e-13, atol=1e-14)
    np.testing.assert_allclose(tp.c, tq.c, rtol=1e-13, atol=1e-14)
    for name, g in gq.params.items():
        np.testing.assert_allclose(gp.params[name], g, rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(gp.dc, gq.dc, rtol=1e-12, atol=1e-13)
