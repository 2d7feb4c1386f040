"""Sampling from a token language model, one model.step at a time.

    p_t = softmax(z_t / temperature),   k_{t+1} ~ p_t    (temperature 0: k_{t+1} = argmax z_t)

Seeded: the same model, prime, temperature and seed give the same tokens.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from engine.heads import softmax
from engine.model import ModelState, SequenceModel


def sample(
    model: SequenceModel,
    prime: Sequence[int],
    n: int,
    temperature: float = 1.0,
    seed: int | None = 0,
    state: ModelState | None = None,
) -> tuple[list[int], ModelState]:
    """Feed the `prime` ids, then draw `n` more. Returns (the n new ids, the final state)."""
    cfg = model.config
    if cfg.loss != "ce" or cfg.vocab_size is None:
        raise ValueError("sampling needs a token model with a softmax (cross-entropy) head")
    if cfg.output_size != cfg.vocab_size:
        raise ValueError("sampling feeds outputs back as inputs: output_size must equal vocab_size")
    if len(prime) == 0:
        raise ValueError("sampling needs at least one prime token")
    if temperature < 0:
        raise ValueError(f"temperature must be >= 0, got {temperature}")
    rng = np.random.default_rng(seed)
    rec = None
    for k in prime:
        state, rec = model.step(int(k), state)
    out: list[int] = []
    for _ in range(n):
        z = rec["output"]
        if temperature == 0:
            k = int(np.argmax(z))
        else:
            p = softmax((z / temperature)[None])[0]
            k = int(rng.choice(len(p), p=p))
        out.append(k)
        state, rec = model.step(k, state)
    return out, state
