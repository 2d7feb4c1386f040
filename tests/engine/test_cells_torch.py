"""The cells agree with PyTorch to 1e-9: forward, every record, every gradient, every step's share.

Two references: torch.nn.RNN / LSTM / GRU themselves (forward, parameter gradients, dx, dstate),
and a cell written with torch ops that gives every step its own leaf copy of the weights, so
autograd reports each step's share of the gradient, the gates, c, dL/dh_t, dL/dc_t and the
gradient at each pre-activation.
"""

import numpy as np
import pytest

from engine import GRU, LSTM, RNN

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch

TORCH_MODULES = {"rnn": "RNN", "lstm": "LSTM", "gru": "GRU"}

# (T, scale): one step; long sequence at PyTorch's init; short and medium saturated/exploding
CASES = [(1, 1.0), (300, 1.0), (9, 4.0), (40, 3.0)]


def close(actual, expected, rtol=1e-9):
    """assert_allclose with the absolute tolerance scaled to the size of the reference."""
    expected = np.asarray(expected, dtype=np.float64)
    size = max(1.0, float(np.max(np.abs(expected)))) if expected.size else 1.0
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=rtol * size)


def tt(a) -> "torch.Tensor":
    return torch.tensor(np.asarray(a), dtype=torch.float64)


def as_state(cell, h, c):
    return (h, c) if cell.kind == "lstm" else h


def fused_reference(cell, x, state, dh, dstate):
    """torch.nn.<cell> with our weights: output h (T, H), final state, grads, dx, dstate."""
    kw = {"nonlinearity": cell.nonlinearity} if cell.kind == "rnn" else {}
    m = getattr(torch.nn, TORCH_MODULES[cell.kind])(cell.input_size, cell.hidden_size, **kw)
    m = m.double()
    m.load_state_dict({k + "_l0": tt(v) for k, v in cell.params.items()})
    X = tt(x)[:, None].requires_grad_()  # (T, 1, I)
    if cell.kind == "lstm":
        h0, c0 = (tt(s).reshape(1, 1, -1).requires_grad_() for s in state)
        out, (hT, cT) = m(X, (h0, c0))
        loss = (out[:, 0] * tt(dh)).sum() + (hT * tt(dstate[0])).sum() + (cT * tt(dstate[1])).sum()
    else:
        h0 = tt(state).reshape(1, 1, -1).requires_grad_()
        out, hT = m(X, h0)
        loss = (out[:, 0] * tt(dh)).sum() + (hT * tt(dstate)).sum()
    loss.backward()
    grads = {k.removesuffix("_l0"): p.grad.numpy() for k, p in m.named_parameters()}
    ds = (
        (h0.grad.reshape(-1).numpy(), c0.grad.reshape(-1).numpy())
        if cell.kind == "lstm"
        else (h0.grad.reshape(-1).numpy())
    )
    final = (hT.reshape(-1), cT.reshape(-1)) if cell.kind == "lstm" else hT.reshape(-1)
    return out[:, 0].detach().numpy(), final, grads, X.grad[:, 0].numpy(), ds


def torch_step(cell, w, x_t, h, c):
    """One step in torch ops from the weight dict w -> (h, c, record of tensors)."""
    H = cell.hidden_size
    rec = {}
    if cell.kind == "rnn":
        a = x_t @ w["weight_ih"].T + w["bias_ih"] + h @ w["weight_hh"].T + w["bias_hh"]
        h = torch.tanh(a) if cell.nonlinearity == "tanh" else torch.relu(a)
        rec["pre"] = a
    elif cell.kind == "lstm":
        a = x_t @ w["weight_ih"].T + w["bias_ih"] + h @ w["weight_hh"].T + w["bias_hh"]
        a_i, a_f, a_g, a_o = a.chunk(4)
        i, f, g, o = torch.sigmoid(a_i), torch.sigmoid(a_f), torch.tanh(a_g), torch.sigmoid(a_o)
        c = f * c + i * g
        h = o * torch.tanh(c)
        rec.update(a=a, i=i, f=f, g=g, o=o)
    else:
        ax = x_t @ w["weight_ih"].T + w["bias_ih"]
        ah = h @ w["weight_hh"].T + w["bias_hh"]
        a_r, a_z = ax[:H] + ah[:H], ax[H : 2 * H] + ah[H : 2 * H]
        r, z = torch.sigmoid(a_r), torch.sigmoid(a_z)
        a_n = ax[2 * H :] + r * ah[2 * H :]
        n = torch.tanh(a_n)
        h = (1 - z) * n + z * h
        rec.update(a_r=a_r, a_z=a_z, a_n=a_n, r=r, z=z, n=n)
    return h, c, rec


