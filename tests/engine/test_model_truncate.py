"""Truncated BPTT through a whole model against PyTorch built the standard way, to 1e-9.

chunked: PyTorch runs the sequence in chunks of k steps and .detach()es every layer's state
(h, and c) between chunks; the bidirectional reference detaches both directions at the same
boundaries. sliding (one layer): one graph per loss, started from the state k steps back,
detached. Finite differences check the chunked gradient without torch: it is the derivative of
the loss in which every chunk starts from a constant state.
"""

import numpy as np
import pytest

from engine.cells import truncated_bptt
from engine.model import ModelConfig, SequenceModel

V, H, N_OUT = 5, 4, 5
IDS = np.array([0, 3, 1, 4, 4, 2, 0, 1, 3, 2, 2])
TARGETS = np.array([3, 1, 4, 4, 2, 0, 1, 3, 2, 2, -1])
TOL = 1e-9


def make(cell, num_layers=1, bidirectional=False, scale=1.5, **kw):
    model = SequenceModel(
        ModelConfig(
            cell=cell,
            vocab_size=V,
            hidden_size=H,
            num_layers=num_layers,
            bidirectional=bidirectional,
            output_size=N_OUT,
            seed=4,
            **kw,
        )
    )
    for name, p in model.params.items():
        if name.startswith("rnn."):
            p *= scale  # past PyTorch's init: long-range gradients that truncation visibly cuts
    return model


def close(actual, expected):
    expected = np.asarray(expected)
    size = max(1.0, float(np.max(np.abs(expected))))
    np.testing.assert_allclose(actual, expected, rtol=TOL, atol=TOL * size)


# -- PyTorch references --------------------------------------------------------------------


@pytest.fixture
def torch():
    return pytest.importorskip("torch")


def torch_cells(torch, model):
    """[layer][direction] -> nn.RNNCell/LSTMCell/GRUCell with the model's weights; the head."""
    cfg = model.config
    kind = {"rnn": "RNNCell", "lstm": "LSTMCell", "gru": "GRUCell"}[cfg.cell]
    kw = {"nonlinearity": cfg.nonlinearity} if cfg.cell == "rnn" else {}
    out = []
    for li, layer in enumerate(model.cells):
        row = []
        for d, cell in enumerate(layer):
            m = getattr(torch.nn, kind)(cell.input_size, H, **kw).double()
            suffix = f"_l{li}" + ("_reverse" if d else "")
            m.load_state_dict(
                {n: torch.tensor(model.params[f"rnn.{n}{suffix}"]) for n in cell.params}
            )
            row.append(m)
        out.append(row)
    head = torch.nn.Linear(H * cfg.num_directions, N_OUT).double()
    head.load_state_dict(
        {
            "weight": torch.tensor(model.params["head.weight"]),
            "bias": torch.tensor(model.params["head.bias"]),
        }
    )
    return out, head


def step(torch, m, lstm, x_t, state):
    if state is None:
        zero = torch.zeros(1, H, dtype=torch.float64)
        state = (zero, zero) if lstm else zero
    new = m(x_t[None], state)
    return new, (new[0] if lstm else new)[0]


def detach(state, lstm):
    if state is None:
        return None
    return tuple(s.detach() for s in state) if lstm else state.detach()


def torch_grads(torch, model, cells, head, loss):
    loss.backward()
    grads = {"head.weight": head.weight.grad.numpy(), "head.bias": head.bias.grad.numpy()}
    for li, row in enumerate(cells):
        for d, m in enumerate(row):
            suffix = f"_l{li}" + ("_reverse" if d else "")
            for n, p in m.named_parameters():
                grads[f"rnn.{n}{suffix}"] = p.grad.numpy()
    return grads


