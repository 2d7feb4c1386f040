"""Linear head and losses against finite differences and closed forms."""

import numpy as np
import pytest

from engine import heads

EPS = 1e-6


def numeric_grad(f, x):
    g = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        old = x[idx]
        x[idx] = old + EPS
        up = f()
        x[idx] = old - EPS
        down = f()
        x[idx] = old
        g[idx] = (up - down) / (2 * EPS)
    return g


@pytest.fixture
def problem():
    rng = np.random.default_rng(0)
    h = rng.standard_normal((4, 3))
    W = rng.standard_normal((5, 3))
    b = rng.standard_normal(5)
    return h, W, b


@pytest.mark.parametrize("loss", ["ce", "mse"])
def test_head_and_loss_gradients_match_finite_differences(problem, loss):
    h, W, b = problem
    if loss == "ce":
        targets = np.array([1, -1, 4, 0])
    else:
        targets = np.random.default_rng(1).standard_normal((4, 5))
        targets[1] = np.nan

    def f():
        return heads.loss_forward(loss, heads.linear_forward(h, W, b), targets).sum()

    y = heads.linear_forward(h, W, b)
    dy = heads.loss_backward(loss, y, targets)
    dh, dW, db = heads.linear_backward(dy, h, W)
    for got, arr in ((dh, h), (dW, W), (db, b)):
        np.testing.assert_allclose(got, numeric_grad(f, arr), atol=1e-8)
    assert np.all(dy[1] == 0)  # the step without a target passes no gradient


def test_cross_entropy_is_minus_log_probability_and_stable_for_huge_logits():
    y = np.array([[1000.0, 0.0, -1000.0], [0.0, 0.0, 0.0]])
    losses, p = heads.cross_entropy_forward(y, np.array([2, 1]))
    assert np.isfinite(losses).all()
    assert losses[0] == pytest.approx(2000.0)
    assert losses[1] == pytest.approx(np.log(3))
    np.testing.assert_allclose(p.sum(axis=1), 1.0)


def test_mse_is_sum_of_squares():
    y = np.array([[1.0, 2.0]])
    assert heads.mse_forward(y, np.array([[0.0, 0.0]]))[0] == pytest.approx(5.0)


def test_softmax_backward_matches_finite_differences():
    rng = np.random.default_rng(2)
    z = rng.standard_normal((1, 4))
    w = rng.standard_normal((1, 4))

    def f():
        return float((heads.softmax(z) * w).sum())

    np.testing.assert_allclose(
        heads.softmax_backward(w, heads.softmax(z)), numeric_grad(f, z), atol=1e-9
    )


def test_bad_targets_are_refused():
    with pytest.raises(ValueError, match="targets"):
        heads.cross_entropy_forward(np.zeros((2, 3)), np.array([0, 3]))
    with pytest.raises(ValueError, match="shape"):
        heads.mse_forward(np.zeros((2, 3)), np.zeros((2, 2)))
