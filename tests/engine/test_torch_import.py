"""PyTorch state dicts -> Unrolled models (engine/torch_import.py, engine/cells/state_dict.py).

A ReLU nn.RNN imports as ReLU only when asked (its state dict cannot say), bias=False modules
import with zero biases, and options Unrolled has no place for are refused with a sentence.
"""

import numpy as np
import pytest

from engine import LSTM
from engine.model import ModelConfig, SequenceModel
from engine.torch_import import model_from_state_dict, recurrent_layout

TOL = 1e-9


def lstm_arrays(H=3, n_in=2, layers=1, bias=True):
    rng = np.random.default_rng(0)
    sd = {}
    for li in range(layers):
        width = n_in if li == 0 else H
        sd[f"lstm.weight_ih_l{li}"] = rng.standard_normal((4 * H, width))
        sd[f"lstm.weight_hh_l{li}"] = rng.standard_normal((4 * H, H))
        if bias:
            sd[f"lstm.bias_ih_l{li}"] = rng.standard_normal(4 * H)
            sd[f"lstm.bias_hh_l{li}"] = rng.standard_normal(4 * H)
    return sd


def test_layout_is_read_from_the_keys_and_shapes():
    layout = recurrent_layout(lstm_arrays(H=3, n_in=2, layers=2, bias=False))
    assert layout == ("lstm", 2, 3, 2, False, False, False)
    assert recurrent_layout(lstm_arrays()).bias


def test_bias_free_arrays_import_with_zero_biases():
    sd = lstm_arrays(bias=False)
    model = model_from_state_dict(sd, output_size=2)
    for name in ("rnn.bias_ih_l0", "rnn.bias_hh_l0"):
        assert not model.params[name].any()
    cell = LSTM(2, 3)
    cell.load_state_dict({k.removeprefix("lstm."): v for k, v in sd.items()})
    assert not cell.params["bias_ih"].any() and not cell.params["bias_hh"].any()
    # one bias of two missing is a damaged file, not bias=False
    half = {**sd, "lstm.bias_ih_l0": np.zeros(12)}
    with pytest.raises(ValueError, match="missing.*bias_hh"):
        model_from_state_dict(half, output_size=2)
    with pytest.raises(ValueError, match="missing.*bias_hh"):
        cell.load_state_dict({k.removeprefix("lstm."): v for k, v in half.items()})


def test_an_rnn_state_dict_needs_its_nonlinearity_and_others_take_none():
    rng = np.random.default_rng(1)
    sd = {
        "weight_ih_l0": rng.standard_normal((3, 2)),
        "weight_hh_l0": rng.standard_normal((3, 3)),
        "bias_ih_l0": rng.standard_normal(3),
        "bias_hh_l0": rng.standard_normal(3),
    }
    with pytest.raises(ValueError, match="nonlinearity='tanh' or 'relu'"):
        model_from_state_dict(sd, output_size=2)
    with pytest.raises(ValueError, match="nonlinearity='tanh' or 'relu'"):
        model_from_state_dict(sd, nonlinearity="sigmoid", output_size=2)
    relu = model_from_state_dict(sd, nonlinearity="relu", output_size=2)
    assert relu.config.nonlinearity == "relu" and relu.cells[0][0].nonlinearity == "relu"
    with pytest.raises(ValueError, match="RNN state dicts"):
        model_from_state_dict(lstm_arrays(), nonlinearity="relu", output_size=2)


@pytest.mark.parametrize(
    "key,words",
    [("lstm.weight_hr_l0", "proj_size"), ("weight_hh_l0_g", "weight normalisation")],
)
def test_unsupported_options_are_refused_with_a_sentence(key, words):
    sd = {**lstm_arrays(), key: np.zeros((3, 2))}
    model = SequenceModel(ModelConfig(cell="lstm", input_size=2, hidden_size=3, output_size=2))
    for load in (
        lambda: model_from_state_dict(sd, output_size=2),
        lambda: model.load_state_dict(sd),
        lambda: LSTM(2, 3).load_state_dict({k.removeprefix("lstm."): v for k, v in sd.items()}),
    ):
        with pytest.raises(ValueError, match=words) as err:
            load()
        assert "unexpected" not in str(err.value) and "missing" not in str(err.value)


# -- against PyTorch -----------------------------------------------------------------------


@pytest.fixture
def torch():
    return pytest.importorskip("torch")


class Net:
    """nn.<cell> + nn.Linear head on vector inputs, as a user would build it in PyTorch."""

    def __init__(self, torch, cell, **kw):
        torch.manual_seed(0)
        kind = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[cell]
        self.rnn = kind(3, 4, num_layers=2, **kw).double()
        self.head = torch.nn.Linear(4 * (2 if kw.get("bidirectional") else 1), 2).double()
        self.torch = torch

    def state_dict(self):
        sd = {f"rnn.{k}": v for k, v in self.rnn.state_dict().items()}
        sd.update({f"head.{k}": v for k, v in self.head.state_dict().items()})
        return sd

    def run(self, x, y):
        out, _ = self.rnn(self.torch.tensor(x)[:, None])
        z = self.head(out[:, 0])
        loss = ((z - self.torch.tensor(y)) ** 2).sum()
        loss.backward()
        return z.detach().numpy(), loss.item()


def data(T=6):
    rng = np.random.default_rng(7)
    return rng.standard_normal((T, 3)), rng.standard_normal((T, 2))


def assert_equals_torch(net, nonlinearity):
    """The imported model's outputs, loss and weight gradients are torch's; -> torch's outputs."""
    x, y = data()
    z, loss = net.run(x, y)
    model = model_from_state_dict(net.state_dict(), nonlinearity=nonlinearity, loss="mse")
    run = model.forward(x)
    np.testing.assert_allclose(run.outputs, z, rtol=TOL, atol=TOL)
    res = run.backward(y)
    assert abs(res.loss - loss) < TOL * max(1.0, loss)
    for name, p in net.rnn.named_parameters():
        np.testing.assert_allclose(res.params["rnn." + name], p.grad.numpy(), atol=TOL)
    return z


@pytest.mark.torch
def test_a_relu_rnn_imported_as_relu_equals_torch(torch):
    net = Net(torch, "rnn", nonlinearity="relu")
    x, _ = data()
    z = assert_equals_torch(net, nonlinearity="relu")
    # imported as tanh (what a silent default would do), the same weights say something else
    tanh = model_from_state_dict(net.state_dict(), nonlinearity="tanh", loss="mse")
    assert np.abs(tanh.forward(x).outputs - z).max() > 1e-3


@pytest.mark.torch
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_bias_free_modules_equal_torch(torch, cell, bidirectional):
    kw = {"nonlinearity": "tanh"} if cell == "rnn" else {}
    net = Net(torch, cell, bias=False, bidirectional=bidirectional, **kw)
    assert not any("bias" in k for k in net.rnn.state_dict())
    assert_equals_torch(net, nonlinearity="tanh" if cell == "rnn" else None)


@pytest.mark.torch
def test_an_lstm_with_proj_size_is_refused_with_a_sentence(torch):
    lstm = torch.nn.LSTM(3, 4, proj_size=2)
    with pytest.raises(ValueError, match="proj_size") as err:
        model_from_state_dict(lstm.state_dict(), output_size=2)
    assert "projection" in str(err.value) and "weight_ih" not in str(err.value)
