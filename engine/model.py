"""SequenceModel: encoding -> stacked (bi)directional cells -> linear head -> loss.

Shapes: T input steps, T_out output steps, I encoded input size, H hidden size,
D = H or 2H (bidirectional), O output size, V vocabulary size.

Set-ups (which steps feed the head):
- many-to-many: every step, T_out = T.
- many-to-one: the last step only, T_out = 1. For a bidirectional model this is PyTorch's
  ``out[:, -1]``: [h^f_{T-1}, h^r_{T-1}], where the reverse half has read only x_{T-1}
  (not ``h_n``, whose reverse half has read the whole sequence).
- one-to-many: one input at step 0, then zero vectors (in the cell's input space, i.e. after
  the one-hot/embedding) for ``steps`` steps in all; every step has an output.
- one-to-one: T = 1, one output.

Gradients: full BPTT from the loss through the head, every layer and direction, down to the
embedding. ``run.backward(..., truncate=k)`` is truncated BPTT in chunks of k steps (no gradient
crosses a chunk boundary, in any layer or direction; engine/layers.py), or with
``truncate_mode="sliding"`` each loss's gradient flows back k steps (one layer only);
``clip=c`` rescales all parameter gradients by one factor as torch.nn.utils.clip_grad_norm_
does (engine/optim.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from engine import encoding, heads, jordan, layers
from engine.cells import GRU, LSTM, RNN
from engine.cells.state_dict import RecurrentKey, has_biases, normalize_state_dict, parse_key
from engine.config import CELL_KINDS, SETUPS, ModelConfig  # noqa: F401  (re-exported)
from engine.optim import clip_by_global_norm, global_norm


@dataclass
class ModelState:
    """The recurrent state between calls: cells[layer][direction] is a cell state
    (h, or (h, c) for the LSTM); y is the previous output for a Jordan model."""

    cells: list[list]
    y: np.ndarray | None = None

    def __getitem__(self, layer: int) -> list:
        return self.cells[layer]


CELL_CLASSES = {"rnn": RNN, "lstm": LSTM, "gru": GRU}


def param_name(name: str, layer: int, direction: int) -> str:
    """Cell parameter name -> the model's flat PyTorch-style name, e.g. rnn.weight_hh_l1_reverse."""
    return RecurrentKey(name, layer, bool(direction)).model_name


