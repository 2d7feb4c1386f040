"""The trace's cell-diagram fields (contracts §4): what step t sends back to the previous state
(dh_prev, dc_prev), the gradient from outside (dh_in), the cell's input x and dL/dx, state0.

dh_prev[t] is dL_{≥t}/dh_{t-1}: the losses from step t on depend on h_{t-1} only through step
t. It is checked against finite differences of exactly that (every cell, peephole too) and
against PyTorch's autograd (nn.RNNCell / nn.LSTMCell / nn.GRUCell), and against the engine's
own BPTT totals for stacked, bidirectional and truncated traces.
"""

import numpy as np
import pytest

from engine import ModelConfig, SequenceModel, build_trace

V, H = 5, 4
IDS = np.array([0, 1, 2, 3, 4, 1, 2, 0])
VARIANTS = {
    "rnn": {"cell": "rnn"},
    "rnn-relu": {"cell": "rnn", "nonlinearity": "relu"},
    "lstm": {"cell": "lstm"},
    "lstm-peephole": {"cell": "lstm", "peephole": True},
    "gru": {"cell": "gru"},
}


def _model(seed=3, **kw) -> SequenceModel:
    model = SequenceModel(ModelConfig(vocab_size=V, hidden_size=H, seed=seed, **kw))
    for name, p in model.params.items():
        if "rnn." in name:
            p *= 2.5  # larger weights: gradients of every size, saturated gates too
    return model


def _arr(frames, key):
    return np.array([f[key] for f in frames], dtype=float)


def _suffix_loss(model, ids, targets, t, h, c):
    """Σ_{s ≥ t} L_s, run from the state (h, c) before step t."""
    state = [[(h, c) if c is not None else h]]
    run = model.forward(ids[t:], state)
    return run.backward(targets[t:]).loss


@pytest.mark.parametrize("variant", VARIANTS)
def test_dh_prev_and_dc_prev_are_finite_differences_of_the_later_losses(variant):
    model = _model(**VARIANTS[variant])
    tr = build_trace(model, IDS)
    steps, back = tr["steps"], tr["backward"]
    targets = np.array([-1 if s["target"] is None else s["target"] for s in steps])
    lstm = tr["cell"] == "lstm"
    eps = 1e-6
    for t in (0, 3, len(IDS) - 1):
        h = np.array(steps[t - 1]["h"]) if t else np.array(tr["state0"]["h"])
        c = None
        if lstm:
            c = np.array(steps[t - 1]["c"]) if t else np.array(tr["state0"]["c"])
        for u in range(H):
            e = np.eye(H)[u] * eps
            num = (
                _suffix_loss(model, IDS, targets, t, h + e, c)
                - _suffix_loss(model, IDS, targets, t, h - e, c)
            ) / (2 * eps)
            assert back[t]["dh_prev"][u] == pytest.approx(num, rel=1e-5, abs=1e-8)
            if lstm:
                num_c = (
                    _suffix_loss(model, IDS, targets, t, h, c + e)
                    - _suffix_loss(model, IDS, targets, t, h, c - e)
                ) / (2 * eps)
                assert back[t]["dc_prev"][u] == pytest.approx(num_c, rel=1e-5, abs=1e-8)


