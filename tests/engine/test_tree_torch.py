"""TreeNet (engine/tree.py) against PyTorch autograd on the same tree, float64, to 1e-9."""

import numpy as np
import pytest

from engine.tree import TreeConfig, TreeNet
from engine.tree_parse import parse

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.torch
TOL = 1e-9


def close(a, b, what):
    a, b = np.asarray(a), np.asarray(b)
    err = np.abs(a - b).max() / max(np.abs(b).max(), 1e-300)
    assert err <= TOL, f"{what}: relative error {err:.3g}"


@pytest.mark.parametrize(
    "text,every_node",
    [
        ("((the movie) (was (not good)))", False),
        ("((the movie) (was (not good)))", True),
        ("not so very good at all", False),  # right-branching default, a word used twice
        ("good", False),
    ],
)
def test_tree_matches_torch(text, every_node):
    nodes = parse(text)
    model = TreeNet(TreeConfig(vocab_size=7, hidden_size=4, num_classes=3, seed=2))
    words = [n.word for n in nodes if n.word is not None]
    ids = np.array([hash(w) % 7 for w in words])
    ids[-1] = -1 if len(words) > 2 else ids[-1]  # an unknown word: the zero vector
    run = model.forward(nodes, ids)
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, len(nodes)) if every_node else run.targets_root(1)
    res = run.backward(y)

    P = {k: torch.tensor(v, requires_grad=True) for k, v in model.params.items()}
    hs = []
    leaf = 0
    for node in nodes:
        if node.word is not None:
            k = int(ids[leaf])
            leaf += 1
            h = (
                P["tree.embedding"][k]
                if k >= 0
                else torch.zeros(4, dtype=torch.float64, requires_grad=True)
            )
        else:
            left, right = node.children
            h = torch.tanh(P["tree.W"] @ torch.cat([hs[left], hs[right]]) + P["tree.b"])
        h.retain_grad()
        hs.append(h)
    Hs = torch.stack(hs)
    logits = Hs @ P["head.weight"].T + P["head.bias"]
    yt = torch.tensor(y)
    mask = yt >= 0
    loss = torch.nn.functional.cross_entropy(logits[mask], yt[mask], reduction="sum")
    loss.backward()
    close(res.loss, loss.item(), "loss")
    close(run.h, Hs.detach().numpy(), "node vectors")
    for name, g in res.params.items():
        ref = P[name].grad  # None: a parameter the tree never used (W, b for one word)
        close(g, np.zeros_like(g) if ref is None else ref.numpy(), f"d{name}")
    close(res.dh, np.stack([h.grad.numpy() for h in hs]), "dL/dh per node")
