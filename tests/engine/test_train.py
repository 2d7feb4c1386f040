"""Training loops: learning, determinism, state carried across truncated-BPTT chunks, callbacks."""

import numpy as np
import pytest

from engine.model import ModelConfig, SequenceModel
from engine.optim import SGD
from engine.sample import sample
from engine.tokenize import Vocabulary
from engine.train import TrainConfig, evaluate, train_examples, train_lm

HELLO = Vocabulary.from_text("hello")


def hello_model(cell="rnn", seed=0):
    return SequenceModel(ModelConfig(cell=cell, vocab_size=4, hidden_size=8, seed=seed))


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_char_model_learns_hello_identically_twice(cell):
    assert HELLO.tokens == ["h", "e", "l", "o"]
    ids = HELLO.encode("hello")
    cfg = TrainConfig(steps=300, seq_len=4, optimizer="adagrad", lr=0.1)
    models = [hello_model(cell), hello_model(cell)]
    for m in models:
        train_lm(m, ids, cfg)
    loss = models[0].forward(ids[:4]).backward(ids[1:]).loss  # h,e,l,l -> e,l,l,o
    assert loss < 0.1
    for name in models[0].params:
        np.testing.assert_array_equal(models[0].params[name], models[1].params[name])
    other = hello_model(cell, seed=1)
    train_lm(other, ids, cfg)
    assert not np.array_equal(other.params["head.weight"], models[0].params["head.weight"])


def test_chunks_carry_the_state_and_restart_at_the_end_of_the_data():
    rng = np.random.default_rng(0)
    ids = rng.integers(0, 5, size=11)
    cfg = ModelConfig(cell="lstm", vocab_size=5, hidden_size=4, num_layers=2)
    tc = TrainConfig(steps=3, seq_len=5, optimizer="sgd", lr=0.3, clip_norm=None)
    trained = SequenceModel(cfg)
    train_lm(trained, ids, tc)

    def manual(carry: bool):
        m = SequenceModel(cfg)
        opt = SGD(lr=0.3)
        state = None
        # chunks start at 0, 5, then 10 would overrun (10 + 5 + 1 > 11): back to 0, zero state
        for p, fresh in ((0, True), (5, False), (0, True)):
            run = m.forward(ids[p : p + 5], None if fresh or not carry else state)
            opt.step(m.params, run.backward(ids[p + 1 : p + 6]).params)
            state = run.final_state
        return m

    carried, reset = manual(carry=True), manual(carry=False)
    for name in trained.params:
        np.testing.assert_array_equal(trained.params[name], carried.params[name])
    assert not np.array_equal(trained.params["rnn.weight_hh_l0"], reset.params["rnn.weight_hh_l0"])


def test_callbacks_report_progress_samples_and_stop():
    ids = HELLO.encode("hello")
    infos, samples = [], []
    r = train_lm(
        hello_model(),
        ids,
        TrainConfig(steps=10, seq_len=4, sample_every=4, sample_len=6),
        on_step=infos.append,
        on_sample=samples.append,
        decode=HELLO.decode,
    )
    assert [i["step"] for i in infos] == list(range(1, 11))
    assert all(i["eta"] >= 0 and i["elapsed"] >= 0 and np.isfinite(i["loss"]) for i in infos)
    assert infos[-1]["eta"] == 0
    assert len(samples) == 3 and all(len(s) == 7 and set(s) <= set("helo") for s in samples)
    assert not r.stopped and r.steps == 10

    calls = []
    r = train_lm(
        hello_model(),
        ids,
        TrainConfig(steps=100, seq_len=4),
        on_step=calls.append,
        should_stop=lambda: len(calls) >= 3,
    )
    assert r.stopped and r.steps == 3 and len(calls) == 3


def test_sentence_classification_with_many_to_one():
    vocab = Vocabulary.from_text("good bad film plot acting was", level="word")
    sentences = [
        ("good film", 1),
        ("bad film", 0),
        ("plot was good", 1),
        ("acting was bad", 0),
        ("good acting", 1),
        ("bad plot", 0),
        ("film was good", 1),
        ("plot was bad", 0),
    ]
    examples = [(vocab.encode(s), label) for s, label in sentences]
    cfg = ModelConfig(
        cell="gru",
        vocab_size=len(vocab),
        hidden_size=6,
        output_size=2,
        setup="many-to-one",
        input_encoding="embedding",
        embed_size=4,
    )
    model = SequenceModel(cfg)
    before = evaluate(model, examples)
    train_examples(model, examples, TrainConfig(steps=400, optimizer="adam", lr=0.02))
    after = evaluate(model, examples)
    assert after["accuracy"] == 1.0
    assert after["loss"] < before["loss"] / 10


def test_train_lm_refuses_other_setups():
    m = SequenceModel(ModelConfig(cell="rnn", vocab_size=3, setup="many-to-one", output_size=2))
    with pytest.raises(ValueError, match="many-to-many"):
        train_lm(m, [0, 1, 2], TrainConfig(steps=1))


def test_sampling_is_seeded_and_greedy_sampling_spells_hello_after_training():
    ids = HELLO.encode("hello")
    model = hello_model("lstm")
    train_lm(model, ids, TrainConfig(steps=300, seq_len=4))
    greedy, _ = sample(model, HELLO.encode("h"), 4, temperature=0)
    assert HELLO.decode(greedy) == "ello"
    a, _ = sample(model, [0], 30, temperature=2.0, seed=3)
    b, _ = sample(model, [0], 30, temperature=2.0, seed=3)
    c, _ = sample(model, [0], 30, temperature=2.0, seed=4)
    assert a == b and a != c
    with pytest.raises(ValueError, match="prime"):
        sample(model, [], 3)
