"""The encoder–decoder's trace and what-if: a request checked once (PreparedSeq2Seq), then the
engine's run (engine/seq2seq.py, engine/seq2seq_decode.py) as plain JSON
(docs/contracts.md sections 9 and 10).

The source follows the sequence models' rule for unknown tokens (server.tracing.request): the
vocabulary's normalisation, then <unk> or the zero vector, and the trace says which. A teacher-
forcing target must be fully known (its tokens are what the loss scores). Without a target the
model decodes (greedy, or sampled) up to max_len tokens, and the trace is that decoding run
again with each step's own choice as its target: the loss is -log p of the model's choices.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from engine import attention
from engine.seq2seq_decode import Decoded, decode, focus, run_decoded, whatif
from engine.tokenize import Encoded
from server.core import limits
from server.core.errors import ApiError
from server.core.responses import dumps
from server.core.schemas import Seq2SeqTraceRequest, Seq2SeqWhatIfRequest
from server.core.settings import Settings
from server.models.limits import GATES
from server.models.registry import Entry, Registry
from server.tracing.request import entry_for
from server.tracing.values import norm, per_row, row_norms, top_predictions, top_rows, vec


@dataclass
class PreparedSeq2Seq:
    entry: Entry | None
    request: Seq2SeqTraceRequest
    source: Encoded
    target: Encoded | None  # teacher forcing
    max_len: int
    key: tuple  # (model id, model version)

    def without_entry(self) -> PreparedSeq2Seq:
        return replace(self, entry=None)

    def with_entry(self, registry: Registry) -> PreparedSeq2Seq:
        entry = registry.get(self.key[0])
        if entry is None or entry.version != self.key[1]:
            raise ApiError("The model changed or was removed meanwhile; trace it again.", 409)
        return replace(self, entry=entry)


def prepare(req: Seq2SeqTraceRequest, registry: Registry, s: Settings) -> PreparedSeq2Seq:
    """Check the request against the limits and the model; 4xx errors as ApiError."""
    limits.check(req, s)
    entry = entry_for(registry, req.model, "seq2seq")
    tokens = entry.vocab.tokenize(req.source)
    if not tokens:
        raise ApiError("source has no tokens: type at least one character or word.")
    if len(tokens) > s.max_tokens:
        raise ApiError(f"source has {len(tokens)} tokens; at most {s.max_tokens} are allowed.")
    source = entry.vocab.lookup(tokens)
    target = None
    if req.target is not None:
        tv = entry.target_vocab
        t_tokens = tv.tokenize(req.target)
        if not t_tokens:
            raise ApiError("target has no tokens: type at least one, or leave it out to decode.")
        if len(t_tokens) + 1 > s.max_decode_tokens:
            raise ApiError(
                f"target has {len(t_tokens)} tokens; at most {s.max_decode_tokens - 1} "
                "(max_decode_tokens, <eos> included)."
            )
        target = tv.lookup(t_tokens)
        special = {"<bos>", "<eos>"}
        bad = [
            i + 1
            for i, (u, n) in enumerate(zip(target.unknown, target.normalized, strict=True))
            if u or n in special
        ]
        if bad:
            where = ", ".join(str(i) for i in bad[:10]) + (" ..." if len(bad) > 10 else "")
            raise ApiError(
                f"target: the model cannot produce token(s) {where} (counting from 1): a target "
                "uses only the tokens of its target vocabulary (GET /api/models/{id} lists them)."
            )
    max_len = req.max_len or s.max_decode_tokens
    if max_len > s.max_decode_tokens:
        raise ApiError(f"max_len: at most {s.max_decode_tokens}.")
    steps = len(target) + 1 if target is not None else max_len
    check_work(entry, len(source), steps, s)
    return PreparedSeq2Seq(entry, req, source, target, max_len, (entry.id, entry.version))


def check_work(entry: Entry, S: int, T: int, s: Settings) -> None:
    cfg = entry.model.config
    H = cfg.hidden_size
    work = (S + T) * GATES[cfg.cell] * H * H + (T * S * H if cfg.attention else 0)
    if work > s.max_work:
        raise ApiError(
            f"This request is too much work for the server: ({S} source + {T} decoder steps) x "
            f"{GATES[cfg.cell]} gate(s) x {H}^2 = {work:.2g}, more than the {s.max_work:.2g} "
            "one request may cost (max_work); use a shorter source or max_len."
        )


def _run(p: PreparedSeq2Seq):
    """-> (mode, the engine's Run, the Decoded or None)."""
    model, req = p.entry.model, p.request
    if p.target is not None:
        return "teacher", model.forward(p.source.ids, p.target.ids), None
    dec = decode(model, p.source.ids, p.max_len, req.temperature, req.seed)
    mode = "greedy" if req.temperature == 0 else "sample"
    return mode, run_decoded(model, p.source.ids, dec), dec


def trace(p: PreparedSeq2Seq) -> bytes:
    """POST /api/seq2seq/trace's body as JSON bytes."""
    return dumps(trace_body(p))


def trace_body(p: PreparedSeq2Seq) -> dict:
    entry, req = p.entry, p.request
    model = entry.model
    cfg = model.config
    mode, run, dec = _run(p)
    res = run.backward()
    names = entry.output_names()
    enc, dtape = run.enc, run.dec
    src = p.source
    encoder = per_row(_cell_columns(enc))  # each (S, ·) array converted once, then split
    for s_, step in enumerate(encoder):
        step.update(
            s=s_,
            token=src.tokens[s_],
            unknown=bool(src.unknown[s_]),
            seen_as=src.seen[s_],
            input_index=None if src.ids[s_] < 0 else int(src.ids[s_]),
        )
    columns = _cell_columns(dtape)
    if run.att is not None:
        att = run.att
        columns.update(score=att.scores, alpha=att.alpha, ctx=att.ctx, h_tilde=att.h_tilde)
    decoder = per_row(columns)
    tops = top_rows(run.probs, names, req.top_k)
    chosen = np.argmax(run.probs, axis=1).tolist()
    losses = vec(run.losses)
    for t, step in enumerate(decoder):
        i, y = int(run.dec_in[t]), int(run.targets[t])
        step.update(
            t=t,
            input_index=i,
            input_token=names[i],
            top=tops[t],
            predicted=chosen[t],
            predicted_token=names[chosen[t]],
            target=y,
            target_token=names[y],
            loss=losses[t],
        )
    out_ids = [int(i) for i in (dec.ids if dec is not None else chosen)]
    ended = dec.ended if dec is not None else out_ids[-1] == cfg.eos_id
    body_ids = out_ids[:-1] if out_ids and out_ids[-1] == cfg.eos_id else out_ids
    context = {"h": encoder[-1]["h"]}
    if enc.c is not None:
        context["c"] = encoder[-1]["c"]
    return {
        "model": entry.id,
        "kind": "seq2seq",
        "cell": cfg.cell,
        "hidden_size": cfg.hidden_size,
        "attention": cfg.attention,
        "gate_names": list(model.encoder.gate_names),
        "mode": mode,
        "temperature": req.temperature,
        "source": {
            "tokens": src.tokens,
            "unknown": src.unknown_steps,
            "normalize": entry.vocab.normalize,
        },
        "target": None if p.target is None else {"tokens": p.target.tokens},
        "output": {
            "tokens": [names[i] for i in out_ids],
            "ids": out_ids,
            "text": entry.target_vocab.decode(body_ids),
            "ended": bool(ended),
        },
        "encoder": encoder,
        "context": context,
        "decoder": decoder,
        "alpha": None if run.att is None else [d["alpha"] for d in decoder],
        "loss": run.loss,
        "losses": losses,
        "backward": _backward(run, res),
    }


def _cell_columns(tape) -> dict:
    """A tape's per-step arrays by trace field: h, gates, c (LSTM), pre (RNN)."""
    columns = {"h": tape.h, "gates": dict(tape.gates)}
    if tape.c is not None:
        columns["c"] = tape.c
    if tape.pre is not None:
        columns["pre"] = tape.pre
    return columns


def _backward(run, res) -> dict:
    g_enc, g_dec, att = res.encoder, res.decoder, res.attention
    columns = {
        "dh": g_dec.dh,
        "dh_norm": row_norms(g_dec.dh),
        "dh_out": res.dh_dec_in,
        "dh_out_norm": row_norms(res.dh_dec_in),
        "dgates": dict(g_dec.dgates),
    }
    if g_dec.dc is not None:
        columns["dc"] = g_dec.dc
    if att is not None:
        columns.update(dh_tilde=res.do, dctx=att.dctx, dalpha=att.dalpha, dscore=att.dscore)
        # what each attention line carries back: ‖g_ts‖, step t's share of dL/dh̄_s
        lines = attention.line_gradients(run.att, att, run.model.attn_params)  # (T, S, H)
        columns["dh_enc_norm"] = np.sqrt(np.einsum("tsh,tsh->ts", lines, lines))
    decoder = per_row(columns)
    for t, step in enumerate(decoder):
        step["t"] = t
    columns = {
        "dh": g_enc.dh,
        "dh_norm": row_norms(g_enc.dh),
        "dh_attn": res.dHbar_attn,
        "dh_attn_norm": row_norms(res.dHbar_attn),
        "dh_rec": res.dHbar_rec,
        "dh_rec_norm": row_norms(res.dHbar_rec),
        "dgates": dict(g_enc.dgates),
    }
    if g_enc.dc is not None:
        columns["dc"] = g_enc.dc
    encoder = per_row(columns)
    for s_, step in enumerate(encoder):
        step["s"] = s_
    dctx = res.dcontext
    dh0 = dctx[0] if isinstance(dctx, tuple) else dctx
    context = {"dh": vec(dh0), "dh_norm": norm(dh0)}
    if isinstance(dctx, tuple):
        context["dc"] = vec(dctx[1])
    return {
        "decoder": decoder,
        "context": context,
        "encoder": encoder,
        "dalpha": None if att is None else [d["dalpha"] for d in decoder],
        "params": {k: norm(v) for k, v in res.params.items()},
        "global_norm": res.global_norm,
    }


# -- what-if --------------------------------------------------------------------------------


def prepare_whatif(req: Seq2SeqWhatIfRequest, registry: Registry, s: Settings):
    p = prepare(req, registry, s)
    if p.entry.model.config.attention is None:
        raise ApiError(
            "This model has no attention to change: the what-if needs an encoder–decoder with "
            "attention."
        )
    if (req.alpha is None) == (req.focus is None):
        raise ApiError("Give either alpha (one weight per source token) or focus (a position).")
    S = len(p.source)
    if req.focus is not None and req.focus >= S:
        raise ApiError(f"focus: the source has {S} tokens, use 0..{S - 1}.")
    if req.alpha is not None and len(req.alpha) != S:
        raise ApiError(f"alpha: give {S} weights, one per source token; got {len(req.alpha)}.")
    return p


def whatif_body(p: PreparedSeq2Seq) -> dict:
    """POST /api/seq2seq/whatif's body: step t with α_t replaced (engine.seq2seq_decode)."""
    req = p.request
    names = p.entry.output_names()
    mode, run, dec = _run(p)
    T, S = run.att.alpha.shape
    if req.t >= T:
        raise ApiError(f"t: this trace has {T} decoder steps, use 0..{T - 1}.")
    alpha = focus(S, req.focus) if req.focus is not None else req.alpha
    try:
        w = whatif(run, req.t, alpha, continue_greedy=mode == "greedy", max_len=p.max_len)
    except ValueError as e:
        raise ApiError(f"alpha: {str(e).removeprefix('alpha')}".replace(":  ", ": ")) from None
    new, old = int(np.argmax(w.probs)), int(np.argmax(w.probs_model))
    body = {
        "model": p.entry.id,
        "intervention": True,
        "mode": mode,
        "t": req.t,
        "alpha": vec(w.alpha),
        "alpha_model": vec(w.alpha_model),
        "ctx": vec(w.ctx),
        "ctx_model": vec(run.att.ctx[req.t]),
        "h_tilde": vec(w.h_tilde),
        "h_tilde_model": vec(run.att.h_tilde[req.t]),
        "top": top_predictions(w.probs, names, req.top_k),
        "top_model": top_predictions(w.probs_model, names, req.top_k),
        "predicted": {"index": new, "token": names[new], "p": float(w.probs[new])},
        "predicted_model": {"index": old, "token": names[old], "p": float(w.probs_model[old])},
        "changed": new != old,
        "output_model": _output(p, [int(i) for i in (dec.ids if dec else run.probs.argmax(1))]),
        "continuation": None if w.continuation is None else _output(p, w.continuation.ids),
    }
    return body


def _output(p: PreparedSeq2Seq, ids: list[int]) -> dict:
    eos = p.entry.model.config.eos_id
    names = p.entry.output_names()
    body = ids[:-1] if ids and ids[-1] == eos else ids
    return {
        "tokens": [names[i] for i in ids],
        "ids": ids,
        "text": p.entry.target_vocab.decode(body),
        "ended": bool(ids) and ids[-1] == eos,
    }


def whatif_json(p: PreparedSeq2Seq) -> bytes:
    return dumps(whatif_body(p))


__all__ = ["Decoded", "PreparedSeq2Seq", "prepare", "prepare_whatif", "trace", "whatif_json"]
