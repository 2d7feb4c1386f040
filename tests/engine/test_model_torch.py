"""SequenceModel against PyTorch: stacked and bidirectional nn.RNN/LSTM/GRU + nn.Linear + CE.

The same weights are loaded into both through load_state_dict; outputs, final states and every
parameter gradient must agree to 1e-9 in float64.
"""

import numpy as np
import pytest

from engine.model import ModelConfig, ModelState, SequenceModel

torch = pytest.importorskip("torch")
nn = torch.nn
F = torch.nn.functional

pytestmark = pytest.mark.torch

V, E, H, T = 5, 3, 4, 7
N_OUT = 5  # O, the head's size
TOL = 1e-9


class TorchSeq(nn.Module):
    def __init__(self, cell, num_layers, bidirectional, embed, out, nonlinearity="tanh"):
        super().__init__()
        self.embed = embed
        if embed:
            self.embedding = nn.Embedding(V, E)
        kind = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}[cell]
        kw = {"nonlinearity": nonlinearity} if cell == "rnn" else {}
        self.rnn = kind(
            E if embed else V,
            H,
            num_layers=num_layers,
            bidirectional=bidirectional,
            batch_first=True,
            **kw,
        )
        self.head = nn.Linear(H * (2 if bidirectional else 1), out)

    def forward(self, ids, state):
        x = self.embedding(ids) if self.embed else F.one_hot(ids, V).double()
        return self.rnn(x[None], state)


def make_pair(
    cell, num_layers, bidirectional, embed=False, setup="many-to-many", nonlinearity="tanh"
):
    torch.manual_seed(0)
    tm = TorchSeq(cell, num_layers, bidirectional, embed, N_OUT, nonlinearity).double()
    cfg = ModelConfig(
        cell=cell,
        vocab_size=V,
        hidden_size=H,
        num_layers=num_layers,
        bidirectional=bidirectional,
        output_size=N_OUT,
        setup=setup,
        input_encoding="embedding" if embed else "onehot",
        embed_size=E if embed else None,
        nonlinearity=nonlinearity,
        seed=1,
    )
    model = SequenceModel(cfg)
    model.load_state_dict(tm.state_dict())
    return tm, model


def random_states(cell, num_layers, D):
    g = torch.Generator().manual_seed(5)
    h0 = torch.randn(num_layers * D, 1, H, generator=g, dtype=torch.float64)
    c0 = torch.randn(num_layers * D, 1, H, generator=g, dtype=torch.float64)
    cells = []
    for li in range(num_layers):
        row = []
        for d in range(D):
            h = h0[li * D + d, 0].numpy()
            row.append((h, c0[li * D + d, 0].numpy()) if cell == "lstm" else h)
        cells.append(row)
    return ((h0, c0) if cell == "lstm" else h0), ModelState(cells)


def compare_grads(tm, res):
    names = dict(tm.named_parameters())
    assert set(names) == set(res.params)  # the model's names are PyTorch's names
    for name, p in names.items():
        np.testing.assert_allclose(res.params[name], p.grad.numpy(), rtol=0, atol=TOL, err_msg=name)


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("num_layers,bidirectional", [(2, False), (1, True), (3, True)])
def test_many_to_many_matches_torch(cell, num_layers, bidirectional):
    tm, model = make_pair(cell, num_layers, bidirectional, embed=num_layers != 1)
    D = 2 if bidirectional else 1
    tstate, state = random_states(cell, num_layers, D)
    ids = np.array([0, 3, 1, 4, 4, 2, 0])
    targets = np.array([3, 1, 4, 4, 2, 0, -1])

    out, hn = tm(torch.tensor(ids), tstate)
    logits = tm.head(out[0])
    loss = F.cross_entropy(logits, torch.tensor(targets), reduction="sum", ignore_index=-1)
    loss.backward()

    run = model.forward(ids, state)
    res = run.backward(targets)
    np.testing.assert_allclose(run.top, out[0].detach().numpy(), rtol=0, atol=TOL)
    np.testing.assert_allclose(run.outputs, logits.detach().numpy(), rtol=0, atol=TOL)
    assert abs(res.loss - loss.item()) < TOL
    h_n = hn[0] if cell == "lstm" else hn
    for li in range(num_layers):
        for d in range(D):
            fs = run.final_state[li][d]
            got_h = fs[0] if cell == "lstm" else fs
            np.testing.assert_allclose(got_h, h_n[li * D + d, 0].detach().numpy(), rtol=0, atol=TOL)
            if cell == "lstm":
                np.testing.assert_allclose(fs[1], hn[1][li * D + d, 0].detach().numpy(), atol=TOL)
    compare_grads(tm, res)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_bidirectional_many_to_one_is_out_last(cell):
    tm, model = make_pair(cell, 2, True, setup="many-to-one")
    ids = np.array([1, 2, 3, 0, 4])
    out, _ = tm(torch.tensor(ids), None)
    logits = tm.head(out[:, -1])  # PyTorch's usual classifier: the top output at the last step
    loss = F.cross_entropy(logits, torch.tensor([3]), reduction="sum")
    loss.backward()
    run = model.forward(ids)
    res = run.backward([3])
    np.testing.assert_allclose(run.outputs, logits.detach().numpy(), atol=TOL)
    compare_grads(tm, res)


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_one_to_many_with_an_embedding_matches_torch(cell):
    """x_0 = E[id], then zero vectors (nn.Embedding's row, then torch.zeros), every step scored."""
    tm, model = make_pair(cell, 2, False, embed=True, setup="one-to-many")
    steps, targets = 4, np.array([1, 4, 0, 2])
    x = torch.cat([tm.embedding(torch.tensor([3])), torch.zeros(steps - 1, E, dtype=torch.float64)])
    out, _ = tm.rnn(x[None])
    logits = tm.head(out[0])
    loss = F.cross_entropy(logits, torch.tensor(targets), reduction="sum")
    loss.backward()
    run = model.forward([3], steps=steps)
    res = run.backward(targets)
    np.testing.assert_allclose(run.outputs, logits.detach().numpy(), rtol=0, atol=TOL)
    assert abs(res.loss - loss.item()) < TOL
    compare_grads(tm, res)


