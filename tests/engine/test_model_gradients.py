"""Finite-difference checks of SequenceModel's full BPTT (no torch needed).

Every parameter entry of small models is perturbed by ±eps and the loss difference compared
with the analytic gradient, through encoding, stacked and bidirectional layers, every set-up,
Jordan feedback, peepholes and both losses.
"""

import numpy as np
import pytest

from engine.model import ModelConfig, SequenceModel

EPS = 1e-6
TOL = 1e-6


def loss_of(model, inputs, targets, state=None, steps=None):
    return model.forward(inputs, state, steps=steps).backward(targets).loss


def assert_grads_match_fd(model, inputs, targets, state=None, steps=None):
    res = model.forward(inputs, state, steps=steps).backward(targets)
    assert set(res.params) == set(model.params)
    checked = 0
    for name, w in model.params.items():
        numeric = np.zeros_like(w)
        for idx in np.ndindex(w.shape):
            old = w[idx]
            w[idx] = old + EPS
            up = loss_of(model, inputs, targets, state, steps)
            w[idx] = old - EPS
            down = loss_of(model, inputs, targets, state, steps)
            w[idx] = old
            numeric[idx] = (up - down) / (2 * EPS)
        scale = max(1.0, np.abs(numeric).max())
        err = np.abs(res.params[name] - numeric).max() / scale
        assert err < TOL, f"{name}: max error {err:.2e}"
        checked += w.size
    assert checked > 0
    return res


def make(**kw):
    base = dict(cell="lstm", vocab_size=4, hidden_size=3, seed=3)
    base.update(kw)
    return SequenceModel(ModelConfig(**base))


IDS = [0, 1, 2, 2, 3]
NEXT = [1, 2, 2, 3, -1]  # next-token targets, no loss at the last step


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("encoding", ["onehot", "embedding"])
def test_single_layer_encodings(cell, encoding):
    model = make(cell=cell, input_encoding=encoding, embed_size=2)
    assert_grads_match_fd(model, IDS, NEXT)


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_stacked_bidirectional(cell):
    model = make(
        cell=cell, num_layers=2, bidirectional=True, input_encoding="embedding", embed_size=2
    )
    assert_grads_match_fd(model, IDS, NEXT)


def test_three_stacked_layers_relu_rnn():
    model = make(cell="rnn", nonlinearity="relu", num_layers=3, hidden_size=4)
    assert_grads_match_fd(model, IDS, NEXT)


def test_peephole_lstm_model():
    model = make(peephole=True, num_layers=2)
    res = assert_grads_match_fd(model, IDS, NEXT)
    assert "rnn.w_ci_l1" in res.params


@pytest.mark.parametrize("bidirectional", [False, True])
def test_many_to_one(bidirectional):
    model = make(cell="gru", setup="many-to-one", output_size=3, bidirectional=bidirectional)
    run = model.forward(IDS)
    assert run.outputs.shape == (1, 3)
    assert_grads_match_fd(model, IDS, [2])


def test_one_to_many_feeds_zero_inputs_after_the_first():
    model = make(setup="one-to-many")
    run = model.forward([2], steps=4)
    assert run.outputs.shape == (4, 4)
    assert np.all(run.x[1:] == 0) and run.x[0, 2] == 1
    assert_grads_match_fd(model, [2], [1, 2, 3, 0], steps=4)


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_one_to_many_with_an_embedding(cell):
    """Only step 0 reads the embedding (the later inputs are zeros): its gradient is E[id]'s."""
    model = make(cell=cell, setup="one-to-many", input_encoding="embedding", embed_size=2)
    res = assert_grads_match_fd(model, [2], [1, 2, 3, 0], steps=4)
    dE = res.params["embedding.weight"]
    assert np.any(dE[2]) and not np.any(np.delete(dE, 2, axis=0))


