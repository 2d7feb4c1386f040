"""build_trace / step_record: plain JSON-ready data that agrees with the model's own passes."""

import json

import numpy as np
import pytest

from engine.model import ModelConfig, SequenceModel
from engine.targets import default_targets
from engine.trace import build_backward, build_forward, build_trace, step_record

IDS = [0, 1, 2, 2, 3]


def make(**kw):
    base = dict(cell="lstm", vocab_size=4, hidden_size=3, seed=2)
    base.update(kw)
    return SequenceModel(ModelConfig(**base))


def assert_plain(x):
    """Only JSON types, no NumPy scalars or arrays anywhere."""
    if isinstance(x, dict):
        assert all(isinstance(k, str) for k in x)
        for v in x.values():
            assert_plain(v)
    elif isinstance(x, list):
        for v in x:
            assert_plain(v)
    else:
        assert x is None or type(x) in (bool, int, float, str), type(x)


@pytest.mark.parametrize(
    "cell,gates", [("rnn", []), ("lstm", ["i", "f", "g", "o"]), ("gru", ["r", "z", "n"])]
)
def test_trace_has_the_contract_shape_and_is_plain_json(cell, gates):
    model = make(cell=cell)
    tr = build_trace(model, IDS)
    assert_plain(tr)
    json.dumps(tr, allow_nan=False)
    assert tr["cell"] == cell and tr["gate_names"] == gates
    assert tr["input_ids"] == IDS and tr["vocab_size"] == 4 and tr["hidden_size"] == 3
    assert len(tr["steps"]) == len(tr["backward"]) == 5
    s0, b0 = tr["steps"][0], tr["backward"][0]
    assert {"t", "input_index", "h", "gates", "top", "target", "loss"} <= set(s0)
    assert ("c" in s0) == (cell == "lstm") and ("pre" in s0) == (cell == "rnn")
    assert set(s0["gates"]) == set(gates)
    assert {"t", "dh", "dh_norm", "dgates", "contrib_norms", "dW_hh_running_norm"} <= set(b0)
    assert set(b0["dgates"]) == ({"pre"} if cell == "rnn" else set(gates))
    assert set(b0["contrib_norms"]) == {"weight_ih", "weight_hh", "bias_ih", "bias_hh"}
    assert len(tr["grad_flow"]) == 5 and all(len(r) == 5 for r in tr["grad_flow"])
    assert tr["clipped"] is False and tr["clip"] is None and tr["truncate"] is None


def test_default_targets_are_the_next_token_and_values_agree_with_the_model():
    model = make()
    tr = build_trace(model, IDS, top_k=2)
    run = model.forward(IDS)
    res = run.backward([1, 2, 2, 3, -1])
    assert [s["target"] for s in tr["steps"]] == [1, 2, 2, 3, None]
    assert tr["steps"][-1]["loss"] is None and tr["steps"][-1]["top"] is not None
    assert tr["loss"] == pytest.approx(res.loss, abs=1e-12)
    assert sum(s["loss"] for s in tr["steps"][:-1]) == pytest.approx(res.loss, abs=1e-12)
    g = res.cells[0][0]
    for t in range(5):
        np.testing.assert_array_equal(tr["steps"][t]["h"], run.tapes[0][0].h[t])
        np.testing.assert_array_equal(tr["backward"][t]["dh"], g.dh[t])
        top = tr["steps"][t]["top"]
        assert len(top) == 2 and top[0]["p"] >= top[1]["p"]
        assert top[0]["index"] == int(np.argmax(run.probs[t]))
    # the running sum from T-1 down to 0 ends at the whole weight_hh gradient
    assert tr["backward"][0]["dW_hh_running_norm"] == pytest.approx(tr["grad_norms"]["weight_hh"])
    for t in range(5):
        total = sum(g.contribution(s)["weight_hh"] for s in range(t, 5))
        assert tr["backward"][t]["dW_hh_running_norm"] == pytest.approx(np.linalg.norm(total))


def test_clip_reports_the_norm_before_and_scales_parameter_gradients():
    model = make()
    free = build_trace(model, IDS)
    clipped = build_trace(model, IDS, clip=1e-3)
    assert clipped["clipped"] is True and clipped["clip"] == 1e-3
    assert clipped["global_norm"] == pytest.approx(free["global_norm"])
    f = 1e-3 / free["global_norm"]
    assert clipped["grad_norms"]["weight_hh"] == pytest.approx(free["grad_norms"]["weight_hh"] * f)
    assert clipped["backward"][2]["dh"] == free["backward"][2]["dh"]  # BPTT signals untouched


