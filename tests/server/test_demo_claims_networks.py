"""Every sentence the networks' demo models' descriptions (scripts/demo_networks.py) state about
their behaviour is measured here on the model files we SHIP (server/demo_models/*.npz), through
the engine calls the trace uses; the held-out data are engine/network_tasks.py's, never trained on.

- gru2-rhymes: "two stacked layers"; "layer 1 reads layer 0's h at each step, and the output is
  read from layer 1" -> test_gru2_rhymes_second_layer_reads_the_firsts_h; "its loss is 0.199 per
  character, gru-rhymes' ... 0.204 ... the second adds almost nothing"
  -> test_gru2_rhymes_loss_is_almost_gru_rhymes
- gru-blank-bi / gru-blank-fwd: "One row reads the sentence left to right, the other right to
  left, and the output at the blank joins both" -> test_the_bidirectional_output_joins_both_rows;
  "it sees the words after the blank" / "At the blank it has read only 'i'm ___'"
  -> test_only_the_bidirectional_model_sees_what_follows_the_blank; "On 400 generated sentences
  it never trained on ... 100% ...; gru-blank-fwd ... 56%: ... it always says 'very', the
  answer in 56% of them"
  -> test_fill_in_the_blank_accuracy_on_held_out_sentences; "trained exactly as gru-blank-bi"
  -> test_the_two_blank_models_differ_only_in_direction; the page's default targets at the
  blank -> test_a_typed_blank_sentence_traces_the_guess_at_the_blank
- rnn-alphabet: "one-to-one ... the next letter of the alphabet ('m' gives 'n', 'z' gives 'a').
  It gets all 26 right" -> test_rnn_alphabet_gives_the_next_letter; "its recurrent weights W_hh
  play no part" -> test_rnn_alphabet_recurrent_weights_play_no_part
- lstm-digits: "one-to-many: it reads one digit, then spells its name, one letter per step for 6
  steps ('7' gives 'seven.', '1' gives 'one...') ... It spells all ten digits right"
  -> test_lstm_digits_spells_every_digit; "After step 0 its input is the zero vector"
  -> same test; the page's default trace -> test_the_one_token_demos_trace_their_example
- rnn-jordan-brackets / rnn-elman-brackets: "its recurrence is output-to-hidden only ... its W_hh
  is zero" -> test_jordan_has_output_to_hidden_recurrence_only; "the same size and training"
  -> test_jordan_and_elman_differ_only_in_their_recurrence; "At the closing bracket of 64
  held-out lines it picks the right one of the four 23% ... (chance: 25%); ... 100%"
  -> test_only_elman_remembers_which_bracket_opened
- lstm-peephole-count: "its gates also read the cell state c (weights w_ci, w_cf, w_co)"
  -> test_peephole_gates_read_the_cell_state; "on 100 lines it never trained on, it guesses the
  '.' right after the last dash 99% ... set w_ci, w_cf and w_co to zero and that falls to 65%"
  -> test_peephole_count_times_the_stop_and_uses_its_peepholes
- all: every demo's example traces with a 200 through the API, one-token set-ups refuse a
  sentence with a sentence -> test_every_network_demo_traces_its_example,
  test_the_one_token_demos_say_to_type_one_token
"""

from __future__ import annotations

import copy
from functools import cache

import numpy as np
import pytest

from engine.network_tasks import (
    ALPHABET_PAIRS,
    BRACKETS,
    DIGIT_PAIRS,
    NETWORK_TASKS,
    STEPS,
    bracket_lines,
)
from engine.storage import LoadedModel, load_model
from engine.tasks import BLANK, RHYMES
from scripts.demo_networks import DEMOS_NETWORKS
from scripts.train_demos import DEMOS
from server.core.paths import DEMO_MODELS_DIR
from tests.server.helpers import trace_body

NETWORK_IDS = [spec["id"] for spec in DEMOS_NETWORKS]
SPECS = {spec["id"]: spec for spec in DEMOS_NETWORKS}


@cache
def shipped(model_id: str) -> LoadedModel:
    return load_model(DEMO_MODELS_DIR / f"{model_id}.npz")


def described(model_id: str, *phrases: str) -> None:
    """The description says these words (so a changed claim fails its test)."""
    for phrase in phrases:
        assert phrase in shipped(model_id).description, (model_id, phrase)


