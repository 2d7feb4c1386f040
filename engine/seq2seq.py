"""Seq2Seq: an encoder–decoder of two recurrent cells, with optional Luong attention.

Shapes: S source tokens, T decoder steps (the target's tokens + 1 for <eos>), H hidden size,
V_s / V_t source / target vocabulary sizes, I_e / I_d the cells' input sizes (V_s / V_t one-hot,
or E with embeddings).

Forward (teacher forcing; the target y_1..y_n, T = n + 1):

    x_s      = onehot(k_s) | src_embedding.weight[k_s]                 (S, I_e)
    h̄_s      = encoder(x_s, h̄_{s-1}),  h̄_0 = 0 (and c̄_0 = 0)           (S, H)
    context  = (h̄_S, c̄_S): the encoder's final state = the decoder's initial state
    inputs   = <bos>, y_1, ..., y_n   (the previous target token)      (T, I_d)
    h_t      = decoder(inputs_t, h_{t-1}),  h_0 = context               (T, H)
    o_t      = h̃_t (attention, engine/attention.py) | h_t (without)    (T, H)
    logits_t = head.weight o_t + head.bias                              (T, V_t)
    L        = Σ_t -log softmax(logits_t)[y_{t+1}],  y_{n+1} = <eos>

Parameters, PyTorch-named: encoder.weight_ih_l0, encoder.weight_hh_l0, encoder.bias_ih_l0,
encoder.bias_hh_l0 (one-layer nn.RNN/LSTM/GRU), decoder.* the same, src_embedding.weight
(V_s, E) and tgt_embedding.weight (V_t, E) with embeddings, attn.W_a (H, H) ("general"),
attn.W_c (H, 2H), attn.b_c (H,), head.weight (V_t, H), head.bias (V_t,).

Backward: from every step's loss through the head (and the attention) into the decoder;
BPTT through the decoder down to its initial state, which is the context vector; from there
into the encoder's last step, and, with attention, into every encoder state at once:

    dL/dh̄_s = (through the attention at every decoder step) + (from step s+1, or, for s = S,
              from the context vector)

Run.backward keeps both parts per encoder step (dHbar_attn, dHbar_rec), dL/d(context), dα.
Decoding (greedy, sampling) and the what-if intervention are in engine/seq2seq_decode.py.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine import attention, encoding, heads
from engine.cells import GRU, LSTM, RNN
from engine.cells.grads import Grads
from engine.optim import global_norm
from engine.seq2seq_config import Seq2SeqConfig

CELL_CLASSES = {"rnn": RNN, "lstm": LSTM, "gru": GRU}
CELL_PARAMS = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")


class Seq2Seq:
    def __init__(self, config: Seq2SeqConfig):
        self.config = cfg = config
        seeds = np.random.SeedSequence(cfg.seed).generate_state(3)
        kind = CELL_CLASSES[cfg.cell]
        extra = {"nonlinearity": cfg.nonlinearity} if cfg.cell == "rnn" else {}
        I_e, I_d = cfg.input_sizes()
        H = cfg.hidden_size
        self.encoder = kind(I_e, H, seed=int(seeds[0]), **extra)
        self.decoder = kind(I_d, H, seed=int(seeds[1]), **extra)
        rng = np.random.default_rng(int(seeds[2]))
        self.params: dict[str, np.ndarray] = {}
        if cfg.input_encoding == "embedding":
            # nn.Embedding's initialisation: N(0, 1)
            self.params["src_embedding.weight"] = rng.standard_normal((cfg.src_vocab_size, I_e))
            self.params["tgt_embedding.weight"] = rng.standard_normal((cfg.tgt_vocab_size, I_d))
        for prefix, cell in (("encoder", self.encoder), ("decoder", self.decoder)):
            for name, arr in cell.params.items():
                self.params[f"{prefix}.{name}_l0"] = arr  # the cell's own array (shared)
        k = 1.0 / np.sqrt(H)  # nn.Linear's initialisation: U(-1/sqrt(in), 1/sqrt(in))
        if cfg.attention is not None:
            for name, shape in attention.param_shapes(cfg.attention, H).items():
                bound = k if name != "W_c" else 1.0 / np.sqrt(2 * H)
                self.params[f"attn.{name}"] = rng.uniform(-bound, bound, shape)
        self.params["head.weight"] = rng.uniform(-k, k, (cfg.tgt_vocab_size, H))
        self.params["head.bias"] = rng.uniform(-k, k, cfg.tgt_vocab_size)

    # -- parameters -----------------------------------------------------------------------

    @property
    def attn_params(self) -> dict[str, np.ndarray]:
        return {k.removeprefix("attn."): v for k, v in self.params.items() if k[:5] == "attn."}

    def state_dict(self) -> dict[str, np.ndarray]:
        return {k: v.copy() for k, v in self.params.items()}

    def load_state_dict(self, sd: dict) -> None:
        """Copy arrays in (in place); names and shapes must match exactly."""
        unknown = sorted(set(sd) - set(self.params))
        missing = sorted(set(self.params) - set(sd))
        if unknown or missing:
            raise ValueError(f"state dict mismatch: unexpected {unknown}, missing {missing}")
        for name, value in sd.items():
            value = np.asarray(value, dtype=np.float64)
            if value.shape != self.params[name].shape:
                raise ValueError(f"{name}: shape {value.shape}, expected {self.params[name].shape}")
        for name, value in sd.items():
            self.params[name][...] = value

    # -- encoding -------------------------------------------------------------------------

    def encode_source(self, src_ids) -> tuple[np.ndarray, np.ndarray]:
        """Source ids (S,) (NO_TOKEN: the zero vector) -> (ids, x (S, I_e))."""
        cfg = self.config
        ids = encoding.as_ids(np.atleast_1d(np.asarray(src_ids)), cfg.src_vocab_size)
        if ids.shape[0] < 1:
            raise ValueError("the source has no tokens")
        return ids, self._embed(ids, "src", cfg.src_vocab_size)

    def encode_target(self, ids) -> np.ndarray:
        """Decoder input ids (T,) -> x (T, I_d)."""
        cfg = self.config
        ids = encoding.as_ids(np.asarray(ids), cfg.tgt_vocab_size)
        return self._embed(ids, "tgt", cfg.tgt_vocab_size)

    def _embed(self, ids: np.ndarray, side: str, V: int) -> np.ndarray:
        if self.config.input_encoding == "onehot":
            return encoding.onehot_forward(ids, V)
        return encoding.embedding_forward(ids, self.params[f"{side}_embedding.weight"])

    # -- forward --------------------------------------------------------------------------

    def run_encoder(self, src_ids):
        """-> (ids, encoder Tape): h̄ = tape.h (S, H), context = tape.final_state."""
        ids, x = self.encode_source(src_ids)
        return ids, self.encoder.forward(x)  # from the zero state

    def output(self, h: np.ndarray, Hbar: np.ndarray):
        """Decoder states h (T, H) -> (AttentionForward or None, o (T, H), logits (T, V_t))."""
        cfg = self.config
        att = None
        o = h
        if cfg.attention is not None:
            att = attention.forward(cfg.attention, h, Hbar, self.attn_params)
            o = att.h_tilde
        logits = heads.linear_forward(o, self.params["head.weight"], self.params["head.bias"])
        return att, o, logits

    def forward(self, src_ids, tgt_ids) -> Run:
        """Teacher forcing on the target y_1..y_n (ids, without <bos>/<eos>): T = n + 1 steps
        reading <bos>, y_1..y_n and predicting y_1..y_n, <eos>."""
        cfg = self.config
        tgt = encoding.as_ids(np.asarray(tgt_ids, dtype=np.int64).reshape(-1), cfg.tgt_vocab_size)
        dec_in = np.concatenate([[cfg.bos_id], tgt]).astype(np.int64)
        targets = np.concatenate([tgt, [cfg.eos_id]]).astype(np.int64)
        return self.forward_steps(src_ids, dec_in, targets)

    def forward_steps(self, src_ids, dec_in, targets) -> Run:
        """The general form: decoder inputs (T,) and targets (T,) (-1: no loss) given."""
        src, enc = self.run_encoder(src_ids)
        dec_in = encoding.as_ids(np.asarray(dec_in, dtype=np.int64), self.config.tgt_vocab_size)
        targets = np.asarray(targets, dtype=np.int64)
        if dec_in.shape[0] < 1 or targets.shape != dec_in.shape:
            raise ValueError("the decoder needs T >= 1 inputs and as many targets")
        dec = self.decoder.forward(self.encode_target(dec_in), state=enc.final_state)
        att, o, logits = self.output(dec.h, enc.h)
        losses, probs = heads.cross_entropy_forward(logits, targets)
        return Run(self, src, dec_in, targets, enc, dec, att, o, logits, probs, losses)


@dataclass
class Result:
    """dL/d(everything) of one backward pass (L = Σ_t losses[t])."""

    loss: float
    params: dict[str, np.ndarray]  # same keys as model.params
    encoder: Grads  # per encoder step: dh (S, H) total dL/dh̄_s, dc, dgates, ...
    decoder: Grads  # per decoder step: dh (T, H) total dL/dh_t, dc, dgates, ...
    dlogits: np.ndarray  # (T, V_t) p_t - onehot(target)
    do: np.ndarray  # (T, H) dL/d(what the head reads): dL/dh̃_t, or dL/dh_t without attention
    dh_dec_in: np.ndarray  # (T, H) dL/dh_t from the step's own output (head and attention)
    dcontext: object  # dL/d(context): dh, or (dh, dc) for LSTM
    dHbar_attn: np.ndarray  # (S, H) dL/dh̄_s through the attention (zeros without)
    dHbar_rec: np.ndarray  # (S, H) dL/dh̄_s from step s+1 or, for the last, the context
    attention: attention.AttentionGrads | None
    global_norm: float


@dataclass
class Run:
    model: Seq2Seq
    src_ids: np.ndarray  # (S,)
    dec_in: np.ndarray  # (T,) what the decoder read: <bos>, y_1, ...
    targets: np.ndarray  # (T,) what each step should predict (-1: no loss)
    enc: object  # encoder Tape: h (S, H), c, gates, final_state (the context)
    dec: object  # decoder Tape, started from the context
    att: attention.AttentionForward | None
    o: np.ndarray  # (T, H) what the head read: h̃_t or h_t
    logits: np.ndarray  # (T, V_t)
    probs: np.ndarray  # (T, V_t)
    losses: np.ndarray  # (T,)

    @property
    def loss(self) -> float:
        return float(self.losses.sum())

    @property
    def context(self):
        """The context vector: the encoder's final state (h, or (h, c) for LSTM)."""
        return self.enc.final_state

    def backward(self) -> Result:
        model, cfg, p = self.model, self.model.config, self.model.params
        dz = heads.cross_entropy_backward(self.probs, self.targets)  # (T, V_t)
        do, dW, db = heads.linear_backward(dz, self.o, p["head.weight"])
        grads: dict[str, np.ndarray] = {"head.weight": dW, "head.bias": db}
        S, H = self.enc.h.shape
        att_g = None
        if self.att is not None:
            att_g = attention.backward(self.att, do, model.attn_params)
            for name, g in att_g.params.items():
                grads[f"attn.{name}"] = g
            dh_dec_in, dHbar_attn = att_g.dh, att_g.dHbar
        else:
            dh_dec_in, dHbar_attn = do, np.zeros((S, H))
        g_dec = self.dec.backward(dh_dec_in)  # BPTT down to the context vector
        dcontext = g_dec.dstate
        g_enc = self.enc.backward(dHbar_attn, dstate=dcontext)  # it enters at the last step
        for prefix, g in (("encoder", g_enc), ("decoder", g_dec)):
            for name in CELL_PARAMS:
                grads[f"{prefix}.{name}_l0"] = g.params[name]
        if cfg.input_encoding == "embedding":
            grads["src_embedding.weight"] = encoding.embedding_backward(
                g_enc.dx, self.src_ids, cfg.src_vocab_size
            )
            grads["tgt_embedding.weight"] = encoding.embedding_backward(
                g_dec.dx, self.dec_in, cfg.tgt_vocab_size
            )
        grads = {k: grads[k] for k in p}  # the model's order
        return Result(
            loss=self.loss,
            params=grads,
            encoder=g_enc,
            decoder=g_dec,
            dlogits=dz,
            do=do,
            dh_dec_in=dh_dec_in,
            dcontext=dcontext,
            dHbar_attn=dHbar_attn,
            dHbar_rec=g_enc.dh - dHbar_attn,
            attention=att_g,
            global_norm=global_norm(grads),
        )
