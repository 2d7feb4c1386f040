"""Sampling from a token language model, one model.step at a time.

    p_t = softmax(z_t / temperature),   k_{t+1} ~ p_t    (temperature 0: k_{t+1} = argmax z_t)

Seeded: the same model, prime, temperature and seed give the same tokens. ``sample`` answers
the new ids; ``sample_steps`` draws the very same ids and says what each draw looked like (the
course's one-to-many picture), one frame per generated token t = 0..n-1:

- ``input_index``: the token fed in (the prime's last token for t = 0, then the token drawn
  at t - 1: the output fed back in as the next input); None for a prime token the vocabulary
  does not know (engine.tokenize.NO_TOKEN: the model read the zero vector);
- ``h`` (``c`` for an LSTM, ``pre`` for an RNN) and ``gates``: the cell after that input, as
  engine.trace.step_record gives them;
- ``top``: the k most likely next tokens, ``{"index", "p", "p_model"}``, where ``p`` is the
  probability after the temperature (what the draw used) and ``p_model`` the model's own
  softmax(z) (temperature 1); most likely first (by p, then p_model), ties to the lower index;
- ``id``: the drawn token, with its ``p`` and ``p_model`` (it need not be in ``top``).

At temperature 0 the draw is the argmax and ``p`` is the limit of softmax(z / T) as T -> 0:
1 on the argmax (the first, in a tie), 0 elsewhere; so is a temperature so small that z / T
overflows.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from engine.heads import softmax
from engine.model import ModelState, SequenceModel
from engine.tokenize import NO_TOKEN
from engine.trace import cell_frame

TINY_TEMPERATURE = 1e-200  # below it z / T may overflow (|z| > 1e108): checked


class SamplingError(ValueError):
    """This model, prime or temperature cannot be sampled; the message says why."""


def sampling_refusal(model: SequenceModel) -> str | None:
    """Why `model` cannot generate text (None if it can): sampling feeds each output back in
    as the next input, so it needs a forward-reading token model that predicts a token per
    step over its own vocabulary."""
    cfg = model.config
    if cfg.loss != "ce" or cfg.vocab_size is None:
        return "sampling needs a token model with a softmax (cross-entropy) head"
    if cfg.setup != "many-to-many":
        return f"sampling needs a language model (many-to-many); this one is {cfg.setup}"
    if cfg.output_size != cfg.vocab_size:
        return "sampling feeds outputs back as inputs: output_size must equal vocab_size"
    if cfg.bidirectional:
        return "sampling needs a model that reads forward only (the reverse reads the future)"
    return None


def tempered(z: np.ndarray, temperature: float) -> np.ndarray | None:
    """softmax(z / temperature); None at 0 (the limit: all of the mass on the argmax), and
    for a temperature so small that z / temperature overflows (the same limit, in floats)."""
    if temperature == 0:
        return None
    if temperature > TINY_TEMPERATURE:
        return softmax((z / temperature)[None])[0]
    with np.errstate(over="ignore"):
        scaled = z / temperature
    return softmax(scaled[None])[0] if np.isfinite(scaled).all() else None


def draw(rng: np.random.Generator, p: np.ndarray) -> int:
    """One index drawn from p: the draw of rng.choice(len(p), p=p) (the same uniform number,
    the same inverse CDF), without the checks that make choice ten times slower."""
    cdf = np.cumsum(p)
    cdf /= cdf[-1]
    return int(cdf.searchsorted(rng.random(), side="right"))


def argmax_distribution(z: np.ndarray) -> np.ndarray:
    """The limit of softmax(z / T) as T -> 0: 1 on the (first) argmax, 0 elsewhere."""
    p = np.zeros(z.shape[0])
    p[int(np.argmax(z))] = 1.0
    return p


def _generate(
    model: SequenceModel,
    prime: Sequence[int],
    n: int,
    temperature: float,
    seed: int | None,
    state: ModelState | None,
    on_draw: Callable[[dict, np.ndarray | None, int], None] | None = None,
) -> tuple[list[int], ModelState]:
    """The one sampling loop: on_draw(step record, p (None: the argmax), drawn id)."""
    why = sampling_refusal(model)
    if why is not None:
        raise SamplingError(why)
    if len(prime) == 0:
        raise SamplingError("sampling needs at least one prime token")
    if not temperature >= 0:  # (NaN too)
        raise SamplingError(f"temperature must be >= 0, got {temperature}")
    rng = np.random.default_rng(seed)
    rec = None
    for k in prime:
        state, rec = model.step(int(k), state)
    out: list[int] = []
    for _ in range(n):
        z = rec["output"]
        if not np.isfinite(z).all():
            raise SamplingError("the model's outputs are not finite numbers: it cannot sample")
        p = tempered(z, temperature)
        k = int(np.argmax(z)) if p is None else draw(rng, p)
        if on_draw is not None:
            on_draw(rec, p, k)
        out.append(k)
        state, rec = model.step(k, state)
    return out, state


def sample(
    model: SequenceModel,
    prime: Sequence[int],
    n: int,
    temperature: float = 1.0,
    seed: int | None = 0,
    state: ModelState | None = None,
) -> tuple[list[int], ModelState]:
    """Feed the `prime` ids, then draw `n` more. Returns (the n new ids, the final state)."""
    return _generate(model, prime, n, temperature, seed, state)


def sample_steps(
    model: SequenceModel,
    prime: Sequence[int],
    n: int,
    temperature: float = 1.0,
    seed: int | None = 0,
    state: ModelState | None = None,
    top_k: int = 5,
    layer: int = -1,
) -> tuple[list[dict], ModelState]:
    """The same draws as `sample`, one frame per generated token (the module docstring).
    Returns (the n frames, the final state)."""
    frames: list[dict] = []
    inputs: list[int | None] = [int(prime[-1])] if len(prime) else []
    if inputs and inputs[0] == NO_TOKEN:
        inputs[0] = None

    def on_draw(rec: dict, p: np.ndarray | None, k: int) -> None:
        p_model = rec["probs"]
        p = argmax_distribution(rec["output"]) if p is None else p
        kk = max(0, min(int(top_k), p_model.shape[0]))
        # by p, then (at temperature 0, where p is one-hot) by p_model; ties to the lower index
        order = np.lexsort((-p_model, -p))[:kk]
        frame = {"t": len(frames), "input_index": inputs[-1], **cell_frame(model, rec, layer)}
        frame["top"] = [
            {"index": int(i), "p": float(p[i]), "p_model": float(p_model[i])} for i in order
        ]
        frame.update(id=k, p=float(p[k]), p_model=float(p_model[k]))
        frames.append(frame)
        inputs.append(k)

    _, state = _generate(model, prime, n, temperature, seed, state, on_draw)
    return frames, state
