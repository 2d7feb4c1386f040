"""Each attention line's share of the encoder states' gradient (attention.line_gradients).

g_ts is dL/dh̄_s as seen by decoder step t alone: give step t its own copy of the encoder
states and differentiate the loss with respect to that copy (central finite differences);
summed over t the shares are dh̄_s through the attention."""

import numpy as np
import pytest

from engine import attention
from tests.engine.test_cells_fd import numeric_grad


def setup(kind: str, T=3, S=4, H=3, seed=0):
    rng = np.random.default_rng(seed)
    p = {"W_c": rng.normal(size=(H, 2 * H)), "b_c": rng.normal(size=H)}
    if kind == "general":
        p["W_a"] = rng.normal(size=(H, H))
    h, Hbar, w = rng.normal(size=(T, H)), rng.normal(size=(S, H)), rng.normal(size=(T, H))
    return p, h, Hbar, w  # L = Σ_t w_t · h̃_t, so dL/dh̃ = w


def loss_with_copies(kind, p, h, copies, w):
    """Σ_t w_t · h̃_t, step t attending over its own copy of the encoder states."""
    return sum(
        float(w[t] @ attention.forward(kind, h[t : t + 1], copies[t], p).h_tilde[0])
        for t in range(h.shape[0])
    )


@pytest.mark.parametrize("kind", attention.SCORES)
def test_each_line_carries_what_its_decoder_step_sends_its_encoder_state(kind):
    p, h, Hbar, w = setup(kind)
    fw = attention.forward(kind, h, Hbar, p)
    g = attention.backward(fw, w, p)
    lines = attention.line_gradients(fw, g, p)  # (T, S, H)
    T = lines.shape[0]
    copies = np.repeat(Hbar[None], T, axis=0)  # (T, S, H)
    numeric = numeric_grad(lambda: loss_with_copies(kind, p, h, copies, w), copies)
    np.testing.assert_allclose(lines, numeric, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(lines.sum(axis=0), g.dHbar, atol=1e-13)


def test_a_line_with_no_weight_and_a_flat_score_carries_nothing():
    """One decoder step whose α is one-hot: the other lines get neither ctx nor score share."""
    p, h, Hbar, w = setup("dot", T=1, S=3)
    Hbar = Hbar * 0 + np.array([[0.0, 0.0, 0.0], [0.0, 0.0, 0.0], [50.0, 0.0, 0.0]])
    h = np.array([[1.0, 0.0, 0.0]])
    fw = attention.forward("dot", h, Hbar, p)
    lines = attention.line_gradients(fw, attention.backward(fw, w, p), p)
    assert fw.alpha[0, 2] > 1 - 1e-15
    assert np.abs(lines[0, :2]).max() < 1e-15 and np.abs(lines[0, 2]).max() > 0
