"""Truncated BPTT: how far back through time a gradient may travel. Two rules for one k.

Shapes: T steps, H hidden size, G = (number of gates) * H.

**chunked** (the default; what the course teaches and what PyTorch training code does). The
sequence is cut into chunks of k steps, [0, k), [k, 2k), ... (the last one may be shorter). The
forward pass runs through all of them, carrying the state (h, and c for the LSTM) from one chunk
into the next; the backward pass stays inside each chunk, because the state entering a chunk is
detached: no gradient crosses a chunk boundary. In PyTorch:

    for t in range(T):
        if t > 0 and t % k == 0:
            h = h.detach()                  # and c = c.detach() for an LSTM
        h = cell(x[t], h)

Backward is the usual recursion with dh_{s-1} (and dc_{s-1}) set to zero at every chunk start
s > 0, so it costs what full BPTT costs.

**sliding**. The gradient of each loss L_t flows back exactly k steps, through t, t-1, ...,
t-k+1, as if L_t had its own graph whose state before step t-k+1 is detached. In PyTorch, one
graph per loss:

    h = h_all[t - k].detach()               # the state k steps back (h0 when t - k < 0)
    for s in range(t - k + 1, t + 1):
        h = cell(x[s], h)
    (h * dh[t]).sum().backward()

Both rules let the gradient of the first chunk (window) reach the initial state, which is what
``dstate`` then reports, and both are ordinary BPTT for k >= T.

A reverse-direction cell runs on the reversed sequence; ``first_chunk`` (the length of the first
chunk in the cell's own time, default k) puts its chunk boundaries where the forward
direction's are (see ``reverse_first_chunk``).
"""

import numpy as np

from engine.cells.grads import SequenceGrads

MODES = ("chunked", "sliding")


def check(truncate, mode: str = "chunked") -> int | None:
    """`truncate` as an int (None: no truncation), after checking it and `mode`."""
    if mode not in MODES:
        raise ValueError(f"truncate_mode must be one of {MODES}, got {mode!r}")
    if truncate is None:
        return None
    if isinstance(truncate, bool) or not isinstance(truncate, int | np.integer):
        raise ValueError(f"truncate must be a positive integer or None, got {truncate!r}")
    if truncate < 1:
        raise ValueError(f"truncate must be >= 1, got {truncate}")
    return int(truncate)


def chunks(T: int, k: int, first_chunk: int | None = None) -> list[tuple[int, int]]:
    """[start, end) of each chunk: [0, f), [f, f+k), [f+k, f+2k), ..., f = first_chunk or k."""
    f = k if first_chunk is None else first_chunk
    if not 1 <= f <= k:
        raise ValueError(f"first_chunk must be in 1..{k}, got {first_chunk}")
    starts = [0, *range(f, T, k)]
    return [(a, min(b, T)) for a, b in zip(starts, [*starts[1:], T], strict=True)]


def reverse_first_chunk(T: int, k: int) -> int:
    """first_chunk for a reverse-direction cell, whose own step s is original step T-1-s, so
    that its chunks are the forward direction's [0, k), [k, 2k), ... read backwards."""
    return (T - 1) % k + 1


def reached(T: int, k: int | None, mode: str = "chunked", first_chunk=None) -> np.ndarray:
    """(T, T) boolean R[t, s]: does L_t's gradient (entering at step t) reach h_s?"""
    t, s = np.ogrid[:T, :T]
    R = s <= t
    if k is None:
        return np.broadcast_to(R, (T, T)).copy()
    if mode == "sliding":
        return R & (t - s < k)
    chunk_of = np.empty(T, dtype=np.int64)
    for j, (a, b) in enumerate(chunks(T, k, first_chunk)):
        chunk_of[a:b] = j
    return R & (chunk_of[:, None] == chunk_of[None, :])


def backward(
    tape, dh: np.ndarray, dh_T, dc_T, k: int | None, mode: str, first_chunk: int | None = None
) -> SequenceGrads:
    """BPTT of ``tape`` under truncation rule `mode` with `k` steps (None: full BPTT)."""
    T = dh.shape[0]
    if k is None:
        return tape.backward_sequence(dh, dh_T, dc_T)
    if mode == "chunked":
        starts = [a for a, _ in chunks(T, k, first_chunk)[1:]]  # none when k >= T
        return tape.backward_sequence(dh, dh_T, dc_T, detach_at=starts)
    if k >= T:
        return tape.backward_sequence(dh, dh_T, dc_T)
    return backward_sliding(tape, dh, dh_T, dc_T, k)


def backward_sliding(tape, dh: np.ndarray, dh_T, dc_T, window: int) -> SequenceGrads:
    """Sliding truncation: the gradient entering at step t flows back through t..t-window+1.

    Backpropagation is linear in the gradient that enters, so each source can be followed on
    its own; the sources alive at a step travel together as the rows of one (window, H) matrix,
    so each step is one matrix product and the Python loop runs T times (not T·window).
    """
    T, H = dh.shape
    k = window
    lstm = dc_T is not None
    # row (t mod k) carries source t's gradient; sources t > T-1 do not exist and stay zero
    rows_h = np.zeros((k, H))
    rows_c = np.zeros((k, H)) if lstm else None
    dpre_ih = dpre_hh = None
    dh_tot = np.empty((T, H))
    dc_tot = np.empty((T, H)) if lstm else None
    for s in range(T - 1, -1, -1):
        slot = s % k
        # source s+k ran out after step s+1; source s enters in its place
        rows_h[slot] = dh[s] + (dh_T if s == T - 1 else 0.0)
        if lstm:
            rows_c[slot] = dc_T if s == T - 1 else 0.0
        dh_tot[s] = rows_h.sum(axis=0)
        step = tape.step_backward(s, rows_h, rows_c)
        rows_h, rows_c = step.dh_prev, step.dc_prev
        if dpre_ih is None:
            G = step.dpre_ih.shape[1]
            dpre_ih, dpre_hh = np.empty((T, G)), np.empty((T, G))
        dpre_ih[s] = step.dpre_ih.sum(axis=0)
        dpre_hh[s] = step.dpre_hh.sum(axis=0)
        if lstm:
            dc_tot[s] = step.dc.sum(axis=0)
    # the rows left are sources 0..k-1, exactly those whose window contains step 0
    dh0 = rows_h.sum(axis=0)
    dc0 = rows_c.sum(axis=0) if lstm else None
    return SequenceGrads(dpre_ih, dpre_hh, dh_tot, dc_tot, dh0, dc0)