def test_truncate_is_passed_to_bptt():
    model = make(cell="rnn")
    tr = build_trace(model, IDS, truncate=1)
    full = build_trace(model, IDS)
    assert tr["truncate"] == 1
    # with k=1 nothing flows through the recurrence: dh_t is only the head's gradient
    run = model.forward(IDS)
    res = run.backward([1, 2, 2, 3, -1], truncate=1)
    np.testing.assert_allclose([b["dh"] for b in tr["backward"]], res.dh_in[0][0], atol=1e-15)
    assert tr["backward"][0]["dh"] != full["backward"][0]["dh"]
    np.testing.assert_array_equal(np.array(tr["grad_flow"]), np.diag(np.diag(full["grad_flow"])))
    sliding = build_trace(model, IDS, truncate=2, truncate_mode="sliding")
    assert sliding["truncation"] == {"k": 2, "mode": "sliding", "chunks": None}
    two = np.array(sliding["grad_flow"])
    lag = np.subtract.outer(np.arange(5), np.arange(5))
    assert np.all(two[lag >= 2] == 0) and np.all(two[lag == 1][:3] > 0)  # step 4: no loss
    np.testing.assert_array_equal(two[lag < 2], np.array(full["grad_flow"])[lag < 2])


def test_chunked_truncation_is_the_default_and_the_trace_says_where_the_chunks_are():
    model = make(cell="gru")
    tr = build_trace(model, IDS, truncate=2)
    assert tr["truncate"] == 2
    assert tr["truncation"] == {"k": 2, "mode": "chunked", "chunks": [[0, 2], [2, 4], [4, 5]]}
    assert build_trace(model, IDS)["truncation"] is None
    M = np.array(tr["grad_flow"])
    full = np.array(build_trace(model, IDS)["grad_flow"])
    same_chunk = np.zeros((5, 5), dtype=bool)
    for a, b in tr["truncation"]["chunks"]:
        same_chunk[a:b, a:b] = True
    np.testing.assert_array_equal(M[same_chunk], full[same_chunk])
    assert not M[~same_chunk].any()
    assert M[1, 0] > 0 and M[3, 2] > 0 and M[2, 1] == 0  # step 2 starts a chunk
    res = model.forward(IDS).backward([1, 2, 2, 3, -1], truncate=2)
    np.testing.assert_allclose(
        tr["grad_norms"]["weight_hh"], np.linalg.norm(res.cells[0][0].params["weight_hh"])
    )


def test_layer_and_direction_select_the_details_shown():
    model = make(num_layers=2, bidirectional=True)
    run = model.forward(IDS)
    rev = build_trace(model, IDS, layer=1, direction=1)
    assert rev["layer"] == 1 and rev["direction"] == 1
    for t in range(5):  # reverse half of the top output, in original time
        np.testing.assert_allclose(rev["steps"][t]["h"], run.top[t, 3:], atol=0)
    M = np.array(rev["grad_flow"])
    assert np.all(np.tril(M, -1) == 0) and np.any(np.triu(M, 1) > 0)  # flows from later t
    fwd = build_trace(model, IDS, layer=0, direction=0)
    assert np.all(np.triu(np.array(fwd["grad_flow"]), 1) == 0)
    with pytest.raises(ValueError, match="direction"):
        build_trace(make(), IDS, direction=1)
    with pytest.raises(ValueError, match="layer"):
        build_trace(model, IDS, layer=2)


def test_grad_flow_is_omitted_beyond_the_limit_or_on_request():
    model = make(cell="gru")
    assert build_trace(model, IDS, flow_limit=4)["grad_flow"] is None
    assert build_trace(model, IDS, flow=False)["grad_flow"] is None


def test_many_to_one_has_a_single_output_at_the_last_step():
    model = make(setup="many-to-one", output_size=2)
    tr = build_trace(model, IDS, targets=[1])
    assert [s["top"] is None for s in tr["steps"]] == [True] * 4 + [False]
    assert tr["steps"][-1]["target"] == 1 and tr["loss"] == tr["steps"][-1]["loss"] > 0


