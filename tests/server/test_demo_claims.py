"""Every sentence a demo model's description, or a panel's explanation (static/js/explain.js),
states about a model's behaviour is measured here on the model files we SHIP
(server/demo_models/*.npz), through the same engine calls the trace uses.

Descriptions (written by scripts/train_demos.py):
- every demo: "A <cell> (<H> hidden units)", "one character at a time" / "word by word"
  -> test_each_description_names_the_models_cell_size_and_tokens
- rnn-hello: "learned to spell 'hello'" -> test_rnn_hello_spells_hello;
  "Type 'hell': after each letter it guesses the next" -> test_rnn_hello_guesses_each_next_letter;
  "Watch the second 'l': the input is the same letter as before, only the hidden state knows an
  'o' comes next" -> test_rnn_hello_only_the_hidden_state_tells_the_two_ls_apart
- lstm-rhymes: "read five nursery rhymes ... and guesses the next character"; rnn-rhymes and
  gru-rhymes: "trained on the same nursery rhymes" -> test_rhymes_models_guess_the_next_character;
  "Its gates decide what to keep in the cell state c and what to forget"
  -> test_lstm_rhymes_gates_keep_and_forget
- rnn-rhymes: "Having no gates does not make its gradients fade faster here: in the
  gradient-flow matrix they reach further back than lstm-rhymes' and gru-rhymes', and eight
  steps back they keep more than half their size (the LSTM's keep about a quarter)"
  -> test_rnn_rhymes_gradients_reach_further_back_than_the_gated_ones. (It used to say that its
  gradients fade quickly: measured, they fade more slowly than the LSTM's and the GRU's.)
- gru-rhymes: "Its update gate z decides, unit by unit, how much of the old hidden state to keep"
  -> test_gru_rhymes_update_gate_keeps_the_old_state_unit_by_unit
- gru-question: "says whether it is a statement ('you are good') or a question ('are you
  good'). The words are the same: only their order, remembered in the hidden state, differs."
  -> test_gru_question_tells_statements_from_questions_by_word_order

Panel explanations (explain.js):
- cell: "Gates that pass through a sigmoid (i, f, o, r, z) lie between 0 (closed) and 1 (open)"
  -> test_sigmoid_gates_lie_between_0_and_1
- tokens: "Each token becomes a one-hot vector x_t" -> test_each_token_is_a_one_hot_vector
  "A model trained on lower-case text reads a capital as its lower-case letter"; "A token the
  model does not know ... reads the zero vector there (all zeros, no 1) ..., and no guess is
  scored against it" -> test_capitals_are_read_lower_case_and_unknown_tokens_as_zero_vectors
- clip: "Clipping rescales the whole gradient when its norm exceeds the value you choose"
  (by PyTorch's factor, clip / (norm + 1e-6)) -> test_clipping_rescales_the_whole_gradient;
  "Truncated BPTT cuts the sequence into chunks of k steps: the state is carried from one chunk
  into the next, but no gradient crosses a chunk boundary"
  -> test_truncation_stops_each_gradient_at_its_chunk (the sliding mode:
  test_sliding_truncation_stops_each_losss_gradient_k_steps_back).
  (It also said truncation "is cheaper but cannot learn longer dependencies": in this engine a
  truncated backward pass costs 2-3x the full one, as it carries k gradients; removed.)
- views: "the matrix ||dL_t/dh_s||: how much the loss at step t depends on the state at an
  earlier step s" -> test_the_gradient_flow_matrix_is_each_losss_own_gradient
- unrolled / ledger: "Each step adds its share to dW_hh"; "the norm of the running sum of the
  contributions to dW_hh, from the last step back" -> test_the_running_total_ends_at_dW_hh;
  "Forward: the losses of the steps seen so far, summed" -> same test
"""

from __future__ import annotations

import re
from functools import cache

import numpy as np
import pytest