def test_relu_rnn_and_prefixed_keys():
    tm, _ = make_pair("rnn", 2, False, nonlinearity="relu")
    cfg = ModelConfig(
        cell="rnn",
        vocab_size=V,
        hidden_size=H,
        num_layers=2,
        output_size=N_OUT,
        nonlinearity="relu",
    )
    model = SequenceModel(cfg)
    # a bare nn.RNN state dict (no prefix) plus the head: recurrent keys are found by suffix
    sd = {k.removeprefix("rnn."): v for k, v in tm.state_dict().items()}
    model.load_state_dict(sd)
    ids = np.array([0, 1, 2, 3])
    out, _ = tm(torch.tensor(ids), None)
    np.testing.assert_allclose(model.forward(ids).top, out[0].detach().numpy(), atol=TOL)


def test_load_state_dict_rejects_wrong_keys_and_shapes():
    tm, model = make_pair("lstm", 2, True)
    sd = dict(tm.state_dict())
    del sd["rnn.weight_hh_l1_reverse"]
    with pytest.raises(ValueError, match="weight_hh_l1_reverse"):
        model.load_state_dict(sd)
    sd = dict(tm.state_dict())
    sd["head.bias"] = torch.zeros(N_OUT + 1, dtype=torch.float64)
    with pytest.raises(ValueError, match="head.bias"):
        model.load_state_dict(sd)


def test_vector_inputs_with_squared_error_match_torch():
    torch.manual_seed(1)
    rnn = nn.GRU(3, H, num_layers=2, batch_first=True).double()
    head = nn.Linear(H, 2).double()
    model = SequenceModel(
        ModelConfig(
            cell="gru",
            vocab_size=None,
            input_size=3,
            hidden_size=H,
            num_layers=2,
            output_size=2,
            loss="mse",
        )
    )
    sd = {f"rnn.{k}": v for k, v in rnn.state_dict().items()}
    sd.update({f"head.{k}": v for k, v in head.state_dict().items()})
    model.load_state_dict(sd)
    g = torch.Generator().manual_seed(2)
    x = torch.randn(T, 3, generator=g, dtype=torch.float64)
    y = torch.randn(T, 2, generator=g, dtype=torch.float64)
    out, _ = rnn(x[None])
    loss = F.mse_loss(head(out[0]), y, reduction="sum")
    loss.backward()
    res = model.forward(x.numpy()).backward(y.numpy())
    assert abs(res.loss - loss.item()) < TOL
    for name, p in [
        *(("rnn." + k, v) for k, v in rnn.named_parameters()),
        *(("head." + k, v) for k, v in head.named_parameters()),
    ]:
        np.testing.assert_allclose(res.params[name], p.grad.numpy(), atol=TOL, err_msg=name)


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
def test_jordan_feedback_matches_a_torch_loop(cell):
    """The cell reads [x_t, softmax(z_{t-1})]; PyTorch unrolls the same loop with autograd."""
    torch.manual_seed(3)
    step_cell = {"rnn": nn.RNNCell, "lstm": nn.LSTMCell, "gru": nn.GRUCell}[cell](V + N_OUT, H)
    step_cell = step_cell.double()
    head = nn.Linear(H, N_OUT).double()
    model = SequenceModel(
        ModelConfig(cell=cell, vocab_size=V, hidden_size=H, output_size=N_OUT, jordan=True)
    )
    sd = {f"rnn.{k}_l0": v for k, v in step_cell.state_dict().items()}
    sd.update({f"head.{k}": v for k, v in head.state_dict().items()})
    model.load_state_dict(sd)
    ids = [0, 3, 1, 4, 2]
    targets = [3, 1, 4, 2, 0]
    h = torch.zeros(1, H, dtype=torch.float64)
    c = torch.zeros(1, H, dtype=torch.float64)
    y = torch.zeros(1, N_OUT, dtype=torch.float64)
    loss = 0.0
    for k, tgt in zip(ids, targets, strict=True):
        u = torch.cat([F.one_hot(torch.tensor([k]), V).double(), y], dim=1)
        if cell == "lstm":
            h, c = step_cell(u, (h, c))
        else:
            h = step_cell(u, h)
        z = head(h)
        y = torch.softmax(z, dim=1)
        loss = loss + F.cross_entropy(z, torch.tensor([tgt]), reduction="sum")
    loss.backward()
    res = model.forward(ids).backward(targets)
    assert abs(res.loss - loss.item()) < TOL
    for name, p in step_cell.named_parameters():
        np.testing.assert_allclose(res.params[f"rnn.{name}_l0"], p.grad.numpy(), atol=TOL)
    for name, p in head.named_parameters():
        np.testing.assert_allclose(res.params[f"head.{name}"], p.grad.numpy(), atol=TOL)
