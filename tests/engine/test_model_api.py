"""SequenceModel's API: configuration, parameter names, state carrying, step, set-up checks."""

import numpy as np
import pytest

from engine.model import ModelConfig, SequenceModel
from engine.optim import SGD

IDS = np.array([0, 1, 2, 3, 1, 0])


def make(**kw):
    base = dict(cell="lstm", vocab_size=4, hidden_size=3, seed=0)
    base.update(kw)
    return SequenceModel(ModelConfig(**base))


def test_parameter_names_follow_pytorch():
    m = make(num_layers=2, bidirectional=True, input_encoding="embedding", embed_size=2)
    assert set(m.params) == {
        "embedding.weight",
        "head.weight",
        "head.bias",
        *(
            f"rnn.{w}_l{li}{r}"
            for w in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
            for li in (0, 1)
            for r in ("", "_reverse")
        ),
    }
    assert m.params["rnn.weight_ih_l1"].shape == (12, 6)  # layer 1 reads [fwd, rev] = 2H
    assert m.params["head.weight"].shape == (4, 6)


def test_config_validation_messages():
    with pytest.raises(ValueError, match="cell must be"):
        ModelConfig(cell="transformer", vocab_size=3)
    with pytest.raises(ValueError, match="vocab_size .* or input_size"):
        ModelConfig(cell="rnn")
    with pytest.raises(ValueError, match="embed_size"):
        ModelConfig(vocab_size=3, input_encoding="embedding")
    with pytest.raises(ValueError, match="peephole"):
        ModelConfig(cell="gru", vocab_size=3, peephole=True)
    with pytest.raises(ValueError, match="hidden_size must be an integer"):
        ModelConfig(vocab_size=3, hidden_size="8")
    with pytest.raises(ValueError, match="bidirectional must be true or false"):
        ModelConfig(vocab_size=3, bidirectional=1)
    with pytest.raises(ValueError, match="unknown fields"):
        ModelConfig.from_dict({"vocab_size": 3, "layers": 2})
    cfg = ModelConfig(cell="gru", vocab_size=3, num_layers=2)
    assert ModelConfig.from_dict(cfg.to_dict()) == cfg and cfg.output_size == 3


def test_same_seed_same_weights_other_seed_other_weights():
    a, b, c = make(seed=1), make(seed=1), make(seed=2)
    for name in a.params:
        np.testing.assert_array_equal(a.params[name], b.params[name])
    assert not np.array_equal(a.params["rnn.weight_hh_l0"], c.params["rnn.weight_hh_l0"])


@pytest.mark.parametrize(
    "kw", [dict(cell="gru", num_layers=2, bidirectional=False), dict(cell="lstm", jordan=True)]
)
def test_running_in_two_pieces_with_the_carried_state_equals_one_run(kw):
    m = make(**kw)
    whole = m.forward(IDS)
    first = m.forward(IDS[:4])
    second = m.forward(IDS[4:], first.final_state)
    np.testing.assert_allclose(
        np.vstack([first.outputs, second.outputs]), whole.outputs, rtol=0, atol=1e-13
    )


def test_step_by_step_equals_forward_for_a_stack():
    m = make(cell="rnn", num_layers=3)
    run = m.forward(IDS)
    state = None
    for t, k in enumerate(IDS):
        state, rec = m.step(k, state)
        np.testing.assert_allclose(rec["output"], run.outputs[t], atol=1e-13)
        np.testing.assert_allclose(rec["probs"], run.probs[t], atol=1e-13)
        np.testing.assert_allclose(rec["layers"][1][0]["h"], run.tapes[1][0].h[t], atol=1e-13)


def test_optimiser_updates_reach_the_cells():
    m = make()
    before = m.forward(IDS).outputs
    res = m.forward(IDS).backward([1, 2, 3, 1, 0, -1])
    SGD(lr=0.5).step(m.params, res.params)
    after = m.forward(IDS)
    assert not np.allclose(after.outputs, before)
    assert after.backward([1, 2, 3, 1, 0, -1]).loss < res.loss


def test_setup_input_checks():
    with pytest.raises(ValueError, match="steps"):
        make(setup="one-to-many").forward([1])
    with pytest.raises(ValueError, match="one input"):
        make(setup="one-to-many").forward([1, 2], steps=3)
    with pytest.raises(ValueError, match="token ids"):
        make().forward([0, 4])
    with pytest.raises(ValueError, match="vector inputs"):
        make(vocab_size=None, input_size=2, output_size=2).forward(np.ones((3, 3)))
    with pytest.raises(ValueError, match="targets"):
        make().forward([0, 1]).backward([1])
    with pytest.raises(ValueError, match="2 layer"):
        make(num_layers=2).forward([0, 1], make().zero_state())
    with pytest.raises(ValueError, match="one token"):
        make().step([0, 1])