from engine.storage import LoadedModel, load_model
from engine.tasks import BUILTIN, RHYMES
from engine.trace import build_trace
from scripts.train_demos import DEMOS
from server.core.paths import DEMO_MODELS_DIR

ALL_DEMO_IDS = [spec["id"] for spec in DEMOS]
# The demos of the built-in tasks (one-hot, lower-case, no <unk>); lstm-printable and
# lstm-sentiment have realistic vocabularies and are measured in test_demo_claims_vocab.py.
DEMO_IDS = [spec["id"] for spec in DEMOS if spec["task"] in BUILTIN]
CELL_WORDS = {"rnn": "vanilla RNN", "lstm": "LSTM", "gru": "GRU"}


@cache
def shipped(model_id: str) -> LoadedModel:
    return load_model(DEMO_MODELS_DIR / f"{model_id}.npz")


def trace(model_id: str, text: str | None = None, **kw) -> dict:
    """The engine's trace of the model's example (or `text`). The classifier's target is its
    own prediction, as the server's default."""
    m = shipped(model_id)
    ids = m.vocab.encode(text if text is not None else m.metadata["example"])
    if m.model.config.setup == "many-to-one":
        kw.setdefault("targets", [int(m.model.forward(ids).probs[-1].argmax())])
    if m.model.config.setup == "one-to-many":  # as many steps as the server runs
        kw.setdefault("steps", m.metadata["steps"])
    return build_trace(m.model, ids, flow_limit=1000, **kw)


def test_the_shipped_files_are_the_demos_the_script_writes():
    from scripts.train_seq2seq_demos import DEMO_IDS as SEQ2SEQ_IDS  # (their claims: *_seq2seq)

    shipped_ids = sorted(p.stem for p in DEMO_MODELS_DIR.glob("*.npz"))
    assert shipped_ids == sorted(ALL_DEMO_IDS + SEQ2SEQ_IDS)
    for spec in DEMOS:  # a description changed in the script is changed in the file too
        assert shipped(spec["id"]).description == spec["description"], spec["id"]


@pytest.mark.parametrize("model_id", ALL_DEMO_IDS)
def test_each_description_names_the_models_cell_size_and_tokens(model_id):
    m = shipped(model_id)
    cfg, text = m.model.config, m.description
    assert re.match(rf"An? (tiny )?{CELL_WORDS[cfg.cell]} \({cfg.hidden_size} hidden units\)", text)
    if "one character at a time" in text:
        assert m.vocab.level == "char"
    if "word by word" in text:
        assert m.vocab.level == "word"


# -- rnn-hello ----------------------------------------------------------------------------


def greedy(model_id: str, first: str, n: int) -> str:
    """Feed the model its own most likely next token, n times (what 'spells' means)."""
    m = shipped(model_id)
    state, token, out = None, first, ""
    for _ in range(n):
        state, record = m.model.step(m.vocab.encode(token)[0], state)
        token = m.vocab.tokens[int(np.argmax(record["probs"]))]
        out += token
    return out


def test_rnn_hello_spells_hello():
    assert "h" + greedy("rnn-hello", "h", 4) == "hello"


def test_rnn_hello_guesses_each_next_letter():
    steps = trace("rnn-hello", "hell")["steps"]
    vocab = shipped("rnn-hello").vocab.tokens
    assert [vocab[s["top"][0]["index"]] for s in steps] == list("ello")
    assert all(s["top"][0]["p"] > 0.9 for s in steps)


def test_rnn_hello_only_the_hidden_state_tells_the_two_ls_apart():
    m = shipped("rnn-hello")
    run = m.model.forward(m.vocab.encode("hell"))
    assert np.array_equal(run.x[2], run.x[3])  # the same input, 'l'
    guesses = [m.vocab.tokens[i] for i in run.probs.argmax(axis=1)]
    assert guesses[2:] == ["l", "o"]  # yet different guesses
    h = run.tapes[0][0].h
    assert np.linalg.norm(h[3] - h[2]) > 1.0  # from different hidden states


