"""ModelConfig: what a SequenceModel is made of (see engine/model.py for the set-ups)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

import numpy as np

from engine import encoding, heads

CELL_KINDS = ("rnn", "lstm", "gru")
SETUPS = ("many-to-many", "many-to-one", "one-to-many", "one-to-one")


@dataclass
class ModelConfig:
    cell: str = "lstm"  # "rnn" | "lstm" | "gru"
    vocab_size: int | None = None  # token inputs (ids); None when inputs are vectors
    input_size: int | None = None  # vector inputs: their size (when vocab_size is None)
    input_encoding: str = "onehot"  # token inputs: "onehot" | "embedding"
    embed_size: int | None = None  # embedding width (input_encoding="embedding")
    hidden_size: int = 16  # H
    num_layers: int = 1  # stacked layers; layer l's h is layer l+1's input
    bidirectional: bool = False  # add a reverse direction per layer; outputs [fwd, rev]
    output_size: int | None = None  # linear head size; None = vocab_size
    loss: str = "ce"  # "ce" softmax cross-entropy | "mse" summed squared error
    setup: str = "many-to-many"  # see the module docstring
    nonlinearity: str = "tanh"  # rnn only: "tanh" | "relu"
    peephole: bool = False  # lstm only: peephole connections w_ci, w_cf, w_co
    jordan: bool = False  # feed the previous output y_{t-1} into the cell (1 layer, 1 direction)
    seed: int = 0  # initialisation seed

    def __post_init__(self) -> None:
        def bad(msg: str) -> None:
            raise ValueError(f"ModelConfig: {msg}")

        for name in ("vocab_size", "input_size", "embed_size", "output_size"):
            v = getattr(self, name)
            if v is not None and (isinstance(v, bool) or not isinstance(v, int | np.integer)):
                bad(f"{name} must be an integer or None, got {v!r}")
        for name in ("hidden_size", "num_layers", "seed"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int | np.integer):
                bad(f"{name} must be an integer, got {v!r}")
        for name in ("bidirectional", "peephole", "jordan"):
            if not isinstance(getattr(self, name), bool):
                bad(f"{name} must be true or false, got {getattr(self, name)!r}")
        if self.cell not in CELL_KINDS:
            bad(f"cell must be one of {CELL_KINDS}, got {self.cell!r}")
        if self.setup not in SETUPS:
            bad(f"setup must be one of {SETUPS}, got {self.setup!r}")
        if self.loss not in heads.LOSSES:
            bad(f"loss must be one of {heads.LOSSES}, got {self.loss!r}")
        if self.vocab_size is None and self.input_size is None:
            bad("give vocab_size (token inputs) or input_size (vector inputs)")
        if self.vocab_size is not None:
            if self.vocab_size < 1:
                bad(f"vocab_size must be positive, got {self.vocab_size}")
            if self.input_encoding not in encoding.ENCODINGS:
                bad(f"input_encoding must be one of {encoding.ENCODINGS}")
            if self.input_encoding == "embedding" and not (self.embed_size or 0) > 0:
                bad("input_encoding='embedding' needs a positive embed_size")
        elif self.input_size < 1:
            bad(f"input_size must be positive, got {self.input_size}")
        if self.output_size is None:
            if self.vocab_size is None:
                bad("output_size is required with vector inputs")
            self.output_size = self.vocab_size
        if self.hidden_size < 1 or self.num_layers < 1 or self.output_size < 1:
            bad("hidden_size, num_layers and output_size must be positive")
        if self.nonlinearity not in ("tanh", "relu"):
            bad(f"nonlinearity must be 'tanh' or 'relu', got {self.nonlinearity!r}")
        if self.peephole and self.cell != "lstm":
            bad("peephole connections exist only for the lstm cell")
        if self.jordan and (self.num_layers != 1 or self.bidirectional):
            bad("jordan recurrence needs num_layers=1 and bidirectional=False")

    @property
    def encoded_size(self) -> int:
        """Size of x_t after the input encoding."""
        if self.vocab_size is None:
            return self.input_size
        return self.vocab_size if self.input_encoding == "onehot" else self.embed_size

    @property
    def num_directions(self) -> int:
        return 2 if self.bidirectional else 1

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> ModelConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ValueError(f"ModelConfig: unknown fields {unknown}")
        return cls(**d)
