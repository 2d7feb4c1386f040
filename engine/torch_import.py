"""PyTorch state dicts -> the model's flat parameter names, without importing torch.

Recurrent keys keep PyTorch's names (weight_ih_l0, weight_hh_l1, bias_ih_l0_reverse, and the
peephole vectors w_ci_l0 ...) under any module prefix ("rnn.", "lstm.", "encoder.gru.", none);
they become "rnn.<name>". "embedding.weight", "head.weight" and "head.bias" pass through.
Tensors are duck-typed: anything with .detach().cpu().numpy(), or anything np.asarray takes.
"""

from __future__ import annotations

import re

import numpy as np

# (prefix.)name_l<layer>(_reverse)
_RECURRENT = re.compile(r"^(?:.*\.)?((?:weight|bias)_(?:ih|hh)|w_c[ifo])_l(\d+)(_reverse)?$")


def to_numpy(value) -> np.ndarray:
    """A torch tensor (any device, requires_grad or not) or array-like -> float64 array."""
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    return np.array(value, dtype=np.float64)  # a copy: later edits of the source do not leak in


def normalize_state_dict(sd: dict) -> dict[str, np.ndarray]:
    """Rename keys to the model's names ("rnn.weight_ih_l0", ...) and convert values."""
    out: dict[str, np.ndarray] = {}
    for key, value in sd.items():
        m = _RECURRENT.match(key)
        name = f"rnn.{m.group(1)}_l{m.group(2)}{m.group(3) or ''}" if m else key
        if name in out:
            raise ValueError(f"state dict has two entries for {name} (last: {key!r})")
        out[name] = to_numpy(value)
    return out