def chunked_with_cells(torch, model, k):
    """Layer by layer, each direction a loop over its own time that detaches its state where
    it enters a new chunk: forward at t = k, 2k, ...; reverse at t = k-1, 2k-1, ..."""
    F = torch.nn.functional
    cells, head = torch_cells(torch, model)
    lstm = model.config.cell == "lstm"
    T = len(IDS)
    starts = {a for a, _ in truncated_bptt.chunks(T, k)[1:]}
    layer_in = list(F.one_hot(torch.tensor(IDS), V).double())
    for row in cells:
        outs = []
        for d, m in enumerate(row):
            hs, state = [None] * T, None
            for t in range(T) if d == 0 else range(T - 1, -1, -1):
                if (t if d == 0 else t + 1) in starts:
                    state = detach(state, lstm)  # a new chunk: no gradient flows back out
                state, hs[t] = step(torch, m, lstm, layer_in[t], state)
            outs.append(hs)
        layer_in = [torch.cat([o[t] for o in outs]) for t in range(T)]
    logits = head(torch.stack(layer_in))
    loss = F.cross_entropy(logits, torch.tensor(TARGETS), reduction="sum", ignore_index=-1)
    return loss.item(), torch_grads(torch, model, cells, head, loss)


def chunked_with_module(torch, model, k):
    """The textbook PyTorch loop: nn.LSTM (GRU, RNN) over x[a:a+k], state carried, detached."""
    F = torch.nn.functional
    cfg = model.config
    kw = {"nonlinearity": cfg.nonlinearity} if cfg.cell == "rnn" else {}
    kind = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[cfg.cell]
    rnn = kind(V, H, num_layers=cfg.num_layers, **kw).double()
    head = torch.nn.Linear(H, N_OUT).double()
    rnn.load_state_dict(
        {n: torch.tensor(model.params["rnn." + n]) for n, _ in rnn.named_parameters()}
    )
    head.load_state_dict(
        {n: torch.tensor(model.params["head." + n]) for n, _ in head.named_parameters()}
    )
    x = F.one_hot(torch.tensor(IDS), V).double()[:, None]  # (T, 1, V)
    state, total = None, 0.0
    for a in range(0, len(IDS), k):
        out, state = rnn(x[a : a + k], state)
        loss = F.cross_entropy(
            head(out[:, 0]), torch.tensor(TARGETS[a : a + k]), reduction="sum", ignore_index=-1
        )
        loss.backward()
        total += loss.item()
        state = tuple(s.detach() for s in state) if cfg.cell == "lstm" else state.detach()
    grads = {"rnn." + n: p.grad.numpy() for n, p in rnn.named_parameters()}
    grads.update({"head." + n: p.grad.numpy() for n, p in head.named_parameters()})
    return total, grads


def sliding_per_loss(torch, model, k):
    """One graph per loss L_t: each direction restarts k steps back from its recorded state,
    detached, and runs up to t."""
    F = torch.nn.functional
    cells, head = torch_cells(torch, model)
    lstm = model.config.cell == "lstm"
    T = len(IDS)
    x = F.one_hot(torch.tensor(IDS), V).double()
    recorded = []  # recorded[d][t]: the state after step t, no graph
    with torch.no_grad():
        for d, m in enumerate(cells[0]):
            states, state = [None] * T, None
            for t in range(T) if d == 0 else range(T - 1, -1, -1):
                state, _ = step(torch, m, lstm, x[t], state)
                states[t] = state
            recorded.append(states)
    total = 0.0
    for t in range(T):
        if TARGETS[t] < 0:
            continue
        halves = []
        for d, m in enumerate(cells[0]):
            if d == 0:
                first, steps = t - k, range(max(t - k + 1, 0), t + 1)
            else:
                first, steps = t + k, range(min(t + k - 1, T - 1), t - 1, -1)
            state = recorded[d][first] if 0 <= first < T else None
            for s in steps:
                state, h = step(torch, m, lstm, x[s], state)
            halves.append(h)
        loss = F.cross_entropy(
            head(torch.cat(halves))[None], torch.tensor([TARGETS[t]]), reduction="sum"
        )
        loss.backward()
        total += loss.item()
    grads = {"head.weight": head.weight.grad.numpy(), "head.bias": head.bias.grad.numpy()}
    for d, m in enumerate(cells[0]):
        for n, p in m.named_parameters():
            grads[f"rnn.{n}_l0" + ("_reverse" if d else "")] = p.grad.numpy()
    return total, grads


def assert_equal_to(model, k, mode, reference):
    loss, grads = reference
    res = model.forward(IDS).backward(TARGETS, truncate=k, truncate_mode=mode)
    assert abs(res.loss - loss) < TOL * max(1.0, loss)
    assert set(grads) == set(res.params)
    for name, g in grads.items():
        close(res.params[name], g)
    return res


