"""A token the vocabulary does not know (and has no <unk> for) is read as the zero vector.

NO_TOKEN (-1) is that token's id: its input x_t is a one-hot row of zeros (or a zero embedding
row), the step still runs on the recurrent state alone, a next-token target that is unknown
gives no loss, and every gradient agrees with finite differences and with PyTorch fed a zero
vector at that step.
"""

import numpy as np
import pytest

from engine import layers
from engine.gradcheck import check_hidden, check_param
from engine.model import ModelConfig, SequenceModel
from engine.tokenize import NO_TOKEN, Vocabulary
from engine.trace import build_trace

V, E, H = 5, 3, 4
IDS = np.array([0, 3, NO_TOKEN, 1, NO_TOKEN, 4, 2])  # two steps the vocabulary did not know
KNOWN = IDS != NO_TOKEN


def make(cell="lstm", embed=False, **kw) -> SequenceModel:
    cfg = ModelConfig(
        cell=cell,
        vocab_size=V,
        hidden_size=H,
        input_encoding="embedding" if embed else "onehot",
        embed_size=E if embed else None,
        seed=3,
        **kw,
    )
    return SequenceModel(cfg)


def zero_vector_inputs(model: SequenceModel) -> np.ndarray:
    """x (T, I) written by hand: the one-hot row (or embedding row) of each known token, zeros
    for the unknown ones."""
    x = np.zeros((len(IDS), model.config.encoded_size))
    for t, k in enumerate(IDS):
        if k != NO_TOKEN:
            x[t] = (
                model.params["embedding.weight"][k]
                if "embedding.weight" in model.params
                else (np.eye(V)[k])
            )
    return x


def test_an_unknown_tokens_one_hot_row_is_all_zeros():
    v = Vocabulary(["a", "b", "c"])
    x = v.one_hot([2, NO_TOKEN, 0])
    np.testing.assert_array_equal(x, [[0, 0, 1], [0, 0, 0], [1, 0, 0]])
    with pytest.raises(ValueError):
        v.one_hot([-2])  # only -1 means "no token"


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("embed", [False, True])
def test_the_forward_pass_is_the_one_of_a_zero_vector_at_that_step(cell, embed):
    model = make(cell, embed)
    run = model.forward(IDS)
    x = zero_vector_inputs(model)
    np.testing.assert_array_equal(run.x, x)
    assert not run.x[~KNOWN].any()
    tapes, top, _ = layers.stack_forward(model.cells, x, model.zero_state().cells)
    np.testing.assert_array_equal(run.top, top)
    # the step still runs: the state moves on, driven by the recurrence and the biases
    assert not np.allclose(run.top[2], run.top[1])


@pytest.mark.parametrize("embed", [False, True])
def test_a_live_step_on_an_unknown_token_reads_the_zero_vector(embed):
    model = make("gru", embed)
    state, _ = model.step(3)
    after, rec = model.step(NO_TOKEN, state)
    h, _ = model.cells[0][0].step(np.zeros(model.config.encoded_size), state.cells[0][0])
    np.testing.assert_array_equal(after.cells[0][0], h)


def test_an_unknown_next_token_means_no_loss_at_that_step():
    model = make("lstm")
    tr = build_trace(model, IDS, flow=False)
    losses = [s["loss"] for s in tr["steps"]]
    # steps 1 and 3 would be scored against the unknown tokens at 2 and 4; the last has no next
    assert [t for t, loss in enumerate(losses) if loss is None] == [1, 3, 6]
    assert [s["target"] for s in tr["steps"]] == [3, None, 1, None, 4, 2, None]
    assert tr["input_ids"] == [0, 3, None, 1, None, 4, 2]
    assert [s["input_index"] for s in tr["steps"]] == tr["input_ids"]
    assert tr["loss"] == pytest.approx(sum(v for v in losses if v is not None), rel=1e-12)


def test_no_embedding_row_is_read_or_trained_for_an_unknown_token():
    model = make("gru", embed=True)
    res = model.forward(IDS).backward([3, -1, 1, -1, 4, 2, -1])
    dE = res.params["embedding.weight"]
    expected = np.zeros_like(dE)
    np.add.at(expected, IDS[KNOWN], res.dx[KNOWN])  # only the known steps' rows
    np.testing.assert_array_equal(dE, expected)
    assert not dE[[k for k in range(V) if k not in IDS]].any()  # the last row: never E[-1]


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("embed", [False, True])
def test_gradients_through_a_zero_input_match_finite_differences(cell, embed):
    model = make(cell, embed)
    res = model.forward(IDS).backward([3, -1, 1, -1, 4, 2, -1])
    for t in (2, 4):  # the unknown steps themselves
        for unit in range(H):
            r = check_hidden(model, IDS, None, t, unit)
            assert r["rel_error"] < 1e-6 or abs(r["analytic"] - r["numeric"]) < 1e-10, r
    names = ["rnn.weight_ih_l0", "rnn.weight_hh_l0"] + (["embedding.weight"] if embed else [])
    for name in names:
        grad = res.params[name]
        index = np.unravel_index(np.abs(grad).argmax(), grad.shape)
        r = check_param(model, IDS, None, name, index)
        assert r["analytic"] == grad[index] and r["rel_error"] < 1e-6, (name, r)


# -- against PyTorch, fed a zero vector at the unknown steps --------------------------------

torch_tests = pytest.mark.torch


@torch_tests
@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("embed", [False, True])
def test_pytorch_fed_a_zero_vector_gives_the_same_h_and_gradients(cell, embed):
    torch = pytest.importorskip("torch")
    nn, F = torch.nn, torch.nn.functional
    torch.manual_seed(0)
    kind = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}[cell]
    rnn = kind(E if embed else V, H, batch_first=True).double()
    head = nn.Linear(H, V).double()
    emb = nn.Embedding(V, E).double() if embed else None
    model = make(cell, embed)
    sd = {f"rnn.{k}": v.detach().numpy() for k, v in rnn.state_dict().items()}
    sd.update({f"head.{k}": v.detach().numpy() for k, v in head.state_dict().items()})
    if embed:
        sd["embedding.weight"] = emb.weight.detach().numpy()
    model.load_state_dict(sd)

    known = torch.tensor(KNOWN, dtype=torch.float64)[:, None]
    ids = torch.tensor(np.where(KNOWN, IDS, 0))
    x = (emb(ids) if embed else F.one_hot(ids, V).double()) * known  # zeros at unknown steps
    out, _ = rnn(x[None])
    targets = torch.tensor([3, -1, 1, -1, 4, 2, -1])
    loss = F.cross_entropy(head(out[0]), targets, reduction="sum", ignore_index=-1)
    loss.backward()

    run = model.forward(IDS)
    res = run.backward(targets.numpy())
    np.testing.assert_allclose(run.top, out[0].detach().numpy(), rtol=0, atol=1e-12)
    assert res.loss == pytest.approx(loss.item(), abs=1e-12)
    torch_grads = {f"rnn.{k}": p.grad for k, p in rnn.named_parameters()}
    torch_grads.update({f"head.{k}": p.grad for k, p in head.named_parameters()})
    if embed:
        torch_grads["embedding.weight"] = emb.weight.grad
    assert set(torch_grads) == set(res.params)
    for name, g in torch_grads.items():
        np.testing.assert_allclose(res.params[name], g.numpy(), rtol=0, atol=1e-10, err_msg=name)