def test_the_shipped_files_are_the_networks_the_script_describes():
    for spec in DEMOS_NETWORKS:
        m = shipped(spec["id"])
        assert m.description == spec["description"]
        cfg = m.model.config
        assert cfg.cell == spec["cell"] and cfg.hidden_size == spec["hidden_size"]
        for option in ("num_layers", "bidirectional", "peephole", "jordan"):
            default = 1 if option == "num_layers" else False
            assert getattr(cfg, option) == spec.get(option, default), (spec["id"], option)


# -- gru2-rhymes --------------------------------------------------------------------------------


def rhymes_loss(model_id: str) -> float:
    """Mean cross-entropy per character over the whole rhymes (each next character)."""
    m = shipped(model_id)
    ids = m.vocab.encode(RHYMES)
    p = m.model.forward(ids).probs[:-1]
    return float(-np.log(p[np.arange(len(ids) - 1), ids[1:]]).mean())


def test_gru2_rhymes_second_layer_reads_the_firsts_h():
    described("gru2-rhymes", "two stacked layers", "layer 1 reads layer 0's h")
    m = shipped("gru2-rhymes")
    assert m.model.config.num_layers == 2
    run = m.model.forward(m.vocab.encode(m.metadata["example"]))
    layer0, layer1 = run.tapes[0][0], run.tapes[1][0]
    np.testing.assert_array_equal(layer1.x, layer0.h)  # layer 1's input is layer 0's h
    np.testing.assert_array_equal(run.top, layer1.h)  # the head reads layer 1
    W, b = m.model.params["head.weight"], m.model.params["head.bias"]
    np.testing.assert_allclose(run.outputs, layer1.h @ W.T + b, atol=1e-12)


def test_gru2_rhymes_loss_is_almost_gru_rhymes():
    described("gru2-rhymes", "0.199 per character", "0.204", "adds almost nothing")
    two, one = rhymes_loss("gru2-rhymes"), rhymes_loss("gru-rhymes")
    assert round(two, 3) == 0.199 and round(one, 3) == 0.204
    assert two < one < 1.05 * two  # lower, by less than 5%
    assert shipped("gru-rhymes").model.config.num_layers == 1
    assert shipped("gru-rhymes").model.config.hidden_size == 48
    gru_rhymes = next(spec for spec in DEMOS if spec["id"] == "gru-rhymes")
    assert SPECS["gru2-rhymes"]["train"] == gru_rhymes["train"]


# -- fill in the blank -----------------------------------------------------------------------


def blank_guess(model_id: str, text: str) -> tuple[str, np.ndarray]:
    """The model's word at the blank, and its output probabilities there."""
    m = shipped(model_id)
    ids = m.vocab.encode(text)
    probs = m.model.forward(ids).probs[list(ids).index(m.vocab.encode(BLANK)[0])]
    return m.vocab.tokens[int(probs.argmax())], probs


def blank_accuracy(model_id: str) -> float:
    held = NETWORK_TASKS["blank"].held_out
    return float(np.mean([blank_guess(model_id, text)[0] == word for text, word in held]))


def test_fill_in_the_blank_accuracy_on_held_out_sentences():
    described("gru-blank-bi", "400 generated sentences it never trained on", "100%", "56%")
    described("gru-blank-fwd", "400 held-out sentences", "56%", "always", "'very'", "100%")
    task = NETWORK_TASKS["blank"]
    held = task.held_out
    assert len(held) == 400 and not {t for t, _ in held} & {t for t, _ in task.pairs}
    assert all(text.count(BLANK) == 1 for text, _ in held)
    words = [w for _, w in held]
    assert round(100 * words.count("very") / len(words)) == 56  # "the answer in 56% of them"
    assert blank_accuracy("gru-blank-bi") == 1.0
    assert round(100 * blank_accuracy("gru-blank-fwd")) == 56
    assert {blank_guess("gru-blank-fwd", text)[0] for text, _ in held} == {"very"}  # always
    assert blank_guess("gru-blank-bi", task.example)[0] == "very"  # the course's sentence
    not_hungry = "i'm ___ hungry, because i just ate 3 large pizzas"
    assert blank_guess("gru-blank-bi", not_hungry)[0] == "not"


