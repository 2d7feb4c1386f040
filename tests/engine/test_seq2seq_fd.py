"""Seq2Seq and TreeNet against central finite differences (no torch needed), and the
bookkeeping of the per-step gradients, decoding and the what-if."""

import numpy as np
import pytest

from engine.seq2seq import Seq2Seq
from engine.seq2seq_config import Seq2SeqConfig
from engine.seq2seq_decode import check_alpha, decode, focus, run_decoded, whatif
from engine.tree import TreeConfig, TreeNet
from engine.tree_parse import parse

EPS, TOL = 1e-6, 1e-6


def make(cell, att, enc="onehot", H=3):
    cfg = Seq2SeqConfig(
        cell=cell,
        src_vocab_size=4,
        tgt_vocab_size=5,
        hidden_size=H,
        input_encoding=enc,
        embed_size=2 if enc == "embedding" else None,
        attention=att,
        seed=1,
    )
    return Seq2Seq(cfg)


def numeric(f, arr):
    g = np.zeros_like(arr)
    for i in np.ndindex(arr.shape):
        old = arr[i]
        arr[i] = old + EPS
        up = f()
        arr[i] = old - EPS
        down = f()
        arr[i] = old
        g[i] = (up - down) / (2 * EPS)
    return g


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("att,enc", [(None, "onehot"), ("general", "embedding"), ("dot", "onehot")])
def test_every_parameter_gradient_matches_finite_differences(cell, att, enc):
    model = make(cell, att, enc)
    src, tgt = [0, 3, 1, 2], [2, 4, 3]
    res = model.forward(src, tgt).backward()
    for name, arr in model.params.items():
        num = numeric(lambda: model.forward(src, tgt).loss, arr)
        err = np.abs(num - res.params[name]).max() / max(np.abs(num).max(), 1e-8)
        assert err < TOL, f"{name}: {err:.2g}"


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_gradient_paths_add_up(cell):
    model = make(cell, "general", H=4)
    run = model.forward([1, 2, 3, 0, 1], [2, 3])
    res = run.backward()
    np.testing.assert_allclose(res.dHbar_attn + res.dHbar_rec, res.encoder.dh, atol=1e-14)
    a = res.attention
    np.testing.assert_allclose(a.dHbar, a.dHbar_ctx + a.dHbar_score, atol=1e-14)
    np.testing.assert_allclose(a.dh, a.dh_direct + a.dh_score, atol=1e-14)
    dctx = res.dcontext[0] if cell == "lstm" else res.dcontext
    np.testing.assert_allclose(
        dctx, res.decoder.dstate[0] if cell == "lstm" else res.decoder.dstate
    )
    np.testing.assert_allclose(run.att.alpha.sum(axis=1), 1.0)
    # without attention only the last encoder state gets gradient from outside the encoder
    plain = make(cell, None, H=4).forward([1, 2, 3, 0, 1], [2, 3]).backward()
    assert np.all(plain.dHbar_attn == 0)
    np.testing.assert_allclose(
        plain.dHbar_rec[-1], plain.dcontext[0] if cell == "lstm" else plain.dcontext
    )


def test_dalpha_matches_finite_differences():
    """dα: L as a function of α with everything else fixed (the what-if's α)."""
    model = make("gru", "general", H=4)
    run = model.forward([1, 2, 3, 0], [2, 4])
    res = run.backward()
    t = 1
    base = run.att.alpha[t].copy()
    num = np.zeros_like(base)
    target = run.targets[t]
    for s in range(base.shape[0]):
        for sign in (1, -1):
            a = base.copy()
            a[s] += sign * EPS
            w = whatif_unnormalised(run, t, a)
            num[s] += sign * -np.log(w[target]) / (2 * EPS)
    np.testing.assert_allclose(res.attention.dalpha[t], num, rtol=1e-6, atol=1e-9)


def whatif_unnormalised(run, t, a):
    from engine import attention, heads

    p = run.model.params
    ctx = a @ run.enc.h
    ht = attention.combine(ctx, run.dec.h[t], run.model.attn_params)
    return heads.softmax((ht @ p["head.weight"].T + p["head.bias"])[None])[0]


def test_unknown_source_token_reads_the_zero_vector():
    model = make("lstm", "dot", "embedding")
    run = model.forward([0, -1, 2], [2])
    res = run.backward()
    assert np.all(run.enc.x[1] == 0)
    assert np.isfinite(res.loss)


def test_greedy_decoding_and_its_run_agree():
    model = make("gru", "general", H=4)
    dec = decode(model, [1, 2, 3], max_len=6)
    assert 1 <= len(dec.ids) <= 6
    assert dec.ended == (dec.ids[-1] == model.config.eos_id)
    run = run_decoded(model, [1, 2, 3], dec)
    np.testing.assert_array_equal(run.probs.argmax(axis=1), dec.ids)
    # sampling is seeded
    a = decode(model, [1, 2, 3], 6, temperature=1.5, seed=4).ids
    assert a == decode(model, [1, 2, 3], 6, temperature=1.5, seed=4).ids


def test_whatif_with_the_models_own_alpha_changes_nothing():
    model = make("lstm", "general", H=4)
    run = model.forward([1, 2, 3, 0], [2, 4, 3])
    for t in range(run.logits.shape[0]):
        w = whatif(run, t, run.att.alpha[t])
        np.testing.assert_allclose(w.probs, run.probs[t], atol=1e-12)
    w = whatif(run, 1, focus(4, 2), continue_greedy=True, max_len=6)
    np.testing.assert_allclose(w.ctx, run.enc.h[2])
    assert w.continuation.ids[:1] == [2]  # the steps before t keep their tokens
    assert w.continuation.ids[1] == int(np.argmax(w.probs))


def test_whatif_refuses_bad_alpha():
    model = make("gru", "dot")
    run = model.forward([1, 2], [3])
    with pytest.raises(ValueError, match="2 weights"):
        whatif(run, 0, [1.0])
    with pytest.raises(ValueError, match="sum to 1"):
        check_alpha([0.5, 0.2], 2)
    with pytest.raises(ValueError, match=">= 0"):
        check_alpha([1.5, -0.5], 2)
    with pytest.raises(ValueError, match="step 5"):
        whatif(run, 5, [0.5, 0.5])
    with pytest.raises(ValueError, match="no attention"):
        whatif(make("gru", None).forward([1], [2]), 0, [1.0])


@pytest.mark.parametrize("every_node", [False, True])
def test_tree_gradients_match_finite_differences(every_node):
    nodes = parse("((the movie) (was (not good)))")
    model = TreeNet(TreeConfig(vocab_size=6, hidden_size=3, num_classes=2, seed=0))
    ids = [0, 1, 2, 3, -1]
    run = model.forward(nodes, ids)
    y = np.arange(len(nodes)) % 2 if every_node else run.targets_root(1)
    res = run.backward(y)
    for name, arr in model.params.items():
        num = numeric(lambda: model.forward(nodes, ids).backward(y).loss, arr)
        err = np.abs(num - res.params[name]).max() / max(np.abs(num).max(), 1e-8)
        assert err < TOL, f"{name}: {err:.2g}"