# -- the three rhymes models --------------------------------------------------------------


@pytest.mark.parametrize("model_id", ["lstm-rhymes", "rnn-rhymes", "gru-rhymes"])
def test_rhymes_models_guess_the_next_character(model_id):
    assert len(RHYMES.strip().split("\n\n")) == 5  # "five nursery rhymes"
    assert BUILTIN["rhymes"].text == RHYMES
    m = shipped(model_id)
    assert set(m.vocab.tokens) == set(RHYMES)  # "the same nursery rhymes"
    ids = m.vocab.encode(RHYMES)
    guesses = m.model.forward(ids).probs[:-1].argmax(axis=1)
    accuracy = float(np.mean(guesses == ids[1:]))
    most_common = max(RHYMES.count(ch) for ch in set(RHYMES)) / len(RHYMES)  # ' ': 16%
    assert accuracy > 0.9 > 3 * most_common, accuracy


def test_lstm_rhymes_gates_keep_and_forget():
    m = shipped("lstm-rhymes")
    tape = m.model.forward(m.vocab.encode(m.metadata["example"])).tapes[0][0]
    i, f, g = (tape.gates[n] for n in "ifg")
    c_prev = np.vstack([np.zeros(tape.c.shape[1]), tape.c[:-1]])
    np.testing.assert_allclose(tape.c, f * c_prev + i * g, atol=1e-12)  # what the gates decide
    # and they do decide: many (unit, step) pairs keep c almost whole, many forget nearly all
    assert np.mean(f > 0.8) > 0.2 and np.mean(f < 0.2) > 0.2
    assert np.mean(i > 0.8) > 0.2 and np.mean(i < 0.2) > 0.05


def fading(model_id: str, text: str) -> np.ndarray:
    """fading[d-1]: ||dL_t/dh_{t-d}|| / ||dL_t/dh_t||, geometric mean over the steps t with a
    loss, for d = 1 .. T-2 (the gradient-flow matrix, read along its diagonals)."""
    M = np.array(trace(model_id, text)["grad_flow"])
    T = len(M)
    rows = [t for t in range(T) if M[t, t] > 0]  # the last step has no target, no loss
    return np.array(
        [
            np.exp(np.mean([np.log(M[t, t - d] / M[t, t]) for t in rows if t >= d]))
            for d in range(1, T - 1)
        ]
    )


@pytest.mark.parametrize("text", ["twinkle, twinkle, little star", RHYMES[:300]])
def test_rnn_rhymes_gradients_reach_further_back_than_the_gated_ones(text):
    assert "reach further back" in shipped("rnn-rhymes").description
    rnn, lstm, gru = (fading(m, text) for m in ("rnn-rhymes", "lstm-rhymes", "gru-rhymes"))
    assert np.all(rnn > lstm) and np.all(rnn > gru)  # at every distance
    assert rnn[7] > 0.5  # eight steps back: more than half
    assert 0.2 < lstm[7] < 0.3  # about a quarter


def test_gru_rhymes_update_gate_keeps_the_old_state_unit_by_unit():
    m = shipped("gru-rhymes")
    tape = m.model.forward(m.vocab.encode(m.metadata["example"])).tapes[0][0]
    z, n, h = tape.gates["z"], tape.gates["n"], tape.h
    h_prev = np.vstack([np.zeros(h.shape[1]), h[:-1]])
    np.testing.assert_allclose(h, z * h_prev + (1 - z) * n, atol=1e-12)  # z: the part kept
    # unit by unit: at every step after the first, some units keep nearly all, some nearly none
    assert all(row.max() > 0.9 and row.min() < 0.1 for row in z[1:])


# -- gru-question -------------------------------------------------------------------------


def classify(text: str) -> str:
    m = shipped("gru-question")
    run = m.model.forward(m.vocab.encode(text))
    return m.metadata["labels"][int(run.probs[-1].argmax())]