def test_only_the_bidirectional_model_sees_what_follows_the_blank():
    described("gru-blank-bi", "it sees the words after the blank")
    described("gru-blank-fwd", "it has read only 'i'm ___'")
    a = "i'm ___ hungry, and i can eat 3 large pizzas"
    b = "i'm ___ hungry, because i just ate 3 large pizzas"
    _, fwd_a = blank_guess("gru-blank-fwd", a)
    _, fwd_b = blank_guess("gru-blank-fwd", b)
    np.testing.assert_array_equal(fwd_a, fwd_b)  # the forward model's guess ignores the rest
    _, bi_a = blank_guess("gru-blank-bi", a)
    _, bi_b = blank_guess("gru-blank-bi", b)
    very = shipped("gru-blank-bi").vocab.tokens.index("very")
    assert bi_a[very] > 0.9 > 0.1 > bi_b[very]


def test_the_bidirectional_output_joins_both_rows():
    described("gru-blank-bi", "One row reads the sentence left to right, the other right to left")
    m = shipped("gru-blank-bi")
    ids = m.vocab.encode(m.metadata["example"])
    run = m.model.forward(ids)
    fwd, rev = run.tapes[0]
    np.testing.assert_array_equal(run.top, np.hstack([fwd.h, rev.h[::-1]]))
    # the reverse row reads the sentence from its end: its first step reads the last word
    np.testing.assert_array_equal(rev.x[0], run.x[-1])


def test_the_two_blank_models_differ_only_in_direction():
    described("gru-blank-fwd", "trained exactly as gru-blank-bi")
    bi, fwd = SPECS["gru-blank-bi"], SPECS["gru-blank-fwd"]
    assert bi["train"] == fwd["train"] and bi["task"] == fwd["task"]
    assert {k: v for k, v in bi.items() if k not in ("id", "description", "bidirectional")} == {
        k: v for k, v in fwd.items() if k not in ("id", "description")
    }


def test_a_typed_blank_sentence_traces_the_guess_at_the_blank(client):
    text = "You're ___ thirsty, because you just drank 4 big glasses of water!"
    r = client.post("/api/trace", json=trace_body("gru-blank-bi", text))
    assert r.status_code == 200, r.text
    trace = r.json()
    assert trace["task"] == "fill-blank" and "!" in trace["tokens"]
    blank = trace["tokens"].index(BLANK)
    assert trace["tokens_seen"][0] == "you"  # lower-cased; "!" is unknown, read as zeros
    assert trace["tokens_unknown"] == [len(trace["tokens"]) - 1]
    for t, step in enumerate(trace["steps"]):  # the loss and the target at the blank only
        assert (step["target"] is None) is (t != blank)
    assert trace["steps"][blank]["target_token"] == "not"
    assert trace["steps"][blank]["top"][0]["token"] == "not"
    assert trace["loss"] == pytest.approx(trace["steps"][blank]["loss"])
    assert any(b["dh_norm"] > 0 for b in trace["backward"])
    no_blank = client.post("/api/trace", json=trace_body("gru-blank-bi", "i am hungry"))
    assert no_blank.status_code == 200 and no_blank.json()["loss"] == 0


# -- one-to-one and one-to-many ------------------------------------------------------------


def test_rnn_alphabet_gives_the_next_letter():
    described("rnn-alphabet", "one-to-one", "'m' gives 'n', 'z' gives 'a'", "all 26 right")
    m = shipped("rnn-alphabet")
    assert m.model.config.setup == "one-to-one" and len(ALPHABET_PAIRS) == 26
    for letter, nxt in ALPHABET_PAIRS:
        run = m.model.forward(m.vocab.encode(letter))
        assert run.outputs.shape[0] == 1 and m.vocab.tokens[int(run.probs[0].argmax())] == nxt


def test_rnn_alphabet_recurrent_weights_play_no_part():
    described("rnn-alphabet", "its recurrent weights W_hh play no part")
    m = shipped("rnn-alphabet")
    other = copy.deepcopy(m.model)
    other.params["rnn.weight_hh_l0"][...] = np.random.default_rng(0).normal(size=(12, 12))
    for letter, _ in ALPHABET_PAIRS:
        ids = m.vocab.encode(letter)
        np.testing.assert_array_equal(m.model.forward(ids).probs, other.forward(ids).probs)


