"""engine.gradcheck: the trace's gradients agree with finite differences (no torch needed)."""

import numpy as np
import pytest

from engine.gradcheck import check_hidden, check_param, rel_error
from engine.model import ModelConfig, SequenceModel
from engine.trace import build_trace

V, H, T = 5, 4, 7

MODELS = {
    "rnn": {"cell": "rnn"},
    "lstm": {"cell": "lstm"},
    "gru": {"cell": "gru"},
    "lstm-2-layer": {"cell": "lstm", "num_layers": 2},
    "gru-bidirectional": {"cell": "gru", "bidirectional": True},
    "rnn-2-layer-bidirectional": {"cell": "rnn", "num_layers": 2, "bidirectional": True},
    "lstm-peephole": {"cell": "lstm", "peephole": True},
    "rnn-jordan": {"cell": "rnn", "jordan": True},
}


def make(**kw) -> tuple[SequenceModel, np.ndarray]:
    model = SequenceModel(ModelConfig(vocab_size=V, hidden_size=H, seed=3, **kw))
    ids = np.random.default_rng(4).integers(0, V, T)
    return model, ids


def agree(r: dict) -> bool:
    """rel_error < 1e-6, or (for a gradient too small for that) within the rounding noise of
    the finite difference, ~1e-16·|L| / ε = 1e-10 here."""
    return r["rel_error"] < 1e-6 or abs(r["analytic"] - r["numeric"]) < 1e-10


