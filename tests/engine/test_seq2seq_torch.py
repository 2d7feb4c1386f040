"""Seq2Seq (engine/seq2seq.py) against the same encoder–decoder built in PyTorch float64.

The torch model is written from the equations of engine/seq2seq.py and engine/attention.py with
torch's own nn.RNN/LSTM/GRU (the encoder run one step at a time, so every encoder state is a
tensor of its own). Losses, every parameter gradient, α, dα, dL/d(context) and the gradient
reaching each encoder state (total, and the part through the attention) agree to 1e-9.
"""

import numpy as np
import pytest

from engine.seq2seq import Seq2Seq
from engine.seq2seq_config import Seq2SeqConfig

torch = pytest.importorskip("torch")
nn = torch.nn
F = torch.nn.functional

pytestmark = pytest.mark.torch

V_S, V_T, H, E = 6, 5, 4, 3
TOL = 1e-9
CASES = [
    (cell, att, enc)
    for cell in ("rnn", "lstm", "gru")
    for att in (None, "general", "dot")
    for enc in ("onehot", "embedding")
]


def close(a, b, what):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    scale = max(np.abs(b).max(), 1e-12)
    err = np.abs(a - b).max() / scale
    assert err <= TOL, f"{what}: relative error {err:.3g}"


def make(cell, att, enc, seed=0):
    cfg = Seq2SeqConfig(
        cell=cell,
        src_vocab_size=V_S,
        tgt_vocab_size=V_T,
        bos_id=0,
        eos_id=1,
        hidden_size=H,
        input_encoding=enc,
        embed_size=E if enc == "embedding" else None,
        attention=att,
        seed=seed,
    )
    model = Seq2Seq(cfg)
    for v in model.params.values():  # larger weights: the gradients are not all tiny
        v *= 1.5
    return model


def torch_run(model, src, tgt):
    cfg = model.config
    kind = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}[cfg.cell]
    I_e, I_d = cfg.input_sizes()
    P = {k: torch.tensor(v, requires_grad=True) for k, v in model.params.items()}
    enc_m, dec_m = kind(I_e, H).double(), kind(I_d, H).double()
    for m, prefix in ((enc_m, "encoder"), (dec_m, "decoder")):
        for name, _ in list(m.named_parameters()):
            delattr(m, name)
            setattr(m, name, P[f"{prefix}.{name}"])
    src_t, tgt_t = torch.tensor(src), torch.tensor(tgt)
    dec_in = torch.cat([torch.tensor([cfg.bos_id]), tgt_t])
    targets = torch.cat([tgt_t, torch.tensor([cfg.eos_id])])
    if cfg.input_encoding == "embedding":
        xs, xd = P["src_embedding.weight"][src_t], P["tgt_embedding.weight"][dec_in]
    else:
        xs, xd = F.one_hot(src_t, V_S).double(), F.one_hot(dec_in, V_T).double()
    lstm = cfg.cell == "lstm"
    zero = torch.zeros(1, H).double()
    h_prev, c_prev = zero, zero
    states = []
    for s in range(len(src)):
        # one step; the next step reads this h_s itself, so h_s.grad is the recurrence's part
        _, state = enc_m(xs[s : s + 1], (h_prev, c_prev) if lstm else h_prev)
        h_s = (state[0] if lstm else state)[0]
        h_s.retain_grad()
        states.append(h_s)
        h_prev = h_s[None]
        c_prev = state[1] if lstm else None
    Hbar = torch.stack(states)  # (S, H): what the attention reads; its grad is the attention's
    Hbar.retain_grad()
    if lstm:
        ctx0 = (h_prev.clone(), c_prev.clone())  # the context vector
        for c in ctx0:
            c.retain_grad()
    else:
        ctx0 = h_prev.clone()
        ctx0.retain_grad()
    dec_state = ctx0
    h, _ = dec_m(xd, dec_state)  # (T, H)
    h.retain_grad()
    out = {"Hbar_leaf": Hbar, "states": states, "ctx0": ctx0, "h": h, "P": P}
    if cfg.attention is not None:
        keys = Hbar @ P["attn.W_a"].T if cfg.attention == "general" else Hbar
        scores = h @ keys.T
        alpha = torch.softmax(scores, dim=1)
        alpha.retain_grad()
        ctx = alpha @ Hbar
        o = torch.tanh(torch.cat([ctx, h], dim=1) @ P["attn.W_c"].T + P["attn.b_c"])
        out["alpha"] = alpha
    else:
        o = h
    logits = o @ P["head.weight"].T + P["head.bias"]
    loss = F.cross_entropy(logits, targets, reduction="sum")
    loss.backward()
    out["loss"] = loss
    return out


@pytest.mark.parametrize("cell,att,enc", CASES)
def test_seq2seq_matches_torch(cell, att, enc):
    model = make(cell, att, enc)
    rng = np.random.default_rng(3)
    src = rng.integers(0, V_S, 6)
    tgt = rng.integers(2, V_T, 4)
    run = model.forward(src, tgt)
    res = run.backward()
    ref = torch_run(model, src, tgt)
    close(run.loss, ref["loss"].item(), "loss")
    for name, g in res.params.items():
        close(g, ref["P"][name].grad.numpy(), f"d{name}")
    S = len(src)
    # h_s.grad: everything reaching h_s; Hbar.grad: the part through the attention
    total = np.stack([ref["states"][s].grad.numpy() for s in range(S)])
    g = ref["Hbar_leaf"].grad
    attn_part = np.zeros((S, H)) if g is None else g.numpy()
    close(res.encoder.dh, total, "dL/dh̄_s total")
    if att is not None:
        close(res.dHbar_attn, attn_part, "dL/dh̄_s through the attention")
        close(run.att.alpha, ref["alpha"].detach().numpy(), "alpha")
        close(res.attention.dalpha, ref["alpha"].grad.numpy(), "dalpha")
        assert np.abs(attn_part).max() > 1e-3  # the attention's path carries gradient
    else:
        assert np.all(res.dHbar_attn == 0)
    close(res.dHbar_rec, total - attn_part, "dL/dh̄_s through the recurrence")
    close(res.dh_dec_in, ref["h"].grad.numpy(), "dL/dh_t from the outputs")
    if cell == "lstm":
        close(res.dcontext[0], ref["ctx0"][0].grad.numpy()[0], "dL/d context h")
        close(res.dcontext[1], ref["ctx0"][1].grad.numpy()[0], "dL/d context c")
    else:
        close(res.dcontext, ref["ctx0"].grad.numpy()[0], "dL/d context")
