"""PyTorch's state-dict conventions, in one place: key names, tensors, what cannot be imported.

nn.RNN / nn.LSTM / nn.GRU name their tensors ``weight_ih_l0``, ``bias_hh_l1_reverse`` and so
on (layer, then ``_reverse`` for the second direction), under any module prefix ("rnn.",
"encoder.lstm.", none); Unrolled's peephole LSTM adds ``w_ci_l0``, ``w_cf_l0``, ``w_co_l0``. A
single cell's own names drop the ``_l0`` (``load_params``); a model's are "rnn." + PyTorch's
(``normalize_state_dict``, ``RecurrentKey.model_name``). Tensors are duck-typed
(``.detach().cpu().numpy()``, ``to_array``), so the engine never imports torch.

What a state dict leaves open, or holds that Unrolled has no place for:
- ``bias=False``: no ``bias_*`` keys at all. That is the same as zero biases, and imports so.
- the RNN's nonlinearity: nn.RNN(nonlinearity="relu") and "tanh" have the same keys and shapes,
  so whoever imports an RNN state dict must say which (engine/torch_import.py asks).
- ``proj_size`` (``weight_hr_l0``) and weight normalisation (``weight_hh_l0_g``/``_v``,
  ``parametrizations.``) are refused with a sentence saying so (``refuse_unsupported``).
"""

import re
from collections.abc import Iterable, Mapping
from typing import NamedTuple

import numpy as np

LAYER_SUFFIX = "_l0"
# (prefix.)name_l<layer>(_reverse)
RECURRENT_KEY = re.compile(r"^(?:.*\.)?((?:weight|bias)_(?:ih|hh)|w_c[ifo])_l(\d+)(_reverse)?$")
_PROJECTION_KEY = re.compile(r"(?:^|\.)weight_hr_l\d+(?:_reverse)?$")
_BIAS_KEY = re.compile(r"(?:^|\.)bias_(?:ih|hh)(?:_l\d+)?(?:_reverse)?$")
_WEIGHT_NORM_KEY = re.compile(r"(?:^|\.)(?:weight|bias)_(?:ih|hh)_l\d+(?:_reverse)?_[gv]$")


class RecurrentKey(NamedTuple):
    name: str  # "weight_ih", "bias_hh", "w_ci", ...
    layer: int
    reverse: bool

    @property
    def model_name(self) -> str:
        """The model's flat name: rnn.<name>_l<layer>[_reverse]."""
        return f"rnn.{self.name}_l{self.layer}" + ("_reverse" if self.reverse else "")


def parse_key(key: str) -> RecurrentKey | None:
    """A recurrent tensor's name, layer and direction from its key; None for other keys."""
    m = RECURRENT_KEY.match(key)
    return None if m is None else RecurrentKey(m.group(1), int(m.group(2)), bool(m.group(3)))


def refuse_unsupported(keys: Iterable[str]) -> None:
    """Raise ValueError, in a sentence, if the keys show an option Unrolled does not support."""
    keys = list(keys)
    if any(_PROJECTION_KEY.search(k) for k in keys):
        raise ValueError(
            "This LSTM was built with proj_size (its state dict has weight_hr_l0): Unrolled's "
            "LSTM has no projection of h, so it cannot be imported. Train it without proj_size."
        )
    if any(_WEIGHT_NORM_KEY.search(k) or "parametrizations." in k for k in keys):
        raise ValueError(
            "This model uses weight normalisation or another parametrization of its recurrent "
            "weights, which Unrolled cannot import: remove it before saving "
            "(torch.nn.utils.parametrize.remove_parametrizations or remove_weight_norm)."
        )


def has_biases(keys: Iterable[str]) -> bool:
    """False for a bias=False module: no recurrent bias key at all."""
    return any(_BIAS_KEY.search(k) for k in keys)


def to_numpy(value: object) -> np.ndarray:
    """A torch tensor (any device, requires_grad or not), array or list as a NumPy array, in its
    own dtype."""
    if hasattr(value, "detach"):  # a torch tensor, maybe on a GPU or requiring grad
        value = value.detach().cpu().numpy()
    return np.asarray(value)


def to_array(value: object) -> np.ndarray:
    """A float64 copy of a torch tensor, array or list (see to_numpy)."""
    return np.array(to_numpy(value), dtype=np.float64)  # a copy: nothing aliases the caller


def normalize_state_dict(sd: dict) -> dict[str, np.ndarray]:
    """A whole model's state dict -> the model's names and float64 arrays: recurrent keys
    under any prefix become "rnn.weight_ih_l0", ...; other keys ("embedding.weight",
    "head.weight", "head.bias") pass through."""
    refuse_unsupported(sd)
    out: dict[str, np.ndarray] = {}
    for key, value in sd.items():
        parsed = parse_key(key)
        name = parsed.model_name if parsed else key
        if name in out:
            raise ValueError(f"state dict has two entries for {name} (last: {key!r})")
        out[name] = to_array(value)
    return out


def load_params(sd: Mapping[str, object], shapes: Mapping[str, tuple[int, ...]]) -> dict:
    """Check ``sd`` against the expected ``shapes`` and return new float64 arrays.

    A state dict with no bias at all (bias=False) gets zero biases. Raises ValueError naming
    the key and the expected shape on a missing, extra, duplicated or wrongly shaped entry.
    """
    refuse_unsupported(sd)
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
    if not has_biases(sd):
        for name in ("bias_ih", "bias_hh"):
            out[name] = np.zeros(shapes[name])  # bias=False computes what zero biases do
    missing = [n for n in shapes if n not in out]
    if missing:
        raise ValueError(
            "missing key(s) in state dict: "
            + ", ".join(f"{n!r} (or {n + LAYER_SUFFIX!r}) of shape {shapes[n]}" for n in missing)
        )
    return out
