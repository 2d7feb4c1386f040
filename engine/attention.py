"""Luong global attention (Luong, Pham & Manning 2015), without input feeding.

Shapes: T decoder steps, S encoder steps, H hidden size. Every decoder step t attends over the
encoder states h̄_1..h̄_S (the rows of Hbar (S, H)) with its own state h_t (a row of h (T, H)):

    score(t, s) = h_tᵀ W_a h̄_s        "general"      W_a (H, H)      (attn.W_a)
                = h_tᵀ h̄_s            "dot"          no parameter
    α_t   = softmax_s(score(t, ·))                     (T, S)  each row sums to 1
    ctx_t = Σ_s α_ts h̄_s                               (T, H)  the step's context
    h̃_t   = tanh(W_c [ctx_t; h_t] + b_c)              (T, H)  W_c (H, 2H), b_c (H,)

The head then reads h̃_t instead of h_t. Without input feeding h̃_t is not fed back into the
decoder, so the decoder's states do not depend on the attention and all T steps of attention
are computed at once, after the decoder ran.

Backward (dh̃ (T, H) = dL/dh̃_t from the head):

    da     = dh̃ ⊙ (1 - h̃²)                            pre-activation of h̃
    dW_c   = Σ_t da_t ⊗ [ctx_t; h_t],   db_c = Σ_t da_t
    [dctx; dh^direct] = da W_c                        split at H
    dα_ts  = dctx_t · h̄_s                             (T, S)
    dscore = α ⊙ (dα - Σ_s α_ts dα_ts)                softmax backward, row by row
    dh̄_s  += Σ_t α_ts dctx_t                          through the context (the weights' values)
    general: dh_t += W_a Σ_s dscore_ts h̄_s,  dh̄_s += W_aᵀ Σ_t dscore_ts h_t,
             dW_a = Σ_{t,s} dscore_ts h_t ⊗ h̄_s
    dot:     dh_t += Σ_s dscore_ts h̄_s,      dh̄_s += Σ_t dscore_ts h_t

Each of these per-step arrays is kept: the trace shows them. The line from decoder step t to
encoder state s carries its own share of dh̄_s (``line_gradients``), what a picture of the
attention's backward pass draws on that line:

    g_ts = α_ts dctx_t + dscore_ts q_t,   q_t = W_aᵀ h_t (general) or h_t (dot);   Σ_t g_ts = dh̄_s
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.heads import softmax

SCORES = ("general", "dot")


def param_shapes(score: str, H: int) -> dict[str, tuple[int, ...]]:
    """The attention's parameters (PyTorch-style names after the "attn." prefix)."""
    if score not in SCORES:
        raise ValueError(f"attention score must be one of {SCORES}, got {score!r}")
    shapes = {"W_a": (H, H)} if score == "general" else {}
    shapes.update({"W_c": (H, 2 * H), "b_c": (H,)})
    return shapes


@dataclass
class AttentionForward:
    score_kind: str
    h: np.ndarray  # (T, H) decoder states
    Hbar: np.ndarray  # (S, H) encoder states
    keys: np.ndarray  # (S, H) what h_t is dotted with: rows W_a h̄_s (general) or h̄_s (dot)
    scores: np.ndarray  # (T, S)
    alpha: np.ndarray  # (T, S)
    ctx: np.ndarray  # (T, H)
    h_tilde: np.ndarray  # (T, H)


@dataclass
class AttentionGrads:
    dh: np.ndarray  # (T, H) dL/dh_t through the attention (direct + through the scores)
    dh_direct: np.ndarray  # (T, H) the part through h̃_t = tanh(W_c [ctx; h] + b_c)
    dh_score: np.ndarray  # (T, H) the part through the scores
    dHbar: np.ndarray  # (S, H) dL/dh̄_s through the attention (both parts below)
    dHbar_ctx: np.ndarray  # (S, H) through ctx_t = Σ α_ts h̄_s (α held fixed)
    dHbar_score: np.ndarray  # (S, H) through the scores (how α moves)
    dctx: np.ndarray  # (T, H)
    dalpha: np.ndarray  # (T, S)
    dscore: np.ndarray  # (T, S)
    dpre: np.ndarray  # (T, H) dL/d(pre-activation of h̃)
    params: dict[str, np.ndarray]  # W_a (general), W_c, b_c


