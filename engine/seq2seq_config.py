"""Seq2SeqConfig: what an encoder–decoder (engine/seq2seq.py) is made of."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

import numpy as np

from engine import attention, encoding

CELL_KINDS = ("rnn", "lstm", "gru")
BOS, EOS = "<bos>", "<eos>"  # the target vocabulary's start and end tokens


@dataclass
class Seq2SeqConfig:
    cell: str = "gru"  # "rnn" | "lstm" | "gru": the encoder's and the decoder's
    src_vocab_size: int = 2  # V_s: source tokens
    tgt_vocab_size: int = 3  # V_t: target tokens, <bos> and <eos> among them
    bos_id: int = 0  # the target id the decoder reads first
    eos_id: int = 1  # the target id that ends a decoded sequence
    hidden_size: int = 16  # H, both cells
    input_encoding: str = "onehot"  # "onehot" | "embedding" (src_ and tgt_embedding)
    embed_size: int | None = None  # E, with input_encoding="embedding"
    attention: str | None = None  # None | "general" | "dot" (Luong, no input feeding)
    nonlinearity: str = "tanh"  # rnn only: "tanh" | "relu"
    seed: int = 0  # initialisation seed

    def __post_init__(self) -> None:
        def bad(msg: str) -> None:
            raise ValueError(f"Seq2SeqConfig: {msg}")

        for name in ("src_vocab_size", "tgt_vocab_size", "bos_id", "eos_id", "hidden_size"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int | np.integer):
                bad(f"{name} must be an integer, got {v!r}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int | np.integer):
            bad(f"seed must be an integer, got {self.seed!r}")
        if self.cell not in CELL_KINDS:
            bad(f"cell must be one of {CELL_KINDS}, got {self.cell!r}")
        if self.src_vocab_size < 1 or self.hidden_size < 1:
            bad("src_vocab_size and hidden_size must be positive")
        if self.tgt_vocab_size < 2:
            bad("tgt_vocab_size must be at least 2 (<bos> and <eos>)")
        for name in ("bos_id", "eos_id"):
            if not 0 <= getattr(self, name) < self.tgt_vocab_size:
                bad(f"{name} must be a target id in [0, {self.tgt_vocab_size})")
        if self.bos_id == self.eos_id:
            bad("bos_id and eos_id must differ")
        if self.input_encoding not in encoding.ENCODINGS:
            bad(f"input_encoding must be one of {encoding.ENCODINGS}")
        if self.input_encoding == "embedding":
            if isinstance(self.embed_size, bool) or not isinstance(self.embed_size, int):
                bad("embedding inputs need an integer embed_size")
            if self.embed_size < 1:
                bad("embed_size must be positive")
        elif self.embed_size is not None:
            bad("embed_size applies to input_encoding='embedding' only")
        if self.attention is not None and self.attention not in attention.SCORES:
            bad(f"attention must be None or one of {attention.SCORES}, got {self.attention!r}")
        if self.nonlinearity not in ("tanh", "relu"):
            bad(f"nonlinearity must be 'tanh' or 'relu', got {self.nonlinearity!r}")
        if self.nonlinearity != "tanh" and self.cell != "rnn":
            bad("nonlinearity applies to the rnn cell only")

    def input_sizes(self) -> tuple[int, int]:
        """(encoder input size, decoder input size)."""
        if self.input_encoding == "embedding":
            return self.embed_size, self.embed_size
        return self.src_vocab_size, self.tgt_vocab_size

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> Seq2SeqConfig:
        if not isinstance(d, dict):
            raise ValueError("Seq2SeqConfig: the config must be a JSON object")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ValueError(f"Seq2SeqConfig: unknown fields {unknown}")
        return cls(**d)