@pytest.mark.parametrize("variant", ["rnn", "rnn-relu", "lstm", "gru"])
def test_against_pytorch_autograd(variant):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    model = _model(**VARIANTS[variant])
    cfg = model.config
    tr = build_trace(model, IDS)
    p = {k: torch.tensor(v) for k, v in model.params.items()}
    kind = {"rnn": torch.nn.RNNCell, "lstm": torch.nn.LSTMCell, "gru": torch.nn.GRUCell}
    kw = {"nonlinearity": cfg.nonlinearity} if cfg.cell == "rnn" else {}
    cell = kind[cfg.cell](V, H, **kw).double()
    with torch.no_grad():
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            getattr(cell, name).copy_(p[f"rnn.{name}_l0"])
    x = F.one_hot(torch.tensor(IDS), V).double()

    def run(t0, h, c):
        """(h_t for t >= t0, L_t for t >= t0) from the state (h, c) before step t0."""
        hs, losses = [], []
        for t in range(t0, len(IDS)):
            if cfg.cell == "lstm":
                h, c = cell(x[t : t + 1], (h, c))
            else:
                h = cell(x[t : t + 1], h)
            hs.append(h)
            logits = h @ p["head.weight"].T + p["head.bias"]
            tgt = tr["steps"][t]["target"]
            if tgt is not None:
                losses.append(F.cross_entropy(logits, torch.tensor([tgt]), reduction="sum"))
        return hs, losses

    zeros = torch.zeros(1, H, dtype=torch.float64)
    hs, _ = run(0, zeros, zeros)
    cs = [None] * len(IDS)
    if cfg.cell == "lstm":  # c_t from a second run of LSTMCell, which returns (h, c)
        h, c = zeros, zeros
        for t in range(len(IDS)):
            h, c = cell(x[t : t + 1], (h, c))
            cs[t] = c
    for t, b in enumerate(tr["backward"]):
        # independent leaves for the state before step t: the suffix reads them only there
        h = (hs[t - 1] if t else zeros).detach().requires_grad_()
        c = (cs[t - 1] if t else zeros).detach().requires_grad_() if cs[0] is not None else None
        out, losses = run(t, h, c)
        later = sum(losses) + 0 * out[-1].sum()  # the last step has no loss
        wrt = [h, c] if c is not None else [h]
        grads = torch.autograd.grad(later, wrt, retain_graph=True)
        np.testing.assert_allclose(b["dh_prev"], grads[0][0].numpy(), rtol=1e-9, atol=1e-12)
        if c is not None:
            np.testing.assert_allclose(b["dc_prev"], grads[1][0].numpy(), rtol=1e-9, atol=1e-12)
        # dh_in: the head's gradient alone, at h_t
        leaf = out[0].detach().requires_grad_()
        logits = leaf @ p["head.weight"].T + p["head.bias"]
        tgt = tr["steps"][t]["target"]
        own = 0 * leaf.sum()
        if tgt is not None:
            own = own + F.cross_entropy(logits, torch.tensor([tgt]), reduction="sum")
        (dh_in,) = torch.autograd.grad(own, [leaf])
        np.testing.assert_allclose(b["dh_in"], dh_in[0].numpy(), rtol=1e-9, atol=1e-12)


CONFIGS = [
    {"cell": "lstm", "num_layers": 2, "bidirectional": True},
    {"cell": "gru", "num_layers": 2, "bidirectional": True},
    {"cell": "rnn", "num_layers": 2},
    {"cell": "lstm", "peephole": True, "bidirectional": True},
    {"cell": "lstm", "input_encoding": "embedding", "embed_size": 3},
    {"cell": "gru", "jordan": True},
]


@pytest.mark.parametrize("kw", CONFIGS)
@pytest.mark.parametrize("truncate", [None, 3])
def test_totals_are_outside_plus_what_the_next_step_sent(kw, truncate):
    """δh_{t-1} = dh_in_{t-1} + dh_prev_t (the step after in the direction's own time), exact
    to rounding; at a chunk start nothing is sent and δh is the outside gradient alone."""
    if truncate and kw.get("jordan"):
        pytest.skip("jordan refuses truncation")
    model = _model(**kw)
    cfg = model.config
    for layer in range(cfg.num_layers):
        for direction in range(cfg.num_directions):
            tr = build_trace(model, IDS, layer=layer, direction=direction, truncate=truncate)
            back = tr["backward"]
            dh, dh_in, dh_prev = (_arr(back, k) for k in ("dh", "dh_in", "dh_prev"))
            T = len(IDS)
            for t in range(T):
                before = t - 1 if direction == 0 else t + 1  # the previous state's step
                if 0 <= before < T:
                    np.testing.assert_allclose(dh[before], dh_in[before] + dh_prev[t], atol=1e-14)
                own = t if direction == 0 else T - 1 - t  # the step's index in its own time
                if truncate and own % truncate == 0 and own > 0 and direction == 0:
                    assert not dh_prev[t].any()
            if cfg.cell == "lstm":
                dc, dc_prev = _arr(back, "dc"), _arr(back, "dc_prev")
                step = 1 if direction == 0 else -1
                o = _arr([s["gates"] for s in tr["steps"]], "o")
                c = _arr(tr["steps"], "c")
                via_h = dh * o * (1 - np.tanh(c) ** 2)
                if cfg.peephole:
                    via_h = (
                        via_h
                        + _arr([b["dgates"] for b in back], "o")
                        * model.params[f"rnn.w_co_l{layer}{'_reverse' if direction else ''}"]
                    )
                inner = slice(0, T - 1) if step == 1 else slice(1, T)
                after = slice(1, T) if step == 1 else slice(0, T - 1)
                np.testing.assert_allclose(dc[inner], via_h[inner] + dc_prev[after], atol=1e-14)


