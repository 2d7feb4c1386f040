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
    norm, clipped, scale = clip_by_global_norm(g, max_norm)
    assert norm == pytest.approx(global_norm(before))
    assert clipped == (norm > max_norm)
    assert scale == (max_norm / (norm + 1e-6) if clipped else 1.0)
    assert global_norm(g) <= max_norm + 1e-12
    flat_before = np.concatenate([v.ravel() for v in before.values()])
    flat_after = np.concatenate([v.ravel() for v in g.values()])
    cos = flat_before @ flat_after / (np.linalg.norm(flat_before) * np.linalg.norm(flat_after))
    assert cos == pytest.approx(1.0, abs=1e-12)
    if not clipped:
        for k in g:
            np.testing.assert_array_equal(g[k], before[k])


def test_clipping_uses_pytorchs_formula_at_the_edge():
    """clip_grad_norm_ scales by max_norm / (total_norm + 1e-6), at most 1: a norm just above
    max_norm is scaled by a factor below max_norm / norm, and a norm within 1e-6 below
    max_norm is scaled too."""
    for norm in (2.0 + 1e-7, 2.0 - 5e-7, 2.0 + 1e-3):
        g = {"a": np.array([norm])}
        got_norm, clipped, scale = clip_by_global_norm(g, 2.0)
        assert got_norm == norm
        assert clipped
        assert scale == 2.0 / (norm + 1e-6)
        assert g["a"][0] == norm * (2.0 / (norm + 1e-6))
        assert g["a"][0] < min(norm, 2.0)  # the old max_norm / norm gave exactly 2.0
    g = {"a": np.array([2.0 - 2e-6])}  # below max_norm - 1e-6: left alone
    assert clip_by_global_norm(g, 2.0) == (2.0 - 2e-6, False, 1.0)
    assert g["a"][0] == 2.0 - 2e-6


@pytest.mark.torch
@pytest.mark.parametrize("max_norm", [0.5, 3.0, 1e3])
def test_clipping_equals_torch_clip_grad_norm(max_norm):
    torch = pytest.importorskip("torch")
    g = grads(seed=3)
    params = [torch.zeros(v.shape, dtype=torch.float64, requires_grad=True) for v in g.values()]
    for p, v in zip(params, g.values(), strict=True):
        p.grad = torch.tensor(v)
    total = torch.nn.utils.clip_grad_norm_(params, max_norm)
    norm, _, _ = clip_by_global_norm(g, max_norm)
    assert norm == pytest.approx(float(total), rel=1e-12)
    for p, v in zip(params, g.values(), strict=True):
        np.testing.assert_allclose(v, p.grad.numpy(), rtol=1e-9, atol=0)


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