def scores_of(score_kind: str, h: np.ndarray, Hbar: np.ndarray, p: dict) -> np.ndarray:
    """score(t, s) for h (T, H) or (H,) -> (T, S) or (S,)."""
    keys = Hbar @ p["W_a"].T if score_kind == "general" else Hbar  # (S, H): W_a h̄_s
    return h @ keys.T


def combine(ctx: np.ndarray, h: np.ndarray, p: dict) -> np.ndarray:
    """h̃ = tanh(W_c [ctx; h] + b_c), for (T, H) or (H,) rows."""
    H = h.shape[-1]
    W_c = p["W_c"]
    return np.tanh(ctx @ W_c[:, :H].T + h @ W_c[:, H:].T + p["b_c"])


def forward(score_kind: str, h: np.ndarray, Hbar: np.ndarray, p: dict) -> AttentionForward:
    """All T steps of attention at once. p: W_a (general), W_c, b_c."""
    keys = Hbar @ p["W_a"].T if score_kind == "general" else Hbar  # (S, H) rows W_a h̄_s
    scores = h @ keys.T  # (T, S) h_tᵀ W_a h̄_s
    alpha = softmax(scores)  # (T, S)
    ctx = alpha @ Hbar  # (T, H) Σ_s α_ts h̄_s
    h_tilde = combine(ctx, h, p)  # (T, H)
    return AttentionForward(score_kind, h, Hbar, keys, scores, alpha, ctx, h_tilde)


def backward(fw: AttentionForward, dh_tilde: np.ndarray, p: dict) -> AttentionGrads:
    """dh̃ (T, H) -> every gradient of the module docstring."""
    H = fw.h.shape[1]
    W_c = p["W_c"]
    dpre = dh_tilde * (1.0 - fw.h_tilde**2)  # (T, H) tanh' = 1 - h̃²
    u = np.concatenate([fw.ctx, fw.h], axis=1)  # (T, 2H) [ctx_t; h_t]
    grads = {"W_c": dpre.T @ u, "b_c": dpre.sum(axis=0)}  # Σ_t da_t ⊗ u_t, Σ_t da_t
    du = dpre @ W_c  # (T, 2H) W_cᵀ da_t
    dctx, dh_direct = du[:, :H], du[:, H:]
    dalpha = dctx @ fw.Hbar.T  # (T, S) dctx_t · h̄_s
    dscore = fw.alpha * (dalpha - (dalpha * fw.alpha).sum(axis=1, keepdims=True))  # (T, S)
    dHbar_ctx = fw.alpha.T @ dctx  # (S, H) Σ_t α_ts dctx_t
    dh_score = dscore @ fw.keys  # (T, H) Σ_s dscore_ts W_a h̄_s (or h̄_s)
    dkeys = dscore.T @ fw.h  # (S, H) Σ_t dscore_ts h_t
    if fw.score_kind == "general":
        dHbar_score = dkeys @ p["W_a"]  # (S, H) W_aᵀ Σ_t dscore_ts h_t
        grads["W_a"] = dkeys.T @ fw.Hbar  # Σ_{t,s} dscore_ts h_t ⊗ h̄_s
    else:
        dHbar_score = dkeys
    return AttentionGrads(
        dh=dh_direct + dh_score,
        dh_direct=dh_direct,
        dh_score=dh_score,
        dHbar=dHbar_ctx + dHbar_score,
        dHbar_ctx=dHbar_ctx,
        dHbar_score=dHbar_score,
        dctx=dctx,
        dalpha=dalpha,
        dscore=dscore,
        dpre=dpre,
        params=grads,
    )


def line_gradients(fw: AttentionForward, g: AttentionGrads, p: dict) -> np.ndarray:
    """(T, S, H) g_ts: the part of dL/dh̄_s that comes from decoder step t (see the module
    docstring), through its context (α_ts dctx_t) and through its score (dscore_ts q_t)."""
    q = fw.h @ p["W_a"] if fw.score_kind == "general" else fw.h  # (T, H) rows W_aᵀ h_t
    return fw.alpha[:, :, None] * g.dctx[:, None, :] + g.dscore[:, :, None] * q[:, None, :]
