"""Sampling (engine/sample.py): the distributions against PyTorch and against the engine's own
softmax, the draws seeded and shared by sample() and sample_steps(), temperature 0 = argmax."""

import numpy as np
import pytest

from engine.heads import softmax
from engine.model import ModelConfig, SequenceModel
from engine.sample import (
    SamplingError,
    argmax_distribution,
    draw,
    sample,
    sample_steps,
    sampling_refusal,
    tempered,
)

V, H = 7, 6
TOL = 1e-12


def make_model(cell: str, **kw) -> SequenceModel:
    model = SequenceModel(ModelConfig(cell=cell, vocab_size=V, hidden_size=H, seed=3, **kw))
    for name in model.params:  # confident enough that temperature visibly matters
        model.params[name] *= 3.0
    return model


def logits_along(model: SequenceModel, ids: list[int]) -> np.ndarray:
    """(len(ids), V) head outputs after each of `ids`, from a fresh forward pass."""
    return model.forward(np.asarray(ids)).outputs


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("temperature", [0.5, 1.0, 2.0])
def test_probabilities_are_softmax_of_logits_over_temperature(cell, temperature):
    model = make_model(cell)
    prime = [1, 4, 2]
    frames, _ = sample_steps(model, prime, 12, temperature, seed=5, top_k=V)
    ids = [f["id"] for f in frames]
    z = logits_along(model, prime + ids)[len(prime) - 1 : -1]  # the outputs each draw used
    for t, frame in enumerate(frames):
        p, p_model = softmax(z[t] / temperature), softmax(z[t])
        assert [q["index"] for q in frame["top"]] == list(np.argsort(-p, kind="stable"))
        for q in frame["top"]:
            assert abs(q["p"] - p[q["index"]]) < TOL
            assert abs(q["p_model"] - p_model[q["index"]]) < TOL
        assert abs(frame["p"] - p[frame["id"]]) < TOL
        # the one-to-many picture: each drawn token is the next step's input
        assert frame["input_index"] == (prime[-1] if t == 0 else ids[t - 1])


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_steps_draw_what_sample_draws_and_a_seed_reproduces_them(cell):
    model = make_model(cell)
    ids, state = sample(model, [0, 3], 40, 1.3, seed=11)
    frames, state2 = sample_steps(model, [0, 3], 40, 1.3, seed=11)
    assert [f["id"] for f in frames] == ids
    again, _ = sample_steps(model, [0, 3], 40, 1.3, seed=11)
    assert again == frames
    other, _ = sample(model, [0, 3], 40, 1.3, seed=12)
    assert other != ids  # (7 tokens, 40 draws: another seed draws otherwise)
    h = state.cells[-1][0][0] if cell == "lstm" else state.cells[-1][0]
    h2 = state2.cells[-1][0][0] if cell == "lstm" else state2.cells[-1][0]
    np.testing.assert_array_equal(h, h2)


def test_draw_is_generator_choice():
    rng_a, rng_b = np.random.default_rng(4), np.random.default_rng(4)
    p = softmax(np.random.default_rng(0).standard_normal(V) * 2)
    assert [draw(rng_a, p) for _ in range(2000)] == [int(rng_b.choice(V, p=p)) for _ in range(2000)]


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_temperature_zero_is_the_argmax_and_small_temperatures_approach_it(cell):
    model = make_model(cell)
    frames, _ = sample_steps(model, [2], 15, 0.0, seed=None)
    ids = [f["id"] for f in frames]
    z = logits_along(model, [2, *ids])[:-1]
    assert ids == list(np.argmax(z, axis=1))
    for f in frames:
        assert f["top"][0]["index"] == f["id"] and f["p"] == 1.0
        assert all(q["p"] == 0.0 for q in f["top"][1:])
    cold, _ = sample(model, [2], 15, 1e-6, seed=0)
    assert cold == ids
    np.testing.assert_allclose(tempered(z[0], 1e-3), argmax_distribution(z[0]), atol=1e-9)
    assert tempered(z[0], 0) is None and tempered(z[0], 1e-310) is None  # z / T overflows
    tiny, _ = sample_steps(model, [2], 15, 1e-310, seed=0)
    assert [f["id"] for f in tiny] == ids and all(f["p"] == 1.0 for f in tiny)


