"""engine.batch.forward_many: many sequences side by side give what model.forward gives each.

A burst of different sentences is computed as one batch; every number a student then sees
must be the one their sentence alone gives (up to the last bits of a differently ordered sum),
and BPTT from a batched run must give the same gradients."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine import ModelConfig, SequenceModel
from engine.batch import batchable, forward_many, length_groups
from engine.model import ModelState

TOL = {"rtol": 1e-11, "atol": 1e-13}


def _model(cell="lstm", layers=1, bidirectional=False, seed=0, **kw) -> SequenceModel:
    nonlinearity = "tanh"
    if cell == "rnn_relu":
        cell, nonlinearity = "rnn", "relu"
    cfg = ModelConfig(
        cell=cell,
        vocab_size=kw.pop("vocab_size", 11),
        hidden_size=kw.pop("hidden_size", 8),
        num_layers=layers,
        bidirectional=bidirectional,
        nonlinearity=nonlinearity,
        seed=seed,
        **kw,
    )
    model = SequenceModel(cfg)
    rng = np.random.default_rng(seed + 100)
    for p in model.params.values():  # larger weights: saturated gates, a sterner comparison
        p *= rng.uniform(1.0, 2.5)
    return model


def _random_state(model: SequenceModel, rng) -> ModelState:
    cells = []
    for layer in model.cells:
        row = []
        for cell in layer:
            h = rng.uniform(-1, 1, cell.hidden_size)
            row.append((h, rng.standard_normal(cell.hidden_size)) if cell.has_cell_state else h)
        cells.append(row)
    return ModelState(cells)


def _assert_same_run(batched, alone):
    assert np.array_equal(batched.ids, alone.ids) and np.array_equal(batched.x, alone.x)
    assert np.array_equal(batched.out_idx, alone.out_idx)
    np.testing.assert_allclose(batched.top, alone.top, **TOL)
    np.testing.assert_allclose(batched.outputs, alone.outputs, **TOL)
    if alone.probs is not None:
        np.testing.assert_allclose(batched.probs, alone.probs, **TOL)
    for layer_b, layer_a in zip(batched.tapes, alone.tapes, strict=True):
        for tb, ta in zip(layer_b, layer_a, strict=True):
            assert tb.T == ta.T and set(tb.gates) == set(ta.gates)
            for name in ("x", "h", "c", "pre", "tanh_c", "m", "h0", "c0"):
                a, b = getattr(ta, name, None), getattr(tb, name, None)
                if a is None:
                    assert b is None, name
                else:
                    np.testing.assert_allclose(b, a, **TOL, err_msg=name)
            for g in ta.gates:
                np.testing.assert_allclose(tb.gates[g], ta.gates[g], **TOL, err_msg=g)
    for layer_b, layer_a in zip(batched.final_state.cells, alone.final_state.cells, strict=True):
        for sb, sa in zip(layer_b, layer_a, strict=True):
            np.testing.assert_allclose(np.ravel(sb), np.ravel(sa), **TOL)


CASES = [
    (cell, layers, bi)
    for cell in ("rnn", "rnn_relu", "gru", "lstm")
    for layers, bi in ((1, False), (2, False), (1, True), (3, True))
]


@pytest.mark.parametrize(("cell", "layers", "bidirectional"), CASES)
def test_each_sequence_of_a_batch_gets_what_it_gets_alone(cell, layers, bidirectional):
    model = _model(cell, layers, bidirectional)
    rng = np.random.default_rng(3)
    lengths = [7, 1, 12, 4, 7, 9, 2]  # one batch pads, another runs alone
    inputs = [rng.integers(0, 11, n) for n in lengths]
    states = [None, _random_state(model, rng), None, _random_state(model, rng), None, None, None]
    runs = forward_many(model, inputs, states)
    for run, x, state in zip(runs, inputs, states, strict=True):
        alone = model.forward(x, state)
        _assert_same_run(run, alone)
        targets = rng.integers(0, 11, len(x))
        gb, ga = run.backward(targets), alone.backward(targets)
        for name in ga.params:
            np.testing.assert_allclose(gb.params[name], ga.params[name], **TOL, err_msg=name)
        np.testing.assert_allclose(gb.dx, ga.dx, **TOL)


@pytest.mark.parametrize(
    "options",
    [
        {"input_encoding": "embedding", "embed_size": 5},
        {"setup": "many-to-one"},
        {"loss": "mse", "output_size": 3},
    ],
)
def test_embeddings_classifiers_and_regression_batch_too(options):
    model = _model("gru", 2, True, **options)
    rng = np.random.default_rng(5)
    inputs = [rng.integers(0, 11, n) for n in (3, 6, 5)]
    for run, x in zip(forward_many(model, inputs), inputs, strict=True):
        _assert_same_run(run, model.forward(x))


def test_vector_inputs_batch_too():
    cfg = ModelConfig(cell="lstm", vocab_size=None, input_size=4, hidden_size=6, loss="mse",
                      output_size=2, bidirectional=True)  # fmt: skip
    model = SequenceModel(cfg)
    rng = np.random.default_rng(2)
    inputs = [rng.standard_normal((n, 4)) for n in (5, 3, 5)]
    for run, x in zip(forward_many(model, inputs), inputs, strict=True):
        _assert_same_run(run, model.forward(x))


@pytest.mark.parametrize(
    "options",
    [{"jordan": True}, {"peephole": True}, {"setup": "one-to-one"}],
)
def test_models_that_do_not_batch_run_one_by_one(options):
    cell = "lstm" if "peephole" in options else "rnn"
    model = _model(cell, **options)
    assert batchable(model) is ("setup" in options)  # one-to-one batches (a column each)
    rng = np.random.default_rng(4)
    n = 1 if "setup" in options else 6
    inputs = [rng.integers(0, 11, n) for _ in range(3)]
    for run, x in zip(forward_many(model, inputs), inputs, strict=True):
        _assert_same_run(run, model.forward(x))


def test_a_sequence_the_model_refuses_raises_as_forward_does():
    model = _model("gru")
    with pytest.raises(ValueError, match="token id"):
        model.forward([1, 99])
    with pytest.raises(ValueError, match="token id"):
        forward_many(model, [[1, 2], [1, 99]])


def test_a_batch_shares_one_copy_of_each_cells_parameters():
    model = _model("lstm", 2, True)
    runs = forward_many(model, [[1, 2, 3], [4, 5]])
    a, b = runs[0].tapes[1][1], runs[1].tapes[1][1]
    assert a.params is b.params and a.params_shared
    assert a.params["weight_hh"] is not model.cells[1][1].params["weight_hh"]  # a snapshot


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(1, 300), min_size=1, max_size=40))
def test_length_groups_cover_every_sequence_once_and_bound_the_padding(lengths):
    groups = length_groups(lengths)
    assert sorted(i for g in groups for i in g) == list(range(len(lengths)))
    for g in groups:
        shortest, longest = min(lengths[i] for i in g), max(lengths[i] for i in g)
        assert longest <= 2 * shortest + 8