@pytest.mark.parametrize("setup", ["many-to-one", "one-to-one"])
def test_a_classifier_without_targets_explains_its_own_answer(setup):
    """engine.targets: the default target of a classifier is its predicted label."""
    from engine.gradcheck import check_param

    model = make(setup=setup, output_size=3)
    ids = IDS if setup == "many-to-one" else IDS[:1]
    tr = build_trace(model, ids)
    predicted = int(np.argmax(model.forward(ids).outputs[-1]))
    assert tr["steps"][-1]["target"] == predicted == tr["steps"][-1]["top"][0]["index"]
    assert tr["loss"] > 0 and tr["global_norm"] > 0
    assert tr == build_trace(model, ids, targets=[predicted])
    assert check_param(model, ids, None, "head.bias", [0])["loss"] == pytest.approx(tr["loss"])


def test_mse_trace_reports_outputs():
    model = make(vocab_size=None, input_size=2, output_size=2, loss="mse", setup="one-to-many")
    y = [[0.5, -0.5], [1.0, 0.0], [0.0, 1.0]]
    tr = build_trace(model, [[1.0, 2.0]], targets=y)
    assert len(tr["steps"]) == 3 and tr["input_ids"] is None
    assert all(s["top"] is None and len(s["output"]) == 2 for s in tr["steps"])
    assert tr["steps"][1]["target"] == [1.0, 0.0]


def test_non_finite_numbers_become_null():
    model = make(cell="rnn")
    model.params["head.weight"][0, 0] = np.inf
    tr = build_trace(model, IDS)
    text = json.dumps(tr, allow_nan=False)  # would raise on NaN/Infinity
    assert "null" in text
    assert tr["loss"] is None or np.isfinite(tr["loss"])


@pytest.mark.parametrize(
    "kw",
    [
        dict(cell="rnn"),
        dict(cell="lstm", peephole=True),
        dict(cell="gru", num_layers=2),
        dict(cell="lstm", jordan=True),
    ],
)
def test_feeding_tokens_one_by_one_equals_the_trace(kw):
    model = make(**kw)
    tr = build_trace(model, IDS, layer=0)
    state = None
    for t, k in enumerate(IDS):
        state, frame = step_record(model, state, k, top_k=3, layer=0)
        want = tr["steps"][t]
        assert frame["input_index"] == k
        for key in ("h", "c", "pre"):
            if key in want:
                np.testing.assert_allclose(frame[key], want[key], rtol=0, atol=1e-12)
        for g, v in want["gates"].items():
            np.testing.assert_allclose(frame["gates"][g], v, rtol=0, atol=1e-12)
        assert [p["index"] for p in frame["top"]] == [p["index"] for p in want["top"][:3]]
        np.testing.assert_allclose(
            [p["p"] for p in frame["top"]], [p["p"] for p in want["top"][:3]], atol=1e-12
        )
        assert_plain(frame)


def test_step_refuses_bidirectional_models():
    with pytest.raises(ValueError, match="unidirectional"):
        step_record(make(bidirectional=True), None, 0)


def test_forward_and_backward_halves_make_the_trace():
    model = make(cell="gru", num_layers=2, bidirectional=True)
    kw = dict(layer=0, direction=1, truncate=2, clip=0.01, top_k=2)
    whole = build_trace(model, IDS, **kw)
    fwd = build_forward(model, IDS, **kw)
    assert fwd.steps == whole["steps"] and fwd.head["loss"] == whole["loss"]
    assert not set(fwd.head) & {"steps", "backward", "grad_norms", "global_norm", "grad_flow"}
    back = build_backward(fwd)
    assert back == {k: whole[k] for k in back}
    assert build_forward(model, IDS, frames=False, **kw).steps == []


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_running_norm_is_the_norm_of_the_plain_sum(cell):
    """The running ||Σ_{s>=t} contribution_s(weight_hh)|| shown during BPTT."""
    model = make(cell=cell, hidden_size=4)
    ids = [0, 1, 2, 3, 2, 1, 0, 1, 3, 3, 2]
    tr = build_trace(model, ids)
    g = model.forward(ids).backward(default_targets(model, model.forward(ids))).cells[0][0]
    for t in range(len(ids)):
        total = sum(g.contribution(s)["weight_hh"] for s in range(t, len(ids)))
        want = np.linalg.norm(total)
        assert tr["backward"][t]["dW_hh_running_norm"] == pytest.approx(want, rel=1e-12)
