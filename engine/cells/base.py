"""What every recurrent cell shares: parameters, the forward Tape and the backward entry point.

Shapes: T steps, I input size, H hidden size, G = (number of gates) * H.
A cell subclass supplies the maths (its module has the equations); this module supplies the
bookkeeping. The state is ``h`` (H,) for RNN and GRU and ``(h, c)`` for LSTM; internally it is
always a pair ``(h, c)`` with ``c = None`` when the cell has no cell state.
"""

import math
from collections.abc import Mapping

import numpy as np

from engine.cells import flow, truncated_bptt
from engine.cells.grads import Grads, SequenceGrads, StepGrads
from engine.cells.state_dict import load_params


def sigmoid(a: np.ndarray) -> np.ndarray:
    """σ(a) = ½·tanh(a/2) + ½: the logistic function without overflow for very negative a."""
    return 0.5 * np.tanh(0.5 * a) + 0.5


def project(x: np.ndarray, W: np.ndarray) -> np.ndarray:
    """x Wᵀ for every step at once: x (T, I) or (T, B, I), W (G, I) -> (T, G) or (T, B, G).

    A batch is one (T·B, I) product: NumPy runs a 3-D @ as T small ones, twice as slow here."""
    return (x.reshape(-1, x.shape[-1]) @ W.T).reshape(*x.shape[:-1], W.shape[0])


class Cell:
    """Base class: parameters named and shaped as in PyTorch, initialised as PyTorch does."""

    kind = ""
    n_gates = 1  # weight_ih has n_gates * H rows
    gate_names: tuple[str, ...] = ()  # tape.gates keys
    dgate_names: tuple[str, ...] = ()  # grads.dgates keys (the pre-activations)
    has_cell_state = False

    def __init__(self, input_size: int, hidden_size: int, seed: int | None = None):
        for label, n in (("input_size", input_size), ("hidden_size", hidden_size)):
            if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
                raise ValueError(f"{label} must be a positive integer, got {n!r}")
        self.input_size = int(input_size)
        self.hidden_size = int(hidden_size)
        # PyTorch draws every parameter from U(-1/sqrt(H), 1/sqrt(H))
        rng = np.random.default_rng(seed)
        bound = 1.0 / math.sqrt(self.hidden_size)
        self.params: dict[str, np.ndarray] = {
            name: rng.uniform(-bound, bound, size=shape)
            for name, shape in self.param_shapes().items()
        }

    def param_shapes(self) -> dict[str, tuple[int, ...]]:
        H = self.hidden_size
        G = self.n_gates * H
        return {
            "weight_ih": (G, self.input_size),
            "weight_hh": (G, H),
            "bias_ih": (G,),
            "bias_hh": (G,),
        }

    def load_state_dict(self, sd: Mapping[str, object]) -> None:
        """Overwrite the parameters from a PyTorch-style state dict.

        The values are copied into the existing arrays, so whoever holds them (a model's flat
        parameter dict, an optimiser) sees the new weights.
        """
        for name, value in load_params(sd, self.param_shapes()).items():
            self.params[name][...] = value

    batchable = False  # does forward_arrays run a batch of sequences (engine/batch.py)?

    def snapshot(self) -> dict[str, np.ndarray]:
        """A copy of the parameters, as a tape keeps them."""
        return {k: v.copy() for k, v in self.params.items()}

    def zero_state(self):
        h = np.zeros(self.hidden_size)
        return (h, np.zeros(self.hidden_size)) if self.has_cell_state else h

    def forward(self, x: np.ndarray, state=None) -> "Tape":
        """Run the whole sequence x (T, I) from ``state`` (None = zeros); record every step."""
        x = np.asarray(x, dtype=np.float64)
        if x.ndim != 2 or x.shape[0] < 1 or x.shape[1] != self.input_size:
            raise ValueError(f"x must have shape (T, {self.input_size}) with T >= 1, got {x.shape}")
        h0, c0 = self._split_state(state)
        return self._forward(np.ascontiguousarray(x), h0, c0)

    def step(self, x_t: np.ndarray, state=None) -> tuple[object, dict]:
        """One step: (new state, record with "h", gates ("c" for LSTM, "pre" for RNN))."""
        x_t = np.asarray(x_t, dtype=np.float64)
        if x_t.shape != (self.input_size,):
            raise ValueError(f"x_t must have shape ({self.input_size},), got {x_t.shape}")
        h0, c0 = self._split_state(state)
        return self._step(x_t, h0, c0)

    def _split_state(self, state) -> tuple[np.ndarray, np.ndarray | None]:
        H = self.hidden_size
        if state is None:
            return np.zeros(H), (np.zeros(H) if self.has_cell_state else None)
        if self.has_cell_state:
            if not isinstance(state, tuple | list) or len(state) != 2:
                raise ValueError("LSTM state must be a pair (h, c)")
            h, c = (np.asarray(s, dtype=np.float64) for s in state)
        else:
            h, c = np.asarray(state, dtype=np.float64), None
        for label, s in (("h", h), ("c", c)):
            if s is not None and s.shape != (H,):
                raise ValueError(f"initial state {label} must have shape ({H},), got {s.shape}")
        return h, c

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(input_size={self.input_size}, hidden_size={self.hidden_size})"
        )

    # implemented by each cell
    def _forward(self, x, h0, c0) -> "Tape":
        raise NotImplementedError

    def _step(self, x_t, h, c) -> tuple[object, dict]:
        raise NotImplementedError