class SequenceModel:
    def __init__(self, config: ModelConfig):
        self.config = cfg = config
        seeds = np.random.SeedSequence(cfg.seed).generate_state(cfg.num_layers * 2 + 2)
        kind = CELL_CLASSES[cfg.cell]
        extra = {"nonlinearity": cfg.nonlinearity} if cfg.cell == "rnn" else {}
        if cfg.cell == "lstm":
            extra["peephole"] = cfg.peephole
        self.cells: list[list] = []
        for li in range(cfg.num_layers):
            if li == 0:
                in_size = cfg.encoded_size + (cfg.output_size if cfg.jordan else 0)
            else:
                in_size = cfg.hidden_size * cfg.num_directions
            self.cells.append(
                [
                    kind(in_size, cfg.hidden_size, seed=int(seeds[2 * li + d]), **extra)
                    for d in range(cfg.num_directions)
                ]
            )
        rng = np.random.default_rng(int(seeds[-1]))
        self.params: dict[str, np.ndarray] = {}
        if cfg.vocab_size is not None and cfg.input_encoding == "embedding":
            # nn.Embedding's initialisation: N(0, 1)
            self.params["embedding.weight"] = rng.standard_normal((cfg.vocab_size, cfg.embed_size))
        for li, layer in enumerate(self.cells):
            for d, cell in enumerate(layer):
                for name, arr in cell.params.items():
                    # the same array object: updates through either dict are seen by both
                    self.params[param_name(name, li, d)] = arr
        D = cfg.hidden_size * cfg.num_directions
        k = 1.0 / np.sqrt(D)  # nn.Linear's initialisation: U(-1/sqrt(D), 1/sqrt(D))
        self.params["head.weight"] = rng.uniform(-k, k, (cfg.output_size, D))
        self.params["head.bias"] = rng.uniform(-k, k, cfg.output_size)

    # -- parameters -----------------------------------------------------------------------

    def load_state_dict(self, sd: dict, strict: bool = True) -> None:
        """Copy arrays in (in place). Recurrent keys use PyTorch names (weight_ih_l0,
        bias_hh_l1_reverse, ...) with any module prefix ("rnn.", "lstm.", none); the head is
        "head.weight"/"head.bias", the embedding "embedding.weight". A state dict without any
        recurrent bias (bias=False) sets them to zero. See engine/torch_import.py."""
        sd = normalize_state_dict(sd)
        if not has_biases(sd):
            for name, p in self.params.items():
                if (key := parse_key(name)) and key.name.startswith("bias_"):
                    sd[name] = np.zeros_like(p)
        unknown = sorted(set(sd) - set(self.params))
        missing = sorted(set(self.params) - set(sd))
        if strict and (unknown or missing):
            raise ValueError(f"state dict mismatch: unexpected {unknown}, missing {missing}")
        for name, value in sd.items():
            if name not in self.params:
                continue
            if value.shape != self.params[name].shape:
                raise ValueError(
                    f"{name}: shape {value.shape} does not match {self.params[name].shape}"
                )
        for name, value in sd.items():
            if name in self.params:
                self.params[name][...] = value

    def state_dict(self) -> dict[str, np.ndarray]:
        return {k: v.copy() for k, v in self.params.items()}

    def zero_state(self) -> ModelState:
        y = np.zeros(self.config.output_size) if self.config.jordan else None
        return ModelState([[c.zero_state() for c in layer] for layer in self.cells], y)

    def _as_state(self, state) -> ModelState:
        """None, a ModelState or a [layer][direction] list -> a checked ModelState."""
        cfg = self.config
        if state is None:
            return self.zero_state()
        cells, y = (state.cells, state.y) if isinstance(state, ModelState) else (state, None)
        cells = [list(layer) for layer in cells]
        if len(cells) != cfg.num_layers or any(len(d) != cfg.num_directions for d in cells):
            raise ValueError(
                f"state must hold {cfg.num_layers} layer(s) x {cfg.num_directions} direction(s)"
            )
        if cfg.jordan and y is None:
            y = np.zeros(cfg.output_size)  # y_{-1} = 0
        return ModelState(cells, y)

    # -- forward --------------------------------------------------------------------------

    def encode(self, inputs) -> tuple[np.ndarray | None, np.ndarray]:
        """Inputs -> (ids or None, x (T, I))."""
        cfg = self.config
        if cfg.vocab_size is None:
            return None, encoding.as_vectors(inputs, cfg.input_size)
        ids = encoding.as_ids(np.atleast_1d(np.asarray(inputs)), cfg.vocab_size)
        if cfg.input_encoding == "onehot":
            return ids, encoding.onehot_forward(ids, cfg.vocab_size)
        return ids, encoding.embedding_forward(ids, self.params["embedding.weight"])

    def output_steps(self, T: int) -> np.ndarray:
        """Indices of the steps whose top output feeds the head."""
        if self.config.setup in ("many-to-one", "one-to-one"):
            return np.array([T - 1])
        return np.arange(T)

    def inputs(self, inputs, steps: int | None = None) -> tuple[np.ndarray | None, np.ndarray]:
        """Inputs -> (ids or None, x (T, I)) as the cells read them, after checking the set-up:
        one-to-many's one input is followed by zero vectors up to `steps` steps."""
        cfg = self.config
        ids, x = self.encode(inputs)
        if cfg.setup == "one-to-many":
            if x.shape[0] != 1:
                raise ValueError(f"one-to-many takes one input, got {x.shape[0]}")
            if steps is None or steps < 1:
                raise ValueError("one-to-many needs steps >= 1 (the number of outputs)")
            x = np.concatenate([x, np.zeros((steps - 1, x.shape[1]))])  # zero inputs after t=0
        elif steps is not None and steps != x.shape[0]:
            raise ValueError(f"steps={steps} applies to one-to-many only")
        if cfg.setup == "one-to-one" and x.shape[0] != 1:
            raise ValueError(f"one-to-one takes exactly one input, got {x.shape[0]}")
        if x.shape[0] < 1:
            raise ValueError("empty input sequence")
        return ids, x

    def forward(self, inputs, state=None, steps: int | None = None) -> Run:
        cfg = self.config
        ids, x = self.inputs(inputs, steps)
        state = self._as_state(state)
        run = Run(self, ids, x, self.output_steps(x.shape[0]), state)
        if cfg.jordan:
            W, b = self.params["head.weight"], self.params["head.bias"]
            fw = jordan.jordan_forward(
                self.cells[0][0], W, b, x, state.cells[0][0], state.y, cfg.loss
            )
            run.jordan = fw
            run.tapes = [[fw.tape]]
            run.top = fw.tape.h
            run.outputs = fw.z[run.out_idx]
            run.final_state = ModelState([[fw.final_state]], fw.y[-1].copy())
            run.probs = heads.softmax(run.outputs) if cfg.loss == "ce" else None
        else:
            tapes, top, _ = layers.stack_forward(self.cells, x, state.cells)
            self.finish(run, tapes, top)
        return run

    def finish(self, run: Run, tapes: list[list], top: np.ndarray) -> None:
        """A (non-Jordan) run after its cells: the tapes, the top output (T, D), the head's
        outputs (T_out, O), the final state and (ce) the probabilities."""
        W, b = self.params["head.weight"], self.params["head.bias"]
        run.tapes, run.top = tapes, top
        run.outputs = heads.linear_forward(top[run.out_idx], W, b)  # (T_out, O)
        run.final_state = ModelState([[t.final_state for t in layer] for layer in tapes])
        run.probs = heads.softmax(run.outputs) if self.config.loss == "ce" else None

    def step(self, token_or_vector, state=None) -> tuple[ModelState, dict]:
        """One more step on `state` (live typing). Returns (new state, record) where record has
        "layers" [layer][0] -> the cell's step record, "output" (O,) and "probs" (O,) for ce."""
        cfg = self.config
        if cfg.bidirectional:
            raise ValueError(
                "step() needs a unidirectional model: the reverse direction reads the future"
            )
        state = self._as_state(state)
        _, x = self.encode(
            np.asarray(token_or_vector)[None] if cfg.vocab_size is None else token_or_vector
        )
        if x.shape[0] != 1:
            raise ValueError(f"step() takes one token or one vector, got {x.shape[0]}")
        u = x[0]
        if cfg.jordan:
            u = np.concatenate([u, state.y])
        new_cells, recs = [], []
        for li, layer in enumerate(self.cells):
            s, rec = layer[0].step(u, state.cells[li][0])
            new_cells.append([s])
            recs.append([rec])
            u = rec["h"]
        y = heads.linear_forward(u[None], self.params["head.weight"], self.params["head.bias"])[0]
        out = {"layers": recs, "output": y}
        if cfg.loss == "ce":
            out["probs"] = heads.softmax(y[None])[0]
        feedback = (out["probs"] if cfg.loss == "ce" else y).copy() if cfg.jordan else None
        return ModelState(new_cells, feedback), out


