"""Decoding an encoder–decoder (engine/seq2seq.py) and the attention what-if.

Decoding: the decoder starts from the context vector reading <bos>; at each step it predicts
p_t = softmax(logits_t / temperature) and the next input is the chosen token: the most likely
one (greedy, temperature 0) or one drawn from p_t (sampling, seeded). It stops after <eos> or
after max_len tokens.

What-if (an intervention, not the model's computation): at decoder step t the attention
weights α_t are replaced by a given distribution α'_t (for example all the weight on source
token s); the step's context, combined state and prediction are recomputed from the same h_t:

    ctx'_t = Σ_s α'_ts h̄_s,   h̃'_t = tanh(W_c [ctx'_t; h_t] + b_c),   p'_t = softmax(W_out h̃'_t + b)

Without input feeding h_t does not depend on α_t, so the steps before t are unchanged; the
steps after t change only through the token fed back, which ``whatif(..., continue_greedy=True)``
decodes on from the new prediction (the attention of the later steps is the model's own).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine import attention, heads
from engine.seq2seq import Run, Seq2Seq


@dataclass
class Decoded:
    ids: list[int]  # the chosen target ids, <eos> included when reached
    ended: bool  # True when <eos> was chosen within max_len


def decode(
    model: Seq2Seq,
    src_ids,
    max_len: int,
    temperature: float = 0.0,
    seed: int = 0,
    start: tuple[list[int], object] | None = None,
) -> Decoded:
    """Greedy (temperature 0) or sampled decoding of up to max_len tokens.

    start: (tokens already chosen, the decoder state after reading them but the last), to go
    on from there (the what-if's continuation); default: from the context with <bos>.
    """
    if max_len < 1:
        raise ValueError("max_len must be at least 1")
    if temperature < 0 or not np.isfinite(temperature):
        raise ValueError("temperature must be a finite number >= 0")
    cfg = model.config
    _, enc = model.run_encoder(src_ids)
    Hbar = enc.h  # (S, H)
    rng = np.random.default_rng(seed)
    if start is None:
        chosen, state, prev = [], enc.final_state, cfg.bos_id
    else:
        chosen, state = list(start[0]), start[1]
        prev = chosen[-1]
        if prev == cfg.eos_id:
            return Decoded(chosen, True)
    while len(chosen) < max_len:
        x = model.encode_target(np.array([prev]))[0]
        state, rec = model.decoder.step(x, state)
        _, _, logits = model.output(rec["h"][None], Hbar)
        prev = choose(logits[0], temperature, rng)
        chosen.append(prev)
        if prev == cfg.eos_id:
            return Decoded(chosen, True)
    return Decoded(chosen, False)


def choose(logits: np.ndarray, temperature: float, rng: np.random.Generator) -> int:
    """argmax (temperature 0) or a draw from softmax(logits / temperature)."""
    if temperature == 0:
        return int(np.argmax(logits))
    p = heads.softmax(logits[None] / temperature)[0]
    return int(rng.choice(p.shape[0], p=p))


def run_decoded(model: Seq2Seq, src_ids, decoded: Decoded) -> Run:
    """The decoded sequence as a run: inputs <bos>, y_1..y_{n-1}; each step's target is the
    token it chose (so the loss is -log p of the model's own choices)."""
    ids = np.asarray(decoded.ids, dtype=np.int64)
    dec_in = np.concatenate([[model.config.bos_id], ids[:-1]]).astype(np.int64)
    return model.forward_steps(src_ids, dec_in, ids)


def focus(S: int, s: int) -> np.ndarray:
    """α' with all the weight on source position s (S,)."""
    if not 0 <= s < S:
        raise ValueError(f"source position {s} outside 0..{S - 1}")
    a = np.zeros(S)
    a[s] = 1.0
    return a


def check_alpha(alpha, S: int) -> np.ndarray:
    """A replacement α'_t: S finite weights >= 0 summing to 1 (within 1e-6; renormalised)."""
    a = np.asarray(alpha, dtype=np.float64).reshape(-1)
    if a.shape != (S,):
        raise ValueError(f"alpha must have {S} weights (one per source token), got {a.shape[0]}")
    if not np.all(np.isfinite(a)) or np.any(a < 0):
        raise ValueError("alpha's weights must be finite and >= 0")
    total = a.sum()
    if abs(total - 1.0) > 1e-6:
        raise ValueError(f"alpha's weights must sum to 1, they sum to {total:.6g}")
    return a / total


@dataclass
class WhatIf:
    t: int
    alpha: np.ndarray  # (S,) the weights used instead of the model's
    alpha_model: np.ndarray  # (S,) the model's own
    ctx: np.ndarray  # (H,) ctx'_t
    h_tilde: np.ndarray  # (H,) h̃'_t
    logits: np.ndarray  # (V_t,)
    probs: np.ndarray  # (V_t,)
    probs_model: np.ndarray  # (V_t,) the model's own p_t
    continuation: Decoded | None  # greedy decoding on from the new prediction


def whatif(run: Run, t: int, alpha, continue_greedy: bool = False, max_len: int = 0) -> WhatIf:
    """Step t of `run` decoded with α_t replaced by `alpha` (S,); see the module docstring.

    continue_greedy: decode greedily from the new prediction up to max_len tokens in all
    (the tokens before t are the run's own inputs)."""
    model = run.model
    if run.att is None:
        raise ValueError("this model has no attention to change")
    T, S = run.att.alpha.shape
    if not 0 <= t < T:
        raise ValueError(f"decoder step {t} outside 0..{T - 1}")
    a = check_alpha(alpha, S)
    ctx = a @ run.enc.h  # (H,) Σ_s α'_s h̄_s
    h_tilde = attention.combine(ctx, run.dec.h[t], model.attn_params)  # (H,)
    logits = heads.linear_forward(
        h_tilde[None], model.params["head.weight"], model.params["head.bias"]
    )[0]
    probs = heads.softmax(logits[None])[0]
    cont = None
    if continue_greedy:
        chosen = [int(i) for i in run.dec_in[1 : t + 1]] + [int(np.argmax(logits))]
        state = _state_at(run, t)
        cont = decode(model, run.src_ids, max(max_len, len(chosen)), start=(chosen, state))
    return WhatIf(
        t, a, run.att.alpha[t].copy(), ctx, h_tilde, logits, probs, run.probs[t].copy(), cont
    )


def _state_at(run: Run, t: int):
    """The decoder state after step t (what step t + 1 starts from)."""
    h = run.dec.h[t]
    return h if run.dec.c is None else (h, run.dec.c[t])