def test_a_prime_may_end_on_a_token_the_model_does_not_know():
    """NO_TOKEN (-1) is read as the zero vector, as in a trace; the frame says None."""
    model = make_model("gru")
    frames, _ = sample_steps(model, [3, -1], 4, 1.0, seed=1)
    assert frames[0]["input_index"] is None and frames[1]["input_index"] == frames[0]["id"]
    z = logits_along(model, [3, -1])[-1]
    assert abs(frames[0]["p_model"] - softmax(z)[frames[0]["id"]]) < TOL


def test_frames_carry_the_cell_state_of_each_step():
    model = make_model("lstm")
    frames, _ = sample_steps(model, [1], 6, 0.8, seed=2)
    run = model.forward(np.asarray([1] + [f["id"] for f in frames]))
    tape = run.tapes[-1][0]
    for t, f in enumerate(frames):
        np.testing.assert_allclose(f["h"], tape.h[t], atol=TOL)
        np.testing.assert_allclose(f["c"], tape.c[t], atol=TOL)
        assert set(f["gates"]) == {"i", "f", "g", "o"}


def test_refusals_say_why():
    classifier = SequenceModel(
        ModelConfig(cell="gru", vocab_size=V, hidden_size=H, output_size=2, setup="many-to-one")
    )
    assert "many-to-many" in sampling_refusal(classifier)
    bi = SequenceModel(ModelConfig(cell="lstm", vocab_size=V, hidden_size=H, bidirectional=True))
    assert "forward only" in sampling_refusal(bi)
    lm = make_model("rnn")
    assert sampling_refusal(lm) is None
    with pytest.raises(SamplingError, match="many-to-many"):
        sample_steps(classifier, [1], 3)
    with pytest.raises(SamplingError, match="prime"):
        sample(lm, [], 3)
    with pytest.raises(SamplingError, match="temperature"):
        sample(lm, [1], 3, temperature=-1)
    lm.params["head.bias"][0] = np.nan
    with pytest.raises(SamplingError, match="not finite"):
        sample(lm, [1], 3)


@pytest.mark.torch
class TestAgainstTorch:
    """Skipped without torch; the tests above need only NumPy."""

    @pytest.fixture(autouse=True)
    def _torch(self):
        self.torch = pytest.importorskip("torch")

    def torch_pair(self, cell: str):
        torch, nn = self.torch, self.torch.nn
        torch.manual_seed(0)
        kind = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}[cell]
        rnn, head = kind(V, H).double(), nn.Linear(H, V).double()
        with torch.no_grad():
            for p in [*rnn.parameters(), *head.parameters()]:
                p.mul_(3.0)
        sd = {f"rnn.{k}": v for k, v in rnn.state_dict().items()}
        sd.update({f"head.{k}": v for k, v in head.state_dict().items()})
        model = SequenceModel(ModelConfig(cell=cell, vocab_size=V, hidden_size=H, seed=1))
        model.load_state_dict(sd)
        return rnn, head, model

    def torch_sample(self, rnn, head, prime, n, temperature, seed):
        """PyTorch's own sampling loop: one step at a time, p = softmax(z / T), drawn with the
        same generator as the engine; returns the ids, each step's p and h."""
        torch = self.torch
        rng = np.random.default_rng(seed)
        onehot = lambda k: torch.nn.functional.one_hot(torch.tensor([[k]]), V).double()  # noqa: E731
        state, out = None, None
        for k in prime:
            out, state = rnn(onehot(k), state)
        ids, ps, hs = [], [], []
        for _ in range(n):
            z = head(out[0, -1])
            p = torch.softmax(z / temperature, dim=-1).detach().numpy()
            k = int(rng.choice(V, p=p))
            ids.append(k)
            ps.append(p)
            hs.append(out[0, -1].detach().numpy())
            out, state = rnn(onehot(k), state)
        return ids, ps, hs

    @pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
    @pytest.mark.parametrize("temperature", [0.7, 1.0, 1.8])
    def test_same_weights_same_distributions_same_draws(self, cell, temperature):
        rnn, head, model = self.torch_pair(cell)
        with self.torch.no_grad():
            ids, ps, hs = self.torch_sample(rnn, head, [3, 0], 25, temperature, seed=9)
        frames, _ = sample_steps(model, [3, 0], 25, temperature, seed=9, top_k=V)
        assert [f["id"] for f in frames] == ids
        for f, p, h in zip(frames, ps, hs, strict=True):
            got = np.zeros(V)
            for q in f["top"]:
                got[q["index"]] = q["p"]
            np.testing.assert_allclose(got, p, rtol=0, atol=TOL)
            np.testing.assert_allclose(f["h"], h, rtol=0, atol=TOL)