def per_step_reference(cell, x, state, dh, dstate):
    """Every step with its own leaf weights: records and per-step gradients from autograd."""
    T = len(x)
    leaves = [{k: tt(v).requires_grad_() for k, v in cell.params.items()} for _ in range(T)]
    X = tt(x).requires_grad_()
    lstm = cell.kind == "lstm"
    h0 = tt(state[0] if lstm else state).requires_grad_()
    c0 = tt(state[1]).requires_grad_() if lstm else None
    h, c = h0, c0
    hs, cs, recs = [], [], []
    for t in range(T):
        h, c, rec = torch_step(cell, leaves[t], X[t], h, c)
        for v in (h, c, *rec.values()):
            if v is not None:
                v.retain_grad()
        hs.append(h)
        cs.append(c)
        recs.append(rec)
    loss = (torch.stack(hs) * tt(dh)).sum()
    if lstm:
        loss = loss + (h * tt(dstate[0])).sum() + (c * tt(dstate[1])).sum()
    else:
        loss = loss + (h * tt(dstate)).sum()
    loss.backward()

    def stack(key, grad=False):
        return np.stack([(r[key].grad if grad else r[key].detach()).numpy() for r in recs])

    ref = {
        "h": torch.stack(hs).detach().numpy(),
        "dh": np.stack([v.grad.numpy() for v in hs]),
        "contrib": [{k: v.grad.numpy() for k, v in leaf.items()} for leaf in leaves],
        "dx": X.grad.numpy(),
    }
    if cell.kind == "rnn":
        ref["pre"], ref["dgates"] = stack("pre"), {"pre": stack("pre", True)}
        ref["gates"] = {}
    elif lstm:
        ref["c"] = np.stack([v.detach().numpy() for v in cs])
        ref["dc"] = np.stack([v.grad.numpy() for v in cs])
        ref["gates"] = {k: stack(k) for k in "ifgo"}
        da = stack("a", True)
        ref["dgates"] = dict(zip("ifgo", np.split(da, 4, axis=1), strict=True))
        ref["dstate"] = (h0.grad.numpy(), c0.grad.numpy())
    else:
        ref["gates"] = {k: stack(k) for k in "rzn"}
        ref["dgates"] = {k: stack("a_" + k, True) for k in "rzn"}
    if not lstm:
        ref["dstate"] = h0.grad.numpy()
    return ref


@pytest.mark.parametrize("T,scale", CASES)
@pytest.mark.parametrize("variant", ["rnn_tanh", "rnn_relu", "lstm", "gru"])
def test_matches_torch_module(variant, T, scale, make_cell, random_problem):
    cell = make_cell(variant, n_in=5, H=6, seed=T, scale=scale)
    x, state, dh, dstate = random_problem(cell, T, seed=T + 1)
    out, final, grads_ref, dx_ref, ds_ref = fused_reference(cell, x, state, dh, dstate)
    tape = cell.forward(x, state)
    grads = tape.backward(dh, dstate)
    close(tape.h, out)
    if cell.kind == "lstm":
        close(tape.final_state[0], final[0].detach().numpy())
        close(tape.final_state[1], final[1].detach().numpy())
        close(grads.dstate[0], ds_ref[0])
        close(grads.dstate[1], ds_ref[1])
    else:
        close(tape.final_state, final.detach().numpy())
        close(grads.dstate, ds_ref)
    assert grads.params.keys() == grads_ref.keys()
    for name, g in grads_ref.items():
        close(grads.params[name], g)
    close(grads.dx, dx_ref)


@pytest.mark.parametrize("T,scale", CASES)
@pytest.mark.parametrize("variant", ["rnn_tanh", "rnn_relu", "lstm", "gru"])
def test_records_and_per_step_shares_match_torch(variant, T, scale, make_cell, random_problem):
    cell = make_cell(variant, n_in=4, H=5, seed=2 * T, scale=scale)
    x, state, dh, dstate = random_problem(cell, T, seed=3 * T)
    ref = per_step_reference(cell, x, state, dh, dstate)
    tape = cell.forward(x, state)
    grads = tape.backward(dh, dstate)
    close(tape.h, ref["h"])
    assert tape.gates.keys() == ref["gates"].keys()
    for k, v in ref["gates"].items():
        close(tape.gates[k], v)
    assert grads.dgates.keys() == ref["dgates"].keys()
    for k, v in ref["dgates"].items():
        close(grads.dgates[k], v)
    close(grads.dh, ref["dh"])
    close(grads.dx, ref["dx"])
    if cell.kind == "rnn":
        close(tape.pre, ref["pre"])
    if cell.kind == "lstm":
        close(tape.c, ref["c"])
        close(grads.dc, ref["dc"])
    for t in range(T):
        mine = grads.contribution(t)
        assert mine.keys() == ref["contrib"][t].keys()
        for name, g in ref["contrib"][t].items():
            close(mine[name], g)


