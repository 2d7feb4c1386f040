"""The bag-of-words classifier (engine/bow.py): its gradients against finite differences and
PyTorch, order blindness, training, and its file (engine/bow_storage.py)."""

from __future__ import annotations

import io

import numpy as np
import pytest

from engine.bow import BagOfWords, BowConfig, BowTrainConfig, accuracy, train
from engine.bow_storage import load_bow, save_bow
from engine.storage import ModelFileError
from engine.tokenize import NO_TOKEN, Vocabulary


def _model(V=7, H=5, K=3, seed=3) -> BagOfWords:
    return BagOfWords(BowConfig(vocab_size=V, hidden_size=H, output_size=K, seed=seed))


def _numeric(f, a: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    g = np.zeros_like(a)
    for i in np.ndindex(a.shape):
        old = a[i]
        a[i] = old + eps
        up = f()
        a[i] = old - eps
        down = f()
        a[i] = old
        g[i] = (up - down) / (2 * eps)
    return g


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_gradients_match_finite_differences(seed):
    m = _model(seed=seed)
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 3, 7).astype(float) + rng.standard_normal(7) * 0.1
    y = int(rng.integers(3))
    fw = m.forward_vector(x)
    grads, dx = m.backward(fw, y)
    loss = lambda: m.loss(m.forward_vector(x), y)  # noqa: E731
    for name, p in m.params.items():
        np.testing.assert_allclose(grads[name], _numeric(loss, p), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(dx, _numeric(loss, x), rtol=1e-6, atol=1e-8)


def test_forward_and_backward_match_torch():
    torch = pytest.importorskip("torch")
    m = _model(V=11, H=6, K=2, seed=5)
    ids = np.array([3, 1, 3, 10, NO_TOKEN, 0])
    fw = m.forward(ids)
    grads, _ = m.backward(fw, 1)
    t = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in m.params.items()}
    x = torch.zeros(11, dtype=torch.float64)
    for i in ids[ids != NO_TOKEN]:
        x[int(i)] += 1.0
    z = t["U"] @ torch.tanh(t["W"] @ x + t["b"]) + t["c"]
    loss = torch.nn.functional.cross_entropy(z[None], torch.tensor([1]))
    loss.backward()
    np.testing.assert_allclose(fw.z, z.detach().numpy(), rtol=1e-12, atol=1e-14)
    assert m.loss(fw, 1) == pytest.approx(loss.item(), rel=1e-12)
    for k in t:
        np.testing.assert_allclose(grads[k], t[k].grad.numpy(), rtol=1e-10, atol=1e-14)


def test_order_cannot_matter_and_counts_do():
    m = _model()
    a, b = m.forward([1, 2, 3]), m.forward([3, 1, 2])
    np.testing.assert_array_equal(a.x, b.x)
    np.testing.assert_array_equal(a.p, b.p)
    assert m.bag([2, 2, NO_TOKEN]).tolist() == [0, 0, 2, 0, 0, 0, 0]
    assert not np.array_equal(m.forward([2]).p, m.forward([2, 2]).p)
    with pytest.raises(ValueError, match="token ids"):
        m.bag([7])


def test_training_learns_a_bag_task_and_is_deterministic():
    # label 1 when token 0 is in the sentence: a bag can learn it
    rng = np.random.default_rng(0)
    ex = [(ids, int(0 in ids)) for ids in (rng.integers(0, 7, 4) for _ in range(200))]
    runs = []
    for _ in range(2):
        m = _model(K=2)
        train(m, ex, BowTrainConfig(steps=3000, lr=0.02, seed=1))
        runs.append(m)
    assert accuracy(runs[0], ex) > 0.97
    for k in runs[0].params:
        np.testing.assert_array_equal(runs[0].params[k], runs[1].params[k])


def test_file_round_trip_and_refusals(tmp_path):
    m = _model(V=4, K=2)
    vocab = Vocabulary(["a", "b", "c"], level="word", unk="<unk>", normalize="lower")
    path = tmp_path / "bow.npz"
    save_bow(path, m, vocab, ["no", "yes"], extra={"id": "bow-x"})
    back = load_bow(path)
    assert back.vocab == vocab and back.labels == ["no", "yes"]
    assert back.metadata["id"] == "bow-x"
    for k in m.params:
        np.testing.assert_array_equal(back.model.params[k], m.params[k])
    with pytest.raises(ModelFileError, match="not a readable"):
        load_bow(b"not a zip")
    with np.load(path) as npz:
        arrays = {k: npz[k] for k in npz.files}
    arrays["W"] = arrays["W"] + 1.0  # tampered
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    with pytest.raises(ModelFileError, match="checksum"):
        load_bow(buf.getvalue())
    with pytest.raises(ModelFileError, match="match the config"):
        save_bow(buf := io.BytesIO(), m, vocab, ["only one"])
        load_bow(buf.getvalue())