@pytest.mark.torch
@pytest.mark.parametrize("k", [1, 3, 4])
@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_chunked_stack_equals_torch_detaching_every_k_steps(torch, cell, k):
    model = make(cell, num_layers=2)
    assert_equal_to(model, k, "chunked", chunked_with_module(torch, model, k))
    assert_equal_to(model, k, "chunked", chunked_with_cells(torch, model, k))


@pytest.mark.torch
@pytest.mark.parametrize("num_layers", [1, 2])
@pytest.mark.parametrize("k", [2, 4])
@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_chunked_bidirectional_equals_torch_detaching_both_directions(torch, cell, k, num_layers):
    model = make(cell, num_layers=num_layers, bidirectional=True)
    assert_equal_to(model, k, "chunked", chunked_with_cells(torch, model, k))


@pytest.mark.torch
def test_chunked_relu_rnn_equals_torch(torch):
    model = make("rnn", num_layers=2, nonlinearity="relu", scale=1.0)
    assert_equal_to(model, 3, "chunked", chunked_with_module(torch, model, 3))


@pytest.mark.torch
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("k", [1, 3])
@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_sliding_equals_torch_per_loss_graphs(torch, cell, k, bidirectional):
    model = make(cell, bidirectional=bidirectional)
    assert_equal_to(model, k, "sliding", sliding_per_loss(torch, model, k))


def test_sliding_is_refused_for_a_stack():
    model = make("gru", num_layers=2)
    with pytest.raises(ValueError, match="sliding.*chunked"):
        model.forward(IDS).backward(TARGETS, truncate=3, truncate_mode="sliding")


def _state_at(tape, t):
    return (tape.h[t].copy(), tape.c[t].copy()) if tape.c is not None else tape.h[t].copy()


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_chunked_gradient_is_the_derivative_of_the_chunked_loss(cell):
    """No torch: finite differences of the loss whose chunks start from constant states
    (recorded once, at the unperturbed weights), so a nudge changes only what happens inside
    each chunk."""
    k, eps = 4, 1e-6
    model = make(cell, num_layers=2, bidirectional=True, scale=1.0)
    run = model.forward(IDS)
    res = run.backward(TARGETS, truncate=k)
    frozen = run.tapes
    rng = np.random.default_rng(0)
    for name in ("rnn.weight_hh_l0", "rnn.weight_hh_l0_reverse", "rnn.weight_ih_l1", "head.weight"):
        p = model.params[name]
        for _ in range(3):
            idx = tuple(int(rng.integers(n)) for n in p.shape)
            old = p[idx]
            vals = []
            for delta in (eps, -eps):
                p[idx] = old + delta
                vals.append(_chunked_loss_frozen(model, k, frozen))
            p[idx] = old
            numeric = (vals[0] - vals[1]) / (2 * eps)
            assert abs(res.params[name][idx] - numeric) < 1e-6 * max(1.0, abs(numeric)), name


def _chunked_loss_frozen(model, k, frozen):
    """Cross-entropy with every cell of every chunk started from the state recorded in the
    `frozen` tapes, as a constant; inside the chunks, the current weights."""
    T = len(IDS)
    x = model.forward(IDS).x
    for li, layer in enumerate(model.cells):
        outs = []
        for d, cell in enumerate(layer):
            tape = frozen[li][d]
            seq = x if d == 0 else x[::-1]
            f = None if d == 0 else truncated_bptt.reverse_first_chunk(T, k)
            h = []
            for a, b in truncated_bptt.chunks(T, k, f):
                s0 = tape.state0 if a == 0 else _state_at(tape, a - 1)
                h.append(cell.forward(seq[a:b], s0).h)
            h = np.concatenate(h)
            outs.append(h if d == 0 else h[::-1])
        x = np.concatenate(outs, axis=1)
    logits = x @ model.params["head.weight"].T + model.params["head.bias"]
    z = logits - logits.max(axis=1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    has = TARGETS >= 0
    return float(-logp[np.nonzero(has)[0], TARGETS[has]].sum())
