"""engine/projection.py: the PCA against an eigendecomposition of the covariance, its sign
convention and determinism, and the reference states of a model's own data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from engine.model import ModelConfig, SequenceModel
from engine.projection import (
    fit_model_projection,
    fit_pca,
    reference_sequences,
    reference_states,
)
from engine.storage import load_model
from engine.tasks import BUILTIN
from engine.tokenize import Vocabulary

DEMOS = Path(__file__).resolve().parents[2] / "server" / "demo_models"


def covariance_reference(X: np.ndarray, k: int = 2):
    """The textbook PCA: eigenvectors of the sample covariance, by decreasing eigenvalue."""
    C = np.cov(X, rowvar=False)  # (H, H), divides by N - 1
    w, V = np.linalg.eigh(C)
    order = np.argsort(w)[::-1]
    w, V = w[order], V[:, order]
    return V[:, :k].T, w[:k], w[:k] / w.sum()


def correlated(seed: int, N: int = 300, H: int = 7) -> np.ndarray:
    rng = np.random.default_rng(seed)
    A = rng.normal(size=(H, H)) * np.linspace(3, 0.2, H)  # distinct variances per direction
    return rng.normal(size=(N, H)) @ A.T + rng.normal(size=H) * 5


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_pca_equals_the_covariance_eigendecomposition(seed):
    X = correlated(seed)
    p = fit_pca(X)
    comps, var, ratio = covariance_reference(X)
    np.testing.assert_allclose(p.mean, X.mean(axis=0), atol=1e-12)
    for j in range(2):  # the same axes up to their (arbitrary) sign
        assert abs(abs(p.components[j] @ comps[j]) - 1) < 1e-9
    np.testing.assert_allclose(p.explained_variance, var, rtol=1e-9)
    np.testing.assert_allclose(p.explained_variance_ratio, ratio, rtol=1e-9)
    np.testing.assert_allclose(p.components @ p.components.T, np.eye(2), atol=1e-12)
    # the projected states: centred, uncorrelated, with the component variances
    Z = p.transform(X)
    np.testing.assert_allclose(Z.mean(axis=0), 0, atol=1e-9)
    np.testing.assert_allclose(np.cov(Z, rowvar=False), np.diag(var), atol=1e-8 * var[0])


def test_sign_convention_and_determinism():
    X = correlated(3)
    p = fit_pca(X)
    for row in p.components:  # the largest entry in absolute value is positive
        assert row[np.argmax(np.abs(row))] > 0
    # the same states in another order, or refitted: the same axes
    q = fit_pca(X[np.random.default_rng(9).permutation(len(X))])
    np.testing.assert_allclose(q.components, p.components, atol=1e-10)
    np.testing.assert_allclose(q.mean, p.mean, atol=1e-12)
    # a mirrored data set (-X) still gets positive largest entries: the axes flip with the data
    m = fit_pca(-X)
    np.testing.assert_allclose(m.components, p.components, atol=1e-10)
    np.testing.assert_allclose(m.transform(-X), -p.transform(X), atol=1e-9)


def test_degenerate_inputs():
    # all states equal: no variance, no axis
    p = fit_pca(np.ones((5, 3)))
    assert np.all(p.components == 0) and np.all(p.explained_variance_ratio == 0)
    # states on one line: one axis along it (its first largest entry, -2 vs 2, made positive)
    line = np.outer(np.arange(6.0), [1.0, -2.0, 2.0])
    p = fit_pca(line)
    np.testing.assert_allclose(p.components[0], np.array([-1, 2, -2]) / 3, atol=1e-12)
    np.testing.assert_allclose(p.explained_variance_ratio, [1, 0], atol=1e-12)
    assert np.all(p.components[1] == 0)
    # H = 1: one component; one state: no variance
    assert fit_pca(np.arange(4.0)[:, None]).components.shape == (1, 1)
    assert fit_pca(np.ones((1, 4))).n == 1
    with pytest.raises(ValueError):
        fit_pca(np.array([[1.0, np.nan]]))
    with pytest.raises(ValueError):
        fit_pca(np.zeros((0, 3)))


def test_question_demo_uses_its_task_and_the_two_orders_part_ways():
    lm = load_model(DEMOS / "gru-question.npz")
    proj, ref, pts = fit_model_projection(lm.model, lm.vocab, task_name=lm.task)
    n_sentences = len(BUILTIN["question"].examples)
    assert ref.source == "task" and len(ref.sequences) == n_sentences
    assert proj.n == sum(len(s) for s in ref.sequences) == len(pts)
    X = reference_states(lm.model, ref)
    comps, _, ratio = covariance_reference(X)
    np.testing.assert_allclose(proj.explained_variance_ratio, ratio, rtol=1e-9)
    a = proj.transform(lm.model.forward(lm.vocab.encode("you are good")).tapes[0][0].h)
    b = proj.transform(lm.model.forward(lm.vocab.encode("are you good")).tapes[0][0].h)
    # the last states of a statement and a question lie far apart (more than the cloud's spread)
    assert np.linalg.norm(a[-1] - b[-1]) > 2 * np.sqrt(proj.explained_variance[0])


def test_reference_fallbacks_are_deterministic_and_bounded():
    vocab = Vocabulary.from_text("abcde fgh", level="char")
    V = len(vocab)
    lm = SequenceModel(ModelConfig(cell="lstm", vocab_size=V, hidden_size=5, seed=1))
    r1 = reference_sequences(lm, vocab, "next-char", "abc", max_steps=200)
    r2 = reference_sequences(lm, vocab, "next-char", "abc", max_steps=200)
    assert r1.source == "sample" and sum(len(s) for s in r1.sequences) == 200
    assert all(np.array_equal(a, b) for a, b in zip(r1.sequences, r2.sequences, strict=True))
    assert r1.sequences[0][:3].tolist() == vocab.encode("abc").tolist()
    cls = SequenceModel(
        ModelConfig(
            cell="gru", vocab_size=V, hidden_size=4, output_size=2, setup="many-to-one", seed=2
        )
    )
    r = reference_sequences(cls, vocab, "classify", "abc", max_steps=100)
    assert r.source == "vocabulary" and sum(len(s) for s in r.sequences) <= 100
    bi = SequenceModel(
        ModelConfig(cell="rnn", vocab_size=V, hidden_size=3, num_layers=2, bidirectional=True)
    )
    r = reference_sequences(bi, vocab, "next-char", "", max_steps=64)
    X = reference_states(bi, r, layer=0, direction=1)
    assert X.shape == (64, 3)
    with pytest.raises(ValueError):
        reference_states(bi, r, layer=2)
    with pytest.raises(ValueError):
        reference_states(lm, r, direction=1)


def test_a_big_task_is_cut_to_max_steps():
    lm = load_model(DEMOS / "gru-question.npz")
    ref = reference_sequences(lm.model, lm.vocab, lm.task, max_steps=90)
    assert ref.source == "task" and 0 < sum(len(s) for s in ref.sequences) <= 90
    # evenly spaced: statements and questions both present
    texts = [" ".join(lm.vocab.decode_tokens(s)) for s in ref.sequences]
    assert any(t.startswith(("are", "is", "am")) for t in texts)
    assert any(t.startswith(("you", "he", "i ")) for t in texts)
