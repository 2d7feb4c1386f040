"""Turn a PyTorch-style state dict into the cell's float64 parameter arrays.

nn.RNN / nn.LSTM / nn.GRU name their single layer's tensors ``weight_ih_l0`` and so on; a
cell's own names drop the ``_l0``. Both spellings are accepted, as torch tensors (read through
``.detach().cpu().numpy()``, duck-typed so the engine never imports torch) or as arrays.
"""

from collections.abc import Mapping

import numpy as np

LAYER_SUFFIX = "_l0"


def to_array(value: object) -> np.ndarray:
    """A float64 copy of a torch tensor, NumPy array or nested list."""
    if hasattr(value, "detach"):  # a torch tensor, maybe on a GPU or requiring grad
        value = value.detach().cpu().numpy()
    return np.array(value, dtype=np.float64)  # np.array copies: the cell never aliases the caller


def load_params(sd: Mapping[str, object], shapes: Mapping[str, tuple[int, ...]]) -> dict:
    """Check ``sd`` against the expected ``shapes`` and return new float64 arrays.

    Raises ValueError naming the key and the expected shape on a missing, extra, duplicated or
    wrongly shaped entry.
    """
    out: dict[str, np.ndarray] = {}
    for key, value in sd.items():
        name = key[: -len(LAYER_SUFFIX)] if key.endswith(LAYER_SUFFIX) else key
        if name not in shapes:
            expected = ", ".join(f"{n} {shapes[n]}" for n in shapes)
            raise ValueError(f"unexpected key {key!r} in state dict; expected keys: {expected}")
        if name in out:
            raise ValueError(f"key {name!r} given twice (with and without {LAYER_SUFFIX!r})")
        arr = to_array(value)
        if arr.shape != tuple(shapes[name]):
            raise ValueError(
                f"wrong shape for {key!r}: got {arr.shape}, expected {tuple(shapes[name])}"
            )
        out[name] = arr
    missing = [n for n in shapes if n not in out]
    if missing:
        raise ValueError(
            "missing key(s) in state dict: "
            + ", ".join(f"{n!r} (or {n + LAYER_SUFFIX!r}) of shape {shapes[n]}" for n in missing)
        )
    return out