@dataclass
class Result:
    losses: np.ndarray  # (T_out,)
    loss: float  # sum of losses
    params: dict[str, np.ndarray]  # same keys as model.params (clipped if clip was given)
    cells: list[list]  # [layer][direction] -> cell Grads (per-step records, unclipped)
    dh_in: list[list]  # [layer][direction] -> (T, H) gradient entering h from outside the cell
    dx: np.ndarray  # (T, I) gradient w.r.t. the encoded inputs
    dstate: ModelState  # gradient w.r.t. the initial state
    doutputs: np.ndarray  # (T_out, O) dL/d(head outputs) from the loss
    global_norm: float  # of all parameter gradients, before clipping
    clipped: bool
    clip_scale: float = 1.0  # factor applied to the parameter gradients by clipping


@dataclass
class Run:
    model: SequenceModel
    ids: np.ndarray | None  # (T,) token ids, None for vector inputs
    x: np.ndarray  # (T, I) encoded inputs (one-to-many: padded with zeros)
    out_idx: np.ndarray  # steps that feed the head
    initial_state: ModelState
    tapes: list[list] = field(default_factory=list)
    top: np.ndarray | None = None  # (T, D)
    outputs: np.ndarray | None = None  # (T_out, O) logits or values
    probs: np.ndarray | None = None  # (T_out, O) for ce
    final_state: ModelState | None = None
    jordan: jordan.JordanForward | None = None

    def backward(
        self,
        targets,
        truncate: int | None = None,
        clip: float | None = None,
        dfinal=None,
        truncate_mode: str = "chunked",
    ) -> Result:
        """targets: (T_out,) ints for ce (-1 = no loss), (T_out, O) floats for mse (NaN row =
        no loss). dfinal: optional gradient arriving at the final state ([layer][direction]).
        truncate=k: truncated BPTT, in chunks of k steps (truncate_mode "chunked", the
        default) or a sliding window of k steps per loss ("sliding", one layer only)."""
        model, cfg = self.model, self.model.config
        if cfg.loss == "ce":
            targets = np.asarray(targets, dtype=np.int64).reshape(-1)
        losses = heads.loss_forward(cfg.loss, self.outputs, targets)
        dz = heads.loss_backward(cfg.loss, self.outputs, targets)  # (T_out, O)
        W = model.params["head.weight"]
        T = self.x.shape[0]
        grads: dict[str, np.ndarray] = {}
        if cfg.jordan:
            if truncate is not None:
                raise ValueError("truncate is not supported with jordan recurrence")
            dz_all = np.zeros((T, W.shape[0]))
            dz_all[self.out_idx] = dz
            df = None if dfinal is None else dfinal[0][0]
            dh_ext, dz_tot, dy0 = jordan.jordan_external_dh(self.jordan, W, dz_all, cfg.loss, df)
            g = self.tapes[0][0].backward(dh_ext, dstate=df)
            sg = layers.StackGrads([[g]], [[dh_ext]], g.dx[:, : self.x.shape[1]], [[g.dstate]])
            grads["head.weight"] = dz_tot.T @ self.top
            grads["head.bias"] = dz_tot.sum(axis=0)
            dstate = ModelState(sg.dstate, dy0)
        else:
            dtop = np.zeros_like(self.top)  # (T, D)
            dtop_out, grads["head.weight"], grads["head.bias"] = heads.linear_backward(
                dz, self.top[self.out_idx], W
            )
            dtop[self.out_idx] = dtop_out
            sg = layers.stack_backward(self.tapes, dtop, truncate, dfinal, truncate_mode)
            dstate = ModelState(sg.dstate)
        for li, layer in enumerate(sg.cells):
            for d, g in enumerate(layer):
                for name, arr in g.params.items():
                    grads[param_name(name, li, d)] = arr.copy()
        if "embedding.weight" in model.params:
            # one-to-many: only step 0 reads an embedding; the later inputs are constant zeros
            dx_read = sg.dx[: len(self.ids)]  # (len(ids), E)
            dE = encoding.embedding_backward(dx_read, self.ids, cfg.vocab_size)
            grads["embedding.weight"] = dE
        grads = {k: grads[k] for k in model.params}  # same order as model.params
        norm, clipped, scale = _global_clip(grads, clip)
        return Result(
            losses=losses,
            loss=float(losses.sum()),
            params=grads,
            cells=sg.cells,
            dh_in=sg.dh_in,
            dx=sg.dx,
            dstate=dstate,
            doutputs=dz,
            global_norm=norm,
            clipped=clipped,
            clip_scale=scale,
        )


def _global_clip(grads: dict, clip: float | None) -> tuple[float, bool, float]:
    if clip is None:
        return global_norm(grads), False, 1.0
    return clip_by_global_norm(grads, clip)