def test_gru_question_tells_statements_from_questions_by_word_order():
    assert classify("you are good") == "statement" and classify("are you good") == "question"
    examples = BUILTIN["question"].examples
    statements = [t for t, label in examples if label == 0]
    questions = [t for t, label in examples if label == 1]
    assert len(statements) == len(questions) == len(examples) // 2
    # the same words in another order: each statement has its question
    assert sorted(sorted(s.split()) for s in statements) == sorted(
        sorted(q.split()) for q in questions
    )
    labels = shipped("gru-question").metadata["labels"]
    right = sum(classify(text) == labels[label] for text, label in examples)
    assert right == len(examples)
    # sentences it never saw, one word longer, from the same words
    subjects, modals = ["you", "they", "we", "he", "she", "it", "i"], ["can", "will", "should"]
    unseen = [
        (f"{s} {m} {v} {where}", f"{m} {s} {v} {where}")
        for s in subjects
        for m in modals
        for v in ["swim", "run", "help", "come", "sing", "read"]
        for where in ["here", "home"]
    ]
    correct = sum(classify(a) == "statement" for a, _ in unseen)
    correct += sum(classify(q) == "question" for _, q in unseen)
    assert correct / (2 * len(unseen)) >= 0.95


# -- the panels' explanations, on every shipped model ---------------------------------------


@pytest.mark.parametrize("model_id", DEMO_IDS)
def test_sigmoid_gates_lie_between_0_and_1(model_id):
    m = shipped(model_id)
    steps = m.metadata.get("steps")  # a one-to-many model's
    tape = m.model.forward(m.vocab.encode(m.metadata["example"]), steps=steps).tapes[0][0]
    for name in set(tape.gate_names) & set("iforz"):
        assert np.all((tape.gates[name] >= 0) & (tape.gates[name] <= 1)), name


@pytest.mark.parametrize("model_id", DEMO_IDS)
def test_each_token_is_a_one_hot_vector(model_id):
    m = shipped(model_id)
    ids = m.vocab.encode(m.metadata["example"])
    x = m.model.forward(ids, steps=m.metadata.get("steps")).x[
        : len(ids)
    ]  # one-to-many: zeros after
    assert x.shape == (len(ids), len(m.vocab))
    assert np.array_equal(x, np.eye(len(m.vocab))[ids])


@pytest.mark.parametrize("model_id", DEMO_IDS)
def test_capitals_are_read_lower_case_and_unknown_tokens_as_zero_vectors(model_id):
    m = shipped(model_id)
    example = m.metadata["example"]
    assert m.vocab.normalize == "lower"  # every demo model was trained on lower-case text
    capitals = m.vocab.read(example.upper())
    assert capitals.ids.tolist() == m.vocab.encode(example).tolist()
    text = "Zq 42 xz" if m.vocab.level == "char" else "are you purple ?"
    if m.model.config.setup in ("one-to-one", "one-to-many"):  # they read one token
        text = "😀"
    read = m.vocab.read(text)
    assert read.unknown.any()
    run = m.model.forward(read.ids, steps=m.metadata.get("steps"))
    x = run.x[: len(read.ids)]
    assert np.all(x[read.unknown] == 0) and np.all(x[~read.unknown].sum(axis=1) == 1)
    steps = build_trace(m.model, read.ids, steps=m.metadata.get("steps"))["steps"]
    if m.model.config.setup == "many-to-many":  # a guess of an unknown next token: no loss
        for t in np.flatnonzero(read.unknown[1:]):
            assert steps[t]["target"] is None and steps[t]["loss"] is None