def places(model):
    """Every (layer, direction, t) to check: first, middle and last step."""
    cfg = model.config
    for layer in range(cfg.num_layers):
        for d in range(cfg.num_directions):
            for t in (0, T // 2, T - 1):
                yield layer, d, t


@pytest.mark.parametrize("name", list(MODELS))
def test_hidden_gradient_matches_finite_difference(name):
    model, ids = make(**MODELS[name])
    quantities = ("h", "c") if model.config.cell == "lstm" else ("h",)
    relative = []
    for layer, d, t in places(model):
        for q in quantities:
            for unit in range(H):
                r = check_hidden(model, ids, None, t, unit, layer=layer, direction=d, quantity=q)
                assert agree(r), (layer, d, t, q, unit, r)
                assert "note" not in r
                relative.append(r["rel_error"] < 1e-6)
    assert np.mean(relative) > 0.8  # most of them agree in the strict, relative sense


@pytest.mark.parametrize("name", ["rnn", "lstm", "gru", "lstm-2-layer", "gru-bidirectional"])
def test_analytic_value_is_what_the_trace_shows(name):
    model, ids = make(**MODELS[name])
    for layer, d, t in places(model):
        trace = build_trace(model, ids, layer=layer, direction=d, flow=False)
        for unit in (0, H - 1):
            r = check_hidden(model, ids, None, t, unit, layer=layer, direction=d)
            assert r["analytic"] == trace["backward"][t]["dh"][unit]
            assert r["loss"] == pytest.approx(trace["loss"], rel=1e-12)


@pytest.mark.parametrize("name", list(MODELS))
def test_parameter_gradient_matches_finite_difference(name):
    model, ids = make(**MODELS[name])
    res = model.forward(ids).backward(np.r_[ids[1:], -1])
    for pname, grad in res.params.items():
        # the entry with the largest gradient, and one chosen at random
        rng = np.random.default_rng(len(pname))
        for index in (
            np.unravel_index(np.abs(grad).argmax(), grad.shape),
            tuple(rng.integers(0, n) for n in grad.shape),
        ):
            r = check_param(model, ids, None, pname, index)
            assert r["analytic"] == grad[index]
            assert r["rel_error"] < 1e-6, (pname, index, r)


def test_mse_and_many_to_one_models():
    rng = np.random.default_rng(0)
    mse, ids = make(cell="lstm", loss="mse", output_size=3)
    targets = rng.standard_normal((T, 3))
    targets[2] = np.nan  # no loss at step 2
    clf, _ = make(cell="gru", setup="many-to-one", output_size=2, bidirectional=True)
    for model, tg in ((mse, targets), (clf, [1])):
        for layer, d, t in places(model):
            r = check_hidden(model, ids, tg, t, 1, layer=layer, direction=d)
            assert r["rel_error"] < 1e-6, r
        r = check_param(model, ids, tg, "rnn.weight_hh_l0", (1, 2))
        assert r["rel_error"] < 1e-6, r


def test_parameters_are_restored_bit_exactly():
    model, ids = make(cell="lstm", num_layers=2)
    before = model.state_dict()
    for pname, arr in model.params.items():
        check_param(model, ids, None, pname, tuple(n // 2 for n in arr.shape))
    for pname, arr in model.params.items():
        assert arr.tobytes() == before[pname].tobytes(), pname
    # ... also when the forward pass fails midway
    with pytest.raises(ValueError):
        check_param(model, np.array([0, 1, V + 3]), None, "head.bias", (0,))
    assert all(model.params[n].tobytes() == before[n].tobytes() for n in before)


def test_truncated_gradient_differs_from_the_true_derivative():
    model, ids = make(cell="rnn")
    # losses only at the last two steps: at t = 1 the whole gradient comes through the recurrence
    targets = [-1] * (T - 2) + [1, 2]
    full = check_hidden(model, ids, targets, 1, 0)
    cut = check_hidden(model, ids, targets, 1, 0, truncate=1)
    assert full["rel_error"] < 1e-6
    assert cut["numeric"] == pytest.approx(full["numeric"], rel=1e-9)  # same true derivative
    assert cut["analytic"] == 0.0  # k=1: nothing reaches h_1 from steps 5 and 6
    assert abs(cut["numeric"]) > 1e-4 and cut["rel_error"] > 0.5
    assert "truncate=1" in cut["note"] and "k >= T" in cut["note"]
    # at the last step no path is cut: truncation changes nothing there
    last = check_hidden(model, ids, targets, T - 1, 0, truncate=1)
    assert last["rel_error"] < 1e-6
    # k >= T is plain BPTT
    whole = check_hidden(model, ids, targets, 1, 0, truncate=T)
    assert whole["analytic"] == pytest.approx(full["analytic"], rel=1e-12)
    assert "note" not in whole


def test_clip_leaves_hidden_gradients_and_scales_parameter_gradients():
    model, ids = make(cell="lstm")
    plain = check_hidden(model, ids, None, 2, 1)
    clipped = check_hidden(model, ids, None, 2, 1, clip=1e-3)
    assert clipped["analytic"] == plain["analytic"] and clipped["rel_error"] < 1e-6
    assert "does not affect" in clipped["note"]
    p = check_param(model, ids, None, "rnn.weight_hh_l0", (0, 0), clip=1e-3)
    assert abs(p["analytic"]) < abs(p["numeric"]) and "clipping" in p["note"]


def test_bad_arguments_are_refused():
    model, ids = make(cell="gru")
    for kwargs in (
        {"t": T, "unit": 0},
        {"t": 0, "unit": H},
        {"t": 0, "unit": 0, "quantity": "c"},
        {"t": 0, "unit": 0, "direction": 1},
        {"t": 0, "unit": 0, "layer": 1},
    ):
        with pytest.raises(ValueError):
            check_hidden(model, ids, None, **kwargs)
    with pytest.raises(ValueError, match="unknown parameter"):
        check_param(model, ids, None, "rnn.weight_hh_l9", (0, 0))
    with pytest.raises(ValueError, match="outside"):
        check_param(model, ids, None, "rnn.weight_hh_l0", (3 * H, 0))


def test_rel_error_definition():
    assert rel_error(1.0, 1.0) == 0.0
    assert rel_error(2.0, 1.0) == 0.5
    assert rel_error(0.0, 0.0) == 0.0
    assert rel_error(1e-12, -1e-12) == pytest.approx(2e-4)  # absolute below the floor