def test_one_to_many_with_an_embedding_traces_and_trains():
    from engine.trace import build_trace
    from engine.train import TrainConfig, train_examples

    model = make(cell="gru", setup="one-to-many", input_encoding="embedding", embed_size=2)
    tr = build_trace(model, [2], targets=[1, 2, 3])
    assert len(tr["steps"]) == 3 and tr["loss"] > 0
    before = model.params["embedding.weight"].copy()
    result = train_examples(model, [([2], [1, 2, 3]), ([0], [3, 2, 1])], TrainConfig(steps=4))
    assert result.steps == 4
    assert not np.array_equal(model.params["embedding.weight"], before)


def test_one_to_one():
    model = make(cell="rnn", setup="one-to-one", num_layers=2)
    assert model.forward([1]).outputs.shape == (1, 4)
    assert_grads_match_fd(model, [1], [3])
    with pytest.raises(ValueError, match="exactly one input"):
        model.forward([1, 2])


def test_mse_with_vector_inputs_and_initial_state_gradient():
    model = make(
        cell="lstm", vocab_size=None, input_size=2, output_size=3, loss="mse", num_layers=2
    )
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 2))
    y = rng.standard_normal((4, 3))
    y[1] = np.nan  # no loss at step 1
    state = model.zero_state()
    state.cells[0][0] = (rng.standard_normal(3), rng.standard_normal(3))
    res = assert_grads_match_fd(model, x, y, state=state)
    # the gradient with respect to the inputs and the initial state, too
    for arr, grad in ((x, res.dx), (state.cells[0][0][1], res.dstate.cells[0][0][1])):
        numeric = np.zeros_like(arr)
        for idx in np.ndindex(arr.shape):
            old = arr[idx]
            arr[idx] = old + EPS
            up = loss_of(model, x, y, state)
            arr[idx] = old - EPS
            down = loss_of(model, x, y, state)
            arr[idx] = old
            numeric[idx] = (up - down) / (2 * EPS)
        np.testing.assert_allclose(grad, numeric, atol=1e-7)


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_jordan_feedback(cell):
    model = make(cell=cell, jordan=True, hidden_size=3)
    assert model.cells[0][0].input_size == 4 + 4  # x_t and y_{t-1}
    assert_grads_match_fd(model, IDS, NEXT)


def test_jordan_mse_one_to_many():
    model = make(
        cell="gru",
        jordan=True,
        vocab_size=None,
        input_size=2,
        output_size=2,
        loss="mse",
        setup="one-to-many",
    )
    y = np.random.default_rng(1).standard_normal((5, 2))
    assert_grads_match_fd(model, np.ones((1, 2)), y, steps=5)


def test_jordan_outputs_depend_on_previous_outputs():
    model = make(jordan=True)
    fw = model.forward(IDS).jordan
    # the cell's input at step t ends with the probabilities of step t-1
    np.testing.assert_array_equal(fw.u[0, 4:], 0.0)
    np.testing.assert_allclose(fw.u[1:, 4:], model.forward(IDS).probs[:-1])


def test_jordan_refuses_stacks_and_truncation():
    with pytest.raises(ValueError, match="jordan"):
        ModelConfig(cell="rnn", vocab_size=3, jordan=True, num_layers=2)
    with pytest.raises(ValueError, match="jordan"):
        ModelConfig(cell="rnn", vocab_size=3, jordan=True, bidirectional=True)
    with pytest.raises(ValueError, match="truncate"):
        make(jordan=True).forward(IDS).backward(NEXT, truncate=2)


def test_truncate_at_least_T_is_full_bptt_and_shorter_changes_gradients():
    model = make(num_layers=2, bidirectional=True)
    full = model.forward(IDS).backward(NEXT)
    same = model.forward(IDS).backward(NEXT, truncate=len(IDS))
    short = model.forward(IDS).backward(NEXT, truncate=1)
    for name in full.params:
        np.testing.assert_allclose(same.params[name], full.params[name], rtol=1e-12, atol=1e-14)
    assert not np.allclose(short.params["rnn.weight_hh_l0"], full.params["rnn.weight_hh_l0"])