@pytest.mark.parametrize("model_id", ["rnn-rhymes", "lstm-rhymes", "gru-question"])
def test_clipping_rescales_the_whole_gradient(model_id):
    m = shipped(model_id)
    ids = m.vocab.encode(m.metadata["example"])
    run = m.model.forward(ids)
    targets = [1] if model_id == "gru-question" else [*ids[1:], -1]
    full = run.backward(targets)
    clip = full.global_norm / 4
    clipped = run.backward(targets, clip=clip)
    assert clipped.clipped and not run.backward(targets, clip=4 * full.global_norm).clipped
    factor = clip / (full.global_norm + 1e-6)  # torch.nn.utils.clip_grad_norm_'s
    total = np.sqrt(sum(np.sum(g**2) for g in clipped.params.values()))
    assert clip - 1e-6 < total < clip  # the norm becomes the value chosen (PyTorch's 1e-6 short)
    assert total == pytest.approx(full.global_norm * factor, rel=1e-12)
    for name, g in clipped.params.items():  # every parameter, by the same factor
        np.testing.assert_allclose(g, full.params[name] * factor, rtol=1e-12, err_msg=name)
    # and the trace's gradient panel shows the clipped norms
    shown = trace(model_id, clip=clip)["grad_norms"]
    shown_full = trace(model_id)["grad_norms"]
    assert all(shown[n] == pytest.approx(shown_full[n] * factor, rel=1e-12) for n in shown)


@pytest.mark.parametrize("model_id", ["rnn-rhymes", "lstm-rhymes", "gru-rhymes"])
def test_truncation_stops_each_gradient_at_its_chunk(model_id):
    """Chunks of k steps carry the state forward, but no gradient crosses a chunk boundary."""
    k = 3
    tr = trace(model_id, truncate=k)
    M = np.array(tr["grad_flow"])
    T = len(M)
    chunk = np.arange(T) // k
    same = chunk[:, None] == chunk[None, :]
    past = np.subtract.outer(np.arange(T), np.arange(T)) >= 0  # s <= t
    assert tr["truncation"]["chunks"] == [[a, min(a + k, T)] for a in range(0, T, k)]
    assert np.all(M[~same] == 0)
    assert np.all(M[same & past][: -(T % k or k)] > 0)  # it reaches back to its chunk's start
    full = np.array(trace(model_id)["grad_flow"])
    np.testing.assert_allclose(M[same], full[same])


@pytest.mark.parametrize("model_id", ["rnn-rhymes", "lstm-rhymes", "gru-rhymes"])
def test_sliding_truncation_stops_each_losss_gradient_k_steps_back(model_id):
    k = 3
    M = np.array(trace(model_id, truncate=k, truncate_mode="sliding")["grad_flow"])
    T = len(M)
    lag = np.subtract.outer(np.arange(T), np.arange(T))  # t - s
    assert np.all(M[lag >= k] == 0)
    assert np.all(M[(lag >= 0) & (lag < k)][:-k] > 0)  # and reaches the k-1 steps before
    full = np.array(trace(model_id)["grad_flow"])
    np.testing.assert_allclose(M[(lag >= 0) & (lag < k)], full[(lag >= 0) & (lag < k)])


@pytest.mark.parametrize("model_id", ["rnn-hello", "lstm-rhymes", "gru-rhymes"])
def test_the_gradient_flow_matrix_is_each_losss_own_gradient(model_id):
    m = shipped(model_id)
    text = m.metadata["example"]
    full = trace(model_id, text)
    ids = m.vocab.encode(text)
    t = len(ids) // 2
    only_t = np.full(len(ids), -1)
    only_t[t] = ids[t + 1]  # the loss at step t alone
    alone = trace(model_id, text, targets=only_t)
    got = [b["dh_norm"] for b in alone["backward"]][: t + 1]
    np.testing.assert_allclose(full["grad_flow"][t][: t + 1], got, rtol=1e-9)


@pytest.mark.parametrize("model_id", DEMO_IDS)
def test_the_running_total_ends_at_dW_hh(model_id):
    tr = trace(model_id)
    running = [b["dW_hh_running_norm"] for b in tr["backward"]]
    assert running[0] == pytest.approx(tr["grad_norms"]["weight_hh"], rel=1e-9)
    losses = [s["loss"] for s in tr["steps"] if s["loss"] is not None]
    assert sum(losses) == pytest.approx(tr["loss"], rel=1e-12)
