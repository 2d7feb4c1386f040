"""PyTorch state dicts -> Unrolled models, without importing torch.

The key names, tensors and refused options are engine/cells/state_dict.py's. Here:

- ``recurrent_layout(sd)``: what the recurrent tensors say about the network (cell, sizes,
  layers, directions, biases, peepholes), or a sentence saying why they cannot be imported.
- ``model_from_state_dict(sd, nonlinearity=...)``: a whole SequenceModel. For an nn.RNN's state
  dict ``nonlinearity`` ("tanh" or "relu") is required: the state dict does not record it, and
  guessing tanh for a ReLU network would give wrong numbers. The model carries the choice
  (``model.config.nonlinearity``). LSTM and GRU state dicts take no nonlinearity.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from engine.cells.state_dict import (
    has_biases,
    normalize_state_dict,
    parse_key,
    refuse_unsupported,
    to_numpy,
)
from engine.config import ModelConfig
from engine.model import SequenceModel

GATES_TO_CELL = {1: "rnn", 3: "gru", 4: "lstm"}  # weight_hh has gates * H rows
NONLINEARITIES = ("tanh", "relu")


class RecurrentLayout(NamedTuple):
    cell: str  # "rnn" | "lstm" | "gru"
    input_size: int  # what weight_ih_l0 reads: the vocabulary (one-hot), an embedding or vectors
    hidden_size: int
    num_layers: int
    bidirectional: bool
    bias: bool  # False: bias=False, imported as zero biases
    peephole: bool  # Unrolled's peephole LSTM (w_ci_l0, ...)


def recurrent_layout(sd: dict) -> RecurrentLayout:
    """The recurrent network a state dict describes, from its keys and shapes."""
    refuse_unsupported(sd)
    found = {p: np.shape(to_numpy(v)) for k, v in sd.items() if (p := parse_key(k))}
    shape = {(p.name, p.layer, p.reverse): s for p, s in found.items()}
    hh, ih = shape.get(("weight_hh", 0, False)), shape.get(("weight_ih", 0, False))
    if hh is None or ih is None:
        raise ValueError(
            "No recurrent weights: the state dict needs weight_ih_l0 and weight_hh_l0 (the names "
            "nn.RNN, nn.LSTM and nn.GRU give them)."
        )
    if len(hh) != 2 or len(ih) != 2 or hh[1] < 1 or hh[0] % hh[1]:
        raise ValueError(f"weight_hh_l0 has shape {hh}; a recurrent layer's is (gates*H, H).")
    H = hh[1]
    cell = GATES_TO_CELL.get(hh[0] // H)
    if cell is None:
        raise ValueError(
            f"weight_hh_l0 has {hh[0] // H}*H rows: not an RNN (1), GRU (3) or LSTM (4)."
        )
    return RecurrentLayout(
        cell=cell,
        input_size=ih[1],
        hidden_size=H,
        num_layers=1 + max(p.layer for p in found),
        bidirectional=any(p.reverse for p in found),
        bias=has_biases(sd),
        peephole=any(p.name.startswith("w_c") for p in found),
    )


def model_from_state_dict(
    sd: dict,
    *,
    nonlinearity: str | None = None,
    vocab_size: int | None = None,
    output_size: int | None = None,
    setup: str = "many-to-many",
    loss: str = "ce",
    seed: int = 0,
) -> SequenceModel:
    """A SequenceModel holding a PyTorch state dict's weights.

    Inputs: "embedding.weight" (V, E) makes token inputs through an embedding; otherwise
    `vocab_size` gives one-hot token inputs (weight_ih_l0 must read V inputs), and without it
    the inputs are vectors of weight_ih_l0's width. The head is "head.weight"/"head.bias" if
    present (its size is the output size), else a fresh one of `output_size` (default V).
    nonlinearity: required ("tanh" | "relu") for an nn.RNN's state dict, None otherwise.
    """
    layout = recurrent_layout(sd)
    if layout.cell == "rnn":
        if nonlinearity not in NONLINEARITIES:
            raise ValueError(
                "An nn.RNN state dict does not say which nonlinearity the network was trained "
                f"with: choose nonlinearity='tanh' or 'relu' (got {nonlinearity!r})."
            )
    elif nonlinearity is not None:
        raise ValueError(
            f"nonlinearity is a choice for RNN state dicts; this one is an {layout.cell.upper()}'s."
        )
    weights = normalize_state_dict(sd)
    E, head = weights.get("embedding.weight"), weights.get("head.weight")
    inputs: dict = {"vocab_size": vocab_size}
    if E is not None:
        if E.ndim != 2 or E.shape[1] != layout.input_size:
            raise ValueError(
                f"embedding.weight has shape {E.shape}; weight_ih_l0 reads {layout.input_size}."
            )
        if vocab_size is not None and E.shape[0] != vocab_size:
            raise ValueError(f"embedding.weight has {E.shape[0]} rows, not {vocab_size} (vocab).")
        inputs = {"vocab_size": E.shape[0], "input_encoding": "embedding", "embed_size": E.shape[1]}
    elif vocab_size is None:
        inputs = {"vocab_size": None, "input_size": layout.input_size}
    elif vocab_size != layout.input_size:
        raise ValueError(
            f"weight_ih_l0 reads {layout.input_size} inputs, not the {vocab_size} of a one-hot "
            "vocabulary (add embedding.weight for an embedding)."
        )
    if head is not None:
        output_size = head.shape[0]
    cfg = ModelConfig(
        cell=layout.cell,
        hidden_size=layout.hidden_size,
        num_layers=layout.num_layers,
        bidirectional=layout.bidirectional,
        peephole=layout.peephole,
        nonlinearity=nonlinearity or "tanh",
        output_size=output_size,
        setup=setup,
        loss=loss,
        seed=seed,
        **inputs,
    )
    model = SequenceModel(cfg)
    if head is None:  # a fresh head; every other array must be in the state dict
        weights.update({k: model.params[k] for k in ("head.weight", "head.bias")})
    model.load_state_dict(weights)
    return model