def test_inputs_state0_and_dx():
    model = _model(cell="lstm", num_layers=2, bidirectional=True)
    state = model.zero_state()
    rng = np.random.default_rng(0)
    state.cells[1][1] = (rng.standard_normal(H), rng.standard_normal(H))
    run = model.forward(IDS, state)
    res = run.backward(_targets(IDS))
    for layer, direction in ((0, 0), (1, 1)):
        tr = build_trace(model, IDS, state=state, layer=layer, direction=direction)
        assert tr["peephole"] is False and tr["nonlinearity"] is None and tr["jordan"] is False
        h0, c0 = state.cells[layer][direction]
        assert tr["state0"] == {"h": list(h0), "c": list(c0)}
        order = np.arange(len(IDS)) if direction == 0 else np.arange(len(IDS))[::-1]
        tape = run.tapes[layer][direction]
        g = res.cells[layer][direction]
        if layer == 0:  # one-hot tokens: their ids say it all
            assert "x" not in tr["steps"][0] and "dx" not in tr["backward"][0]
        else:  # the layer below's output [h_fwd, h_rev]
            np.testing.assert_array_equal(_arr(tr["steps"], "x"), tape.x[order])
            np.testing.assert_allclose(_arr(tr["backward"], "dx"), g.dx[order], atol=1e-15)
        norms = np.linalg.norm(g.dx[order], axis=1)
        np.testing.assert_allclose(_arr(tr["backward"], "dx_norm"), norms, rtol=1e-12)
        np.testing.assert_allclose(
            _arr(tr["backward"], "dh_in"), res.dh_in[layer][direction][order], atol=1e-15
        )
    rnn = build_trace(_model(cell="rnn", nonlinearity="relu"), IDS)
    assert rnn["nonlinearity"] == "relu" and "c" not in rnn["state0"]
    assert build_trace(_model(cell="lstm", peephole=True), IDS)["peephole"] is True
    emb = build_trace(_model(cell="gru", input_encoding="embedding", embed_size=3), IDS)
    assert len(emb["steps"][0]["x"]) == 3 and len(emb["backward"][0]["dx"]) == 3


def _targets(ids):
    return np.r_[ids[1:], -1]


def test_sliding_window_sends_no_single_vector():
    tr = build_trace(_model(cell="lstm"), IDS, truncate=3, truncate_mode="sliding")
    assert all(b["dh_prev"] is None and b["dc_prev"] is None for b in tr["backward"])
    full = build_trace(_model(cell="lstm"), IDS, truncate=len(IDS), truncate_mode="sliding")
    assert all(b["dh_prev"] is not None for b in full["backward"])


def test_gru_m_is_the_hidden_part_of_the_candidate():
    model = _model(cell="gru")
    tr = build_trace(model, IDS)
    W, b = model.params["rnn.weight_hh_l0"][2 * H :], model.params["rnn.bias_hh_l0"][2 * H :]
    h_prev = np.vstack([tr["state0"]["h"], _arr(tr["steps"], "h")[:-1]])
    np.testing.assert_allclose(_arr(tr["steps"], "m"), h_prev @ W.T + b, atol=1e-14)