def test_lstm_digits_spells_every_digit():
    described("lstm-digits", "one-to-many", "6 steps", "'7' gives 'seven.'", "all ten digits")
    m = shipped("lstm-digits")
    assert m.model.config.setup == "one-to-many" and m.metadata["steps"] == STEPS == 6
    assert dict(DIGIT_PAIRS)["7"] == "seven." and dict(DIGIT_PAIRS)["1"] == "one..."
    for digit, name in DIGIT_PAIRS:
        run = m.model.forward(m.vocab.encode(digit), steps=STEPS)
        assert "".join(m.vocab.tokens[i] for i in run.probs.argmax(axis=1)) == name
        assert np.all(run.x[1:] == 0) and run.x[0].sum() == 1  # zeros after step 0


# -- Jordan vs Elman ------------------------------------------------------------------------


def closers(model_id: str) -> tuple[float, float]:
    """On the held-out lines: (how often the guess at each closing bracket is the right one
    among the four closers, the same as a plain argmax)."""
    m = shipped(model_id)
    text = NETWORK_TASKS["brackets"].held_out
    ids = m.vocab.encode(text)
    probs = m.model.forward(ids).probs
    ends = [m.vocab.tokens.index(c) for c in BRACKETS.values()]
    at = [t for t in range(len(ids) - 1) if text[t + 1] in BRACKETS.values()]
    among = np.mean([ends[int(np.argmax(probs[t, ends]))] == ids[t + 1] for t in at])
    plain = np.mean([probs[t].argmax() == ids[t + 1] for t in at])
    return float(among), float(plain)


def test_jordan_has_output_to_hidden_recurrence_only():
    described("rnn-jordan-brackets", "output-to-hidden only", "its W_hh is zero")
    described("rnn-elman-brackets", "hidden-to-hidden recurrence")
    jordan, elman = shipped("rnn-jordan-brackets").model, shipped("rnn-elman-brackets").model
    assert jordan.config.jordan and not elman.config.jordan
    assert np.all(jordan.params["rnn.weight_hh_l0"] == 0)
    assert np.abs(elman.params["rnn.weight_hh_l0"]).max() > 0.5
    V = jordan.config.vocab_size  # the cell reads [x_t, y_{t-1}]: V inputs and V outputs
    assert jordan.params["rnn.weight_ih_l0"].shape == (16, 2 * V)
    assert np.abs(jordan.params["rnn.weight_ih_l0"][:, V:]).max() > 0.5  # y_{t-1} is used


def test_jordan_and_elman_differ_only_in_their_recurrence():
    described("rnn-jordan-brackets", "the same size and training")
    j, e = SPECS["rnn-jordan-brackets"], SPECS["rnn-elman-brackets"]
    assert {k: v for k, v in j.items() if k not in ("id", "description", "jordan")} == {
        k: v for k, v in e.items() if k not in ("id", "description")
    }


def test_only_elman_remembers_which_bracket_opened():
    described("rnn-jordan-brackets", "64 held-out lines", "23% of the time (chance: 25%)", "100%")
    described("rnn-elman-brackets", "64 held-out lines", "100% of the time", "23%")
    train, held = bracket_lines()
    assert len(held) == 64 and not set(held) & set(train)
    assert sorted(NETWORK_TASKS["brackets"].held_out.split()) == sorted(held)
    assert closers("rnn-elman-brackets") == (1.0, 1.0)
    among, plain = closers("rnn-jordan-brackets")
    assert round(100 * among) == 23 and plain <= among


# -- peephole -------------------------------------------------------------------------------


def stops(model) -> float:
    """How often the guess after the last dash of each held-out line is '.'."""
    vocab = shipped("lstm-peephole-count").vocab
    text = NETWORK_TASKS["count"].held_out
    guesses = model.forward(vocab.encode(text)).probs.argmax(axis=1)
    at = [t for t in range(len(text) - 1) if text[t + 1] == "."]
    return float(np.mean([vocab.tokens[guesses[t]] == "." for t in at]))