class Tape:
    """The record of one forward pass: what the page shows and what backward needs.

    Public: ``x`` (T, I), ``h0``, ``c0`` (None without a cell state), ``state0``, ``h`` (T, H),
    ``c`` (T, H) (LSTM), ``gates`` (name -> (T, H)), ``pre`` (T, H) (RNN), ``final_state``. A copy
    of the parameters is kept, so changing the cell afterwards does not change this tape's
    backward pass.
    """

    def __init__(self, cell: Cell, x, h0, c0, h, c=None, gates=None, pre=None, params=None):
        self.kind = cell.kind
        self.gate_names = cell.gate_names
        self.dgate_names = cell.dgate_names
        self.hidden_size = cell.hidden_size
        # params: a copy already taken, shared by the tapes of one batch (engine/batch.py)
        self.params_shared = params is not None
        self.params = params if params is not None else cell.snapshot()
        self.x = x  # (T, I)
        self.h = h  # (T, H)
        self.c = c  # (T, H) or None
        self.gates = gates if gates is not None else {}
        self.pre = pre  # (T, H) or None
        self.h0, self.c0 = h0, c0  # (H,) the state before step 0; c0 None without a cell state

    @property
    def T(self) -> int:
        return self.x.shape[0]

    @property
    def state0(self):
        return self.h0 if self.c0 is None else (self.h0, self.c0)

    @property
    def final_state(self):
        return self.h[-1] if self.c is None else (self.h[-1], self.c[-1])

    @property
    def h_prev(self) -> np.ndarray:
        """(T, H): the state each step reads, h_{t-1} (h_{-1} = h0)."""
        return np.concatenate([self.h0[None], self.h[:-1]])

    @property
    def c_prev(self) -> np.ndarray:
        return np.concatenate([self.c0[None], self.c[:-1]])

    def backward(
        self,
        dh: np.ndarray,
        dstate=None,
        truncate: int | None = None,
        truncate_mode: str = "chunked",
        first_chunk: int | None = None,
    ) -> Grads:
        """Backpropagation through time.

        dh (T, H): dL/dh_t arriving from outside the cell (output layer, layer above).
        dstate: dL/d(final state), h_T or (h_T, c_T); it enters at the last step with dh[T-1].
        truncate=k: truncated BPTT (engine/cells/truncated_bptt.py). truncate_mode "chunked"
        (default): chunks of k steps, [0, k), [k, 2k), ..., and no gradient crosses a chunk
        boundary (first_chunk: the first chunk's length, default k). "sliding": the gradient
        entering at step t flows back through steps t, t-1, ..., t-k+1 only. In both, the
        first chunk (window) reaches the initial state; k >= T is ordinary BPTT.
        """
        T, H = self.T, self.hidden_size
        dh = np.asarray(dh, dtype=np.float64)
        if dh.shape != (T, H):
            raise ValueError(f"dh must have shape ({T}, {H}), got {dh.shape}")
        dh_T, dc_T = self.split_dstate(dstate)
        k = truncated_bptt.check(truncate, truncate_mode)
        seq = truncated_bptt.backward(self, dh, dh_T, dc_T, k, truncate_mode, first_chunk)
        return Grads(self, seq)

    def gradient_flow(
        self,
        dh: np.ndarray,
        truncate: int | None = None,
        truncate_mode: str = "chunked",
        first_chunk: int | None = None,
    ) -> np.ndarray:
        """(T, T) M[t, s] = ||dL_t/dh_s|| for s <= t (0 above the diagonal).

        L_t's gradient enters at h_t as dh[t]; for LSTM it travels through h and c, and M holds
        the norm of the h part. With truncate=k, M[t, s] = 0 where truncated BPTT (same rule as
        ``backward``) does not carry L_t's gradient back to step s.
        """
        dh = np.asarray(dh, dtype=np.float64)
        if dh.shape != (self.T, self.hidden_size):
            raise ValueError(f"dh must have shape ({self.T}, {self.hidden_size}), got {dh.shape}")
        k = truncated_bptt.check(truncate, truncate_mode)
        M = self.flow_matrix(dh)
        if k is not None:
            M[~truncated_bptt.reached(self.T, k, truncate_mode, first_chunk)] = 0.0
        return M

    def split_dstate(self, dstate) -> tuple[np.ndarray, np.ndarray | None]:
        """dstate as backward takes it (None, h_T or (h_T, c_T)) -> checked (dh_T, dc_T)."""
        H = self.hidden_size
        zero_c = np.zeros(H) if self.c is not None else None
        if dstate is None:
            return np.zeros(H), zero_c
        if self.c is not None:
            if not isinstance(dstate, tuple | list) or len(dstate) != 2:
                raise ValueError("LSTM dstate must be a pair (dh_T, dc_T)")
            dh_T, dc_T = dstate
            dh_T = np.zeros(H) if dh_T is None else np.asarray(dh_T, dtype=np.float64)
            dc_T = np.zeros(H) if dc_T is None else np.asarray(dc_T, dtype=np.float64)
        else:
            dh_T, dc_T = np.asarray(dstate, dtype=np.float64), None
        for label, d in (("dh_T", dh_T), ("dc_T", dc_T)):
            if d is not None and d.shape != (H,):
                raise ValueError(f"dstate {label} must have shape ({H},), got {d.shape}")
        return dh_T, dc_T

    def flow_matrix(self, dh: np.ndarray) -> np.ndarray:
        """The untruncated gradient_flow; a cell may have a faster one."""
        return flow.gradient_flow(self, dh)

    # implemented by each cell ------------------------------------------------------------
    def backward_sequence(self, dh, dh_T, dc_T, detach_at=()) -> SequenceGrads:
        """Whole-sequence BPTT, the fast loop. For s in `detach_at` (chunk starts) the state
        entering step s is detached: no gradient flows from step s back into step s-1."""
        raise NotImplementedError

    def step_backward(self, t: int, dh: np.ndarray, dc: np.ndarray | None) -> StepGrads:
        """BPTT through step t for a batch of incoming gradients dh, dc (k, H) at h_t, c_t."""
        raise NotImplementedError

    def diagonal_params(self) -> dict[str, tuple[int, np.ndarray]]:
        """Element-wise (peephole) parameters: name -> (gate index, multiplier (T, H))."""
        return {}
