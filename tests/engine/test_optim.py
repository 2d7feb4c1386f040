"""Clipping and optimisers."""

import numpy as np
import pytest

from engine.optim import SGD, Adagrad, Adam, clip_by_global_norm, clip_by_value, global_norm


def grads(seed=0, scale=10.0):
    rng = np.random.default_rng(seed)
    return {"a": scale * rng.standard_normal((3, 4)), "b": scale * rng.standard_normal(5)}


@pytest.mark.parametrize("max_norm", [0.5, 3.0, 1e3])
def test_global_norm_clipping_bounds_the_norm_and_keeps_the_direction(max_norm):
    g = grads()
    before = {k: v.copy() for k, v in g.items()}
    norm, clipped = clip_by_global_norm(g, max_norm)
    assert norm == pytest.approx(global_norm(before))
    assert clipped == (norm > max_norm)
    assert global_norm(g) <= max_norm + 1e-12
    flat_before = np.concatenate([v.ravel() for v in before.values()])
    flat_after = np.concatenate([v.ravel() for v in g.values()])
    cos = flat_before @ flat_after / (np.linalg.norm(flat_before) * np.linalg.norm(flat_after))
    assert cos == pytest.approx(1.0, abs=1e-12)
    if not clipped:
        for k in g:
            np.testing.assert_array_equal(g[k], before[k])


def test_clip_by_value_bounds_every_element():
    g = grads()
    assert clip_by_value(g, 1.5)
    for v in g.values():
        assert np.abs(v).max() <= 1.5
    assert not clip_by_value(grads(scale=0.01), 1.5)


def test_sgd_with_momentum_follows_the_heavy_ball_formula():
    w = {"w": np.array([1.0])}
    opt = SGD(lr=0.1, momentum=0.9)
    opt.step(w, {"w": np.array([1.0])})  # v = 1, w = 0.9
    opt.step(w, {"w": np.array([1.0])})  # v = 1.9, w = 0.71
    assert w["w"][0] == pytest.approx(0.71)


def test_adagrad_matches_min_char_rnn():
    w = {"w": np.array([2.0, -1.0])}
    mem = np.zeros(2)
    expect = w["w"].copy()
    opt = Adagrad(lr=0.1)
    for g in (np.array([0.5, -2.0]), np.array([1.0, 0.0])):
        mem += g * g
        expect += -0.1 * g / np.sqrt(mem + 1e-8)
        opt.step(w, {"w": g})
    np.testing.assert_allclose(w["w"], expect, rtol=0, atol=0)


@pytest.mark.parametrize("make", [lambda: SGD(0.1, 0.5), lambda: Adagrad(0.5), lambda: Adam(0.1)])
def test_optimisers_minimise_a_quadratic_in_place(make):
    target = np.array([1.0, -2.0, 3.0])
    w = np.zeros(3)
    params = {"w": w}
    opt = make()
    for _ in range(500):
        opt.step(params, {"w": 2 * (params["w"] - target)})
    assert params["w"] is w  # updated in place: views of the array see the change
    np.testing.assert_allclose(w, target, atol=1e-2)