@pytest.mark.parametrize("variant", ["rnn_tanh", "rnn_relu", "lstm", "gru"])
def test_load_state_dict_from_a_torch_module(variant, make_cell):
    torch.manual_seed(0)
    kind = variant[:3] if variant.startswith("rnn") else variant
    kw = {"nonlinearity": variant[4:]} if kind == "rnn" else {}
    m = getattr(torch.nn, TORCH_MODULES[kind])(3, 4, **kw).double()
    cells = {"rnn": RNN, "lstm": LSTM, "gru": GRU}
    x = np.random.default_rng(0).standard_normal((6, 3))
    expected = m(tt(x)[:, None])[0][:, 0].detach().numpy()
    with_suffix = cells[kind](3, 4, **kw)
    with_suffix.load_state_dict(m.state_dict())  # torch tensors, keys weight_ih_l0 ...
    plain = cells[kind](3, 4, **kw)
    plain.load_state_dict({k.removesuffix("_l0"): v.numpy() for k, v in m.state_dict().items()})
    for cell in (with_suffix, plain):
        close(cell.forward(x).h, expected)
        assert all(v.dtype == np.float64 for v in cell.params.values())


def sliding_reference(cell, x, state, dh, dstate, k):
    """Each source's loss on its own graph whose state before step t-k+1 is detached."""
    T = len(x)
    lstm = cell.kind == "lstm"
    w = {n: tt(v).requires_grad_() for n, v in cell.params.items()}
    X = tt(x).requires_grad_()
    h0 = tt(state[0] if lstm else state).requires_grad_()
    c0 = tt(state[1]).requires_grad_() if lstm else None
    with torch.no_grad():  # the states each source starts from when it is cut
        hs, cs, h, c = [], [], h0, c0
        for t in range(T):
            h, c, _ = torch_step(cell, w, X[t], h, c)
            hs.append(h)
            cs.append(c)
    for t in range(T):
        start = t - k + 1
        h, c = (h0, c0) if start <= 0 else (hs[start - 1], cs[start - 1])
        for s in range(max(start, 0), t + 1):
            h, c, _ = torch_step(cell, w, X[s], h, c)
        loss = (h * tt(dh[t])).sum()
        if t == T - 1:
            d_h, d_c = dstate if lstm else (dstate, None)
            loss = loss + (h * tt(d_h)).sum() + ((c * tt(d_c)).sum() if lstm else 0)
        loss.backward()
    grads = {n: v.grad.numpy() for n, v in w.items()}
    ds = (h0.grad.numpy(), c0.grad.numpy()) if lstm else h0.grad.numpy()
    return grads, X.grad.numpy(), ds


def chunked_reference(cell, x, state, dh, dstate, k):
    """Truncated BPTT the way PyTorch code does it: torch.nn.<cell> over chunks of k steps,
    the state carried from one chunk into the next with .detach(), one backward per chunk."""
    T = len(x)
    lstm = cell.kind == "lstm"
    kw = {"nonlinearity": cell.nonlinearity} if cell.kind == "rnn" else {}
    m = getattr(torch.nn, TORCH_MODULES[cell.kind])(cell.input_size, cell.hidden_size, **kw)
    m = m.double()
    m.load_state_dict({n + "_l0": tt(v) for n, v in cell.params.items()})
    X = tt(x)[:, None].requires_grad_()  # (T, 1, I)
    if lstm:
        h0, c0 = (tt(s).reshape(1, 1, -1).requires_grad_() for s in state)
        carried = (h0, c0)
    else:
        h0 = tt(state).reshape(1, 1, -1).requires_grad_()
        carried = h0
    for a in range(0, T, k):
        b = min(a + k, T)
        out, final = m(X[a:b], carried)
        loss = (out[:, 0] * tt(dh[a:b])).sum()
        if b == T:
            if lstm:
                loss = loss + (final[0] * tt(dstate[0])).sum() + (final[1] * tt(dstate[1])).sum()
            else:
                loss = loss + (final * tt(dstate)).sum()
        loss.backward()
        carried = tuple(s.detach() for s in final) if lstm else final.detach()
    grads = {n.removesuffix("_l0"): p.grad.numpy() for n, p in m.named_parameters()}
    if lstm:
        ds = (h0.grad.reshape(-1).numpy(), c0.grad.reshape(-1).numpy())
    else:
        ds = h0.grad.reshape(-1).numpy()
    return grads, X.grad[:, 0].numpy(), ds


REFERENCES = {"sliding": sliding_reference, "chunked": chunked_reference}


@pytest.mark.parametrize("mode", ["chunked", "sliding"])
@pytest.mark.parametrize("k", [1, 2, 5, 11, 30])
@pytest.mark.parametrize("variant", ["rnn_tanh", "rnn_relu", "lstm", "gru"])
def test_truncated_bptt_matches_torch_detached_graphs(variant, k, mode, make_cell, random_problem):
    cell = make_cell(variant, n_in=3, H=4, seed=k, scale=1.5)
    x, state, dh, dstate = random_problem(cell, 11, seed=k + 7)
    grads_ref, dx_ref, ds_ref = REFERENCES[mode](cell, x, state, dh, dstate, k)
    grads = cell.forward(x, state).backward(dh, dstate, truncate=k, truncate_mode=mode)
    for name, g in grads_ref.items():
        close(grads.params[name], g)
    close(grads.dx, dx_ref)
    if cell.kind == "lstm":
        close(grads.dstate[0], ds_ref[0])
        close(grads.dstate[1], ds_ref[1])
    else:
        close(grads.dstate, ds_ref)