def test_peephole_gates_read_the_cell_state():
    described("lstm-peephole-count", "peephole connections", "w_ci, w_cf, w_co")
    m = shipped("lstm-peephole-count")
    p = m.model.params
    tape = m.model.forward(m.vocab.encode(m.metadata["example"])).tapes[0][0]
    x, h_prev, c_prev = tape.x, tape.h_prev, tape.c_prev
    W, U, b = (
        p["rnn.weight_ih_l0"],
        p["rnn.weight_hh_l0"],
        p["rnn.bias_ih_l0"] + p["rnn.bias_hh_l0"],
    )
    H = m.model.config.hidden_size
    a = x @ W.T + h_prev @ U.T + b  # (T, 4H)
    sig = lambda v: 1 / (1 + np.exp(-v))  # noqa: E731
    np.testing.assert_allclose(tape.gates["i"], sig(a[:, :H] + p["rnn.w_ci_l0"] * c_prev))
    np.testing.assert_allclose(tape.gates["f"], sig(a[:, H : 2 * H] + p["rnn.w_cf_l0"] * c_prev))
    np.testing.assert_allclose(tape.gates["o"], sig(a[:, 3 * H :] + p["rnn.w_co_l0"] * tape.c))


def test_peephole_count_times_the_stop_and_uses_its_peepholes():
    described("lstm-peephole-count", "100 lines it never trained on", "99%", "falls to 65%")
    m = shipped("lstm-peephole-count")
    assert NETWORK_TASKS["count"].held_out.count(".") == 100
    assert NETWORK_TASKS["count"].held_out not in NETWORK_TASKS["count"].text
    assert round(100 * stops(m.model)) == 99
    blind = copy.deepcopy(m.model)
    for name in ("rnn.w_ci_l0", "rnn.w_cf_l0", "rnn.w_co_l0"):
        blind.params[name][...] = 0
    assert round(100 * stops(blind)) == 65


# -- through the API ------------------------------------------------------------------------


@pytest.mark.parametrize("model_id", NETWORK_IDS)
def test_every_network_demo_traces_its_example(client, model_id):
    detail = client.get(f"/api/models/{model_id}").json()
    assert detail["description"] == SPECS[model_id]["description"]
    r = client.post("/api/trace", json=trace_body(model_id, detail["example"]))
    assert r.status_code == 200, r.text
    trace = r.json()
    cfg = shipped(model_id).model.config
    assert trace["num_layers"] == cfg.num_layers and trace["bidirectional"] == cfg.bidirectional
    assert trace["setup"] == cfg.setup and trace["loss"] > 0
    if cfg.bidirectional:
        back = client.post(
            "/api/trace", json={**trace_body(model_id, detail["example"]), "direction": 1}
        )
        assert back.status_code == 200, back.text


def test_the_one_token_demos_trace_their_example(client):
    """The one-to-many demo runs its 6 steps untold, each step's target its own letter (it
    explains what it generates); the one-to-one demo answers in one step."""
    trace = client.post("/api/trace", json=trace_body("lstm-digits", "7")).json()
    assert client.get("/api/models/lstm-digits").json()["steps"] == 6
    assert [s["target_token"] for s in trace["steps"]] == list("seven.")
    assert [s["top"][0]["token"] for s in trace["steps"]] == list("seven.")
    assert [s["token"] for s in trace["steps"]] == ["7", "", "", "", "", ""]
    asked = client.post("/api/trace", json={**trace_body("lstm-digits", "1"), "steps": 3})
    assert [s["top"][0]["token"] for s in asked.json()["steps"]] == list("one")
    one = client.post("/api/trace", json=trace_body("rnn-alphabet", "M")).json()
    assert len(one["steps"]) == 1 and one["steps"][0]["target_token"] == "n"
    for text in ("A", "😀"):  # capitals read lower-case; an unknown token: the zero vector
        for model_id in ("rnn-alphabet", "lstm-digits"):
            r = client.post("/api/trace", json=trace_body(model_id, text))
            assert r.status_code == 200, r.text


@pytest.mark.parametrize("model_id", ["rnn-alphabet", "lstm-digits"])
def test_the_one_token_demos_read_a_sentences_first_token_and_say_so(client, model_id):
    r = client.post("/api/trace", json=trace_body(model_id, "Are you good?"))
    assert r.status_code == 200, r.text
    trace = r.json()
    assert trace["tokens"] == ["A"]
    assert "".join(trace["tokens_ignored"]) == "re you good?"
