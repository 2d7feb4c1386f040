"""Jordan (output-to-hidden) recurrence: the previous output feeds the cell.

One layer, one direction. With y_t the head's output at step t (softmax probabilities for
cross-entropy, raw outputs for squared error) and y_{-1} = 0:

    u_t  = [x_t, y_{t-1}]              (I + O,)   the cell's input
    h_t  = cell(u_t, state_{t-1})
    z_t  = W h_t + b,   y_t = softmax(z_t) (ce) or z_t (mse)

The head and the cell are coupled at every step, so the forward runs one step at a time and the
backward walks from T-1 down to 0 carrying two gradients: dstate (into the cell's previous state)
and dy (into y_{t-1}, which arrives through the input part of u_t):

    dz_t = dL_t/dz_t + J_softmax(y_t)^T dy_t        dy_t = grads_{t+1}.dx[I:]
    dh_t (from outside the cell) = W^T dz_t

Once every dh_t is known, one backward over a full-sequence tape (built on the same u_t) gives
the per-step records (dh, dgates, contributions) the trace shows; those equal the step-by-step
values because the cell's backward is linear in its incoming gradients.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.heads import linear_forward, softmax, softmax_backward


@dataclass
class JordanForward:
    tape: object  # full-sequence tape over u (T, I + O)
    step_tapes: list  # T one-step tapes, chained by state
    u: np.ndarray  # (T, I + O) the cell inputs
    z: np.ndarray  # (T, O) head outputs (logits or values)
    y: np.ndarray  # (T, O) fed-back outputs (probs or values)
    final_state: object


def jordan_forward(cell, W, b, x, state, y_prev, loss: str) -> JordanForward:
    """x (T, I); state: the cell's initial state; y_prev (O,) the output before step 0."""
    T = x.shape[0]
    n_out = W.shape[0]  # O
    u = np.zeros((T, x.shape[1] + n_out))  # (T, I + O)
    z = np.zeros((T, n_out))
    y = np.zeros((T, n_out))
    step_tapes = []
    s = state
    for t in range(T):
        u[t, : x.shape[1]] = x[t]
        u[t, x.shape[1] :] = y_prev
        tape = cell.forward(u[t : t + 1], s)  # one step keeps its own cache for backward
        s = tape.final_state
        z[t] = linear_forward(tape.h[0], W, b)
        y[t] = softmax(z[t][None])[0] if loss == "ce" else z[t]
        y_prev = y[t]
        step_tapes.append(tape)
    full = cell.forward(u, state)
    return JordanForward(full, step_tapes, u, z, y, s)


def jordan_external_dh(fw: JordanForward, W, dz_loss: np.ndarray, loss: str, dfinal=None):
    """Walk back through the steps; return dh_ext (T, H), dz (T, O) including the feedback."""
    T, n_out = fw.z.shape  # O
    n_in = fw.u.shape[1] - n_out  # I
    H = W.shape[1]
    dh_ext = np.zeros((T, H))
    dz = np.zeros((T, n_out))
    dstate = dfinal
    dy = np.zeros(n_out)  # dL/dy_t arriving from step t+1's input
    for t in range(T - 1, -1, -1):
        dz[t] = dz_loss[t] + (softmax_backward(dy[None], fw.y[t][None])[0] if loss == "ce" else dy)
        dh_ext[t] = dz[t] @ W  # dL/dh_t from the head
        g = fw.step_tapes[t].backward(dh_ext[t][None], dstate=dstate)
        dstate = g.dstate
        dy = g.dx[0, n_in:]  # into y_{t-1}
    return dh_ext, dz, dy
