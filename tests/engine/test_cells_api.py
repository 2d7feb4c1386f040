"""The cell contract (docs/contracts.md section 1): shapes, records, per-step shares, gradient
flow, stepping, loading weights and the errors a user sees."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine import GRU, LSTM, RNN
from engine.cells import flow
from engine.cells.grads import Grads

ALL_VARIANTS = ["rnn_tanh", "rnn_relu", "lstm", "gru", "lstm_peephole"]


def h_part(state):
    return state[0] if isinstance(state, tuple) else state


@pytest.mark.parametrize(
    "cls,kw,G,gates",
    [
        (RNN, {}, 1, ()),
        (LSTM, {}, 4, ("i", "f", "g", "o")),
        (GRU, {}, 3, ("r", "z", "n")),
        (LSTM, {"peephole": True}, 4, ("i", "f", "g", "o")),
    ],
)
def test_shapes_names_and_init(cls, kw, G, gates):
    n_in, H, T = 3, 5, 7
    cell = cls(n_in, H, seed=0, **kw)
    expected = {"weight_ih": (G * H, n_in), "weight_hh": (G * H, H), "bias_ih": (G * H,)}
    expected["bias_hh"] = (G * H,)
    if kw.get("peephole"):
        expected.update(w_ci=(H,), w_cf=(H,), w_co=(H,))
    assert {k: v.shape for k, v in cell.params.items()} == expected
    bound = 1 / math.sqrt(H)
    for p in cell.params.values():
        assert p.dtype == np.float64
        assert np.all(np.abs(p) <= bound)
    assert (cell.input_size, cell.hidden_size) == (n_in, H)
    assert cell.kind == {RNN: "rnn", LSTM: "lstm", GRU: "gru"}[cls]
    same, other = cls(n_in, H, seed=0, **kw), cls(n_in, H, seed=1, **kw)
    assert all(np.array_equal(same.params[k], cell.params[k]) for k in cell.params)
    assert not np.array_equal(other.params["weight_hh"], cell.params["weight_hh"])

    tape = cell.forward(np.ones((T, n_in)))  # state None = zeros
    assert tape.h.shape == (T, H)
    assert tuple(tape.gates) == gates
    assert all(g.shape == (T, H) for g in tape.gates.values())
    assert (tape.pre is not None) == (cls is RNN)
    assert (tape.c is not None) == (cls is LSTM)
    zero = cell.zero_state()
    if cls is LSTM:
        assert isinstance(zero, tuple) and all(np.array_equal(z, np.zeros(H)) for z in zero)
        assert np.array_equal(tape.final_state[1], tape.c[-1])
    else:
        assert np.array_equal(zero, np.zeros(H))
    assert np.array_equal(h_part(tape.final_state), tape.h[-1])
    grads = tape.backward(np.ones((T, H)))
    assert grads.dx.shape == (T, n_in) and grads.dh.shape == (T, H)
    assert (grads.dc is not None) == (cls is LSTM)
    assert tuple(grads.dgates) == (gates or ("pre",))


@pytest.mark.parametrize("variant", ALL_VARIANTS)
def test_contributions_sum_to_the_gradient_and_norms_are_theirs(variant, make_cell, random_problem):
    cell = make_cell(variant, n_in=4, H=5, seed=6, scale=2.0)
    x, state, dh, dstate = random_problem(cell, 12)
    for truncate in (None, 3):
        grads = cell.forward(x, state).backward(dh, dstate, truncate=truncate)
        shares = [grads.contribution(t) for t in range(12)]
        norms = grads.contribution_norms()
        assert norms.keys() == grads.params.keys() == shares[0].keys()
        for name, g in grads.params.items():
            np.testing.assert_allclose(sum(s[name] for s in shares), g, rtol=1e-12, atol=1e-13)
            direct = [np.linalg.norm(s[name]) for s in shares]
            np.testing.assert_allclose(norms[name], direct, rtol=1e-12, atol=1e-14)
        assert np.array_equal(grads.contribution(-1)["weight_hh"], shares[-1]["weight_hh"])
    with pytest.raises(IndexError):
        grads.contribution(12)


@pytest.mark.parametrize("variant", ALL_VARIANTS)
def test_gradient_flow_is_each_source_backpropagated_alone(variant, make_cell, random_problem):
    T = 8
    cell = make_cell(variant, n_in=3, H=4, seed=2, scale=1.5)
    x, state, dh, _ = random_problem(cell, T)
    tape = cell.forward(x, state)
    M = tape.gradient_flow(dh)
    assert M.shape == (T, T)
    np.testing.assert_array_equal(np.triu(M, 1), 0.0)
    np.testing.assert_allclose(np.diag(M), np.linalg.norm(dh, axis=1), rtol=1e-15)
    for t in range(T):
        alone = np.zeros_like(dh)
        alone[t] = dh[t]
        total = tape.backward(alone).dh  # dL_t/dh_s for every s
        np.testing.assert_allclose(
            M[t, : t + 1], np.linalg.norm(total[: t + 1], axis=1), rtol=1e-11, atol=1e-14
        )


@pytest.mark.parametrize("variant", ALL_VARIANTS)
def test_stepping_T_times_equals_forward(variant, make_cell, random_problem):
    cell = make_cell(variant, n_in=3, H=4, seed=3, scale=2.0)
    x, state, _, _ = random_problem(cell, 9)
    tape = cell.forward(x, state)
    s = state
    for t in range(9):
        s, rec = cell.step(x[t], s)
        np.testing.assert_allclose(rec["h"], tape.h[t], rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(h_part(s), tape.h[t], rtol=1e-12, atol=1e-14)
        for k, g in tape.gates.items():
            np.testing.assert_allclose(rec[k], g[t], rtol=1e-12, atol=1e-14)
            np.testing.assert_allclose(rec["gates"][k], g[t], rtol=1e-12, atol=1e-14)
        if cell.kind == "lstm":
            np.testing.assert_allclose(rec["c"], tape.c[t], rtol=1e-12, atol=1e-14)
            np.testing.assert_allclose(s[1], tape.c[t], rtol=1e-12, atol=1e-14)
        if cell.kind == "rnn":
            np.testing.assert_allclose(rec["pre"], tape.pre[t], rtol=1e-12, atol=1e-14)


def test_tape_keeps_the_weights_it_ran_with(make_cell, random_problem):
    cell = make_cell("lstm", n_in=3, H=4)
    x, state, dh, _ = random_problem(cell, 5)
    tape = cell.forward(x, state)
    before = tape.backward(dh)
    for p in cell.params.values():
        p *= 2.0  # an optimiser step in place
    after = tape.backward(dh)
    np.testing.assert_array_equal(after.params["weight_hh"], before.params["weight_hh"])


def test_load_state_dict_reports_the_faulty_key():
    cell = LSTM(3, 4)
    good = {k + "_l0": v.copy() for k, v in cell.params.items()}
    missing = dict(good)
    del missing["bias_hh_l0"]
    with pytest.raises(ValueError, match=r"bias_hh.*\(16,\)"):
        cell.load_state_dict(missing)
    with pytest.raises(ValueError, match="weight_hr_l0"):
        cell.load_state_dict({**good, "weight_hr_l0": np.zeros((16, 2))})
    wrong = {**good, "weight_hh_l0": np.zeros((16, 3))}
    with pytest.raises(ValueError, match=r"weight_hh_l0.*\(16, 3\).*\(16, 4\)"):
        cell.load_state_dict(wrong)
    with pytest.raises(ValueError, match="twice"):
        cell.load_state_dict({**good, "weight_ih": good["weight_ih_l0"]})
    with pytest.raises(ValueError, match="w_ci"):  # a peephole LSTM needs its peepholes
        LSTM(3, 4, peephole=True).load_state_dict(good)
    source = {k: np.full(v.shape, 0.25) for k, v in cell.params.items()}
    held = cell.params["weight_ih"]  # e.g. a model's flat parameter dict holds this array
    cell.load_state_dict(source)
    assert cell.params["weight_ih"] is held and np.all(held == 0.25)
    source["weight_ih"][:] = 9.0  # the cell copied, it does not alias the caller's arrays
    assert np.all(cell.params["weight_ih"] == 0.25)


def test_bad_inputs_raise_clear_errors():
    cell = GRU(3, 4)
    with pytest.raises(ValueError, match=r"\(T, 3\)"):
        cell.forward(np.zeros((5, 2)))
    with pytest.raises(ValueError, match=r"\(T, 3\)"):
        cell.forward(np.zeros((0, 3)))
    with pytest.raises(ValueError, match="initial state"):
        cell.forward(np.zeros((5, 3)), np.zeros(5))
    with pytest.raises(ValueError, match="pair"):
        LSTM(3, 4).forward(np.zeros((5, 3)), np.zeros(4))
    tape = cell.forward(np.zeros((5, 3)))
    with pytest.raises(ValueError, match=r"dh must have shape \(5, 4\)"):
        tape.backward(np.zeros((4, 4)))
    with pytest.raises(ValueError, match="nonlinearity"):
        RNN(3, 4, nonlinearity="sigmoid")
    with pytest.raises(ValueError, match="hidden_size"):
        LSTM(3, 0)


def _cell(variant: str, n_in: int, H: int, seed: int):
    if variant.startswith("rnn"):
        return RNN(n_in, H, seed=seed, nonlinearity=variant[4:])
    if variant.startswith("lstm"):
        return LSTM(n_in, H, seed=seed, peephole=variant == "lstm_peephole")
    return GRU(n_in, H, seed=seed)


@settings(max_examples=40, deadline=None)
@given(
    variant=st.sampled_from(ALL_VARIANTS),
    T=st.integers(1, 12),
    n_in=st.integers(1, 5),
    H=st.integers(1, 6),
    seed=st.integers(0, 2**16),
    truncate=st.one_of(st.none(), st.integers(1, 14)),
)
def test_random_shapes_step_by_step_agrees_with_forward_and_backward(
    variant, T, n_in, H, seed, truncate
):
    """For any small shape: stepping reproduces forward, the per-step shares add up, and the
    fast whole-sequence backward equals the step-by-step one."""
    cell = _cell(variant, n_in, H, seed)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((T, n_in))
    dh = rng.standard_normal((T, H))
    state = cell.zero_state()
    tape = cell.forward(x)
    for t in range(T):
        state, rec = cell.step(x[t], state)
        np.testing.assert_allclose(rec["h"], tape.h[t], rtol=1e-12, atol=1e-14)
    grads = tape.backward(dh, truncate=truncate)
    for name, g in grads.params.items():
        total = sum(grads.contribution(t)[name] for t in range(T))
        np.testing.assert_allclose(total, g, rtol=1e-11, atol=1e-13)
    # the readable step-by-step backward against the fast loop, cut at the same chunk starts
    starts = [] if truncate is None else list(range(truncate, T, truncate))
    slow = Grads(tape, flow.backward_steps(tape, dh, *tape.split_dstate(None), detach_at=starts))
    np.testing.assert_allclose(slow.dh, grads.dh, rtol=1e-11, atol=1e-13)
    for name, g in grads.params.items():
        np.testing.assert_allclose(slow.params[name], g, rtol=1e-11, atol=1e-13)
