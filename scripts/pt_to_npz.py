"""Convert a PyTorch state dict (.pt) into the .npz that POST /api/models/import takes.

    python scripts/pt_to_npz.py model.pt model.npz --vocab vocab.json [--labels labels.json]
        [--nonlinearity tanh|relu]

Run it where PyTorch is installed (`pip install torch`); the server itself does not need torch.
The .pt must hold a state dict (a dict of tensors), as `torch.save(model.state_dict(), path)`
writes. It is read with `torch.load(weights_only=True)`, which refuses arbitrary pickled objects:
a whole model saved with `torch.save(model)` is not loaded (save its state_dict() instead).
The output keeps PyTorch's names (weight_ih_l0, ...) and stores `vocab` (and `labels`) as
arrays of strings. An nn.RNN's state dict does not say whether it used tanh or relu, so for an
RNN `--nonlinearity` is required; it is stored as a `nonlinearity` array. From Python,
`convert(model, vocab, labels)` also takes the module itself and reads its nonlinearity.
"""

from __future__ import annotations

import argparse
import json
import pickle
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from engine.cells.state_dict import parse_key, to_numpy  # noqa: E402

NONLINEARITIES = ("tanh", "relu")


class ConversionError(ValueError):
    """The input cannot be converted; the message says what to do."""


def _module_nonlinearity(module) -> str | None:
    """The nonlinearity of the nn.RNN layers inside a module (None if it has none)."""
    found = {
        getattr(m, "nonlinearity", None)
        for m in module.modules()
        if type(m).__name__ == "RNN" and hasattr(m, "nonlinearity")
    }
    if len(found) > 1:
        raise ConversionError("the model has RNN layers with different nonlinearities")
    return found.pop() if found else None


def _is_first_hh(name: str) -> bool:
    key = parse_key(name)
    return key is not None and key == ("weight_hh", 0, False)


def is_rnn_state_dict(state_dict: dict) -> bool:
    """An RNN's weight_hh_l0 is (H, H); LSTM's is (4H, H) and GRU's (3H, H)."""
    for name, value in state_dict.items():
        shape = tuple(getattr(value, "shape", ()))
        if _is_first_hh(name) and len(shape) == 2 and shape[0] == shape[1]:
            return True
    return False


def convert(
    state_dict_or_module,
    vocab: list[str] | None,
    labels: list[str] | None,
    nonlinearity: str | None = None,
) -> dict:
    """Arrays for np.savez: the float tensors (float64), vocab, labels and, for an RNN, its
    nonlinearity. Takes a state dict, or the nn.Module itself (its nonlinearity is read)."""
    state_dict = state_dict_or_module
    if hasattr(state_dict_or_module, "state_dict") and hasattr(state_dict_or_module, "modules"):
        own = _module_nonlinearity(state_dict_or_module)
        if own and nonlinearity and own != nonlinearity:
            raise ConversionError(f"the model's RNN uses {own}, not {nonlinearity}")
        nonlinearity = nonlinearity or own
        state_dict = state_dict_or_module.state_dict()
    arrays = {}
    for name, tensor in state_dict.items():
        value = to_numpy(tensor)
        if value.dtype.kind not in "fiu":
            continue  # e.g. BatchNorm's num_batches_tracked is fine to drop; nothing else is
        arrays[name] = value.astype(np.float64)
    if is_rnn_state_dict(state_dict):
        if nonlinearity not in NONLINEARITIES:
            raise ConversionError(
                "this is an nn.RNN state dict, which does not say whether the RNN used tanh or "
                "relu: add --nonlinearity tanh (PyTorch's default) or --nonlinearity relu, as "
                "its nn.RNN(..., nonlinearity=...) was built"
            )
        arrays["nonlinearity"] = np.array(nonlinearity)
    if vocab is not None:
        arrays["vocab"] = np.array(vocab, dtype=str)
    if labels is not None:
        arrays["labels"] = np.array(labels, dtype=str)
    return arrays


def load_state_dict(path: Path) -> dict:
    """torch.load(weights_only=True), with a sentence instead of a traceback when it fails."""
    try:
        import torch
    except ImportError:
        raise ConversionError(
            "this script needs PyTorch: run it where torch is installed (pip install torch)"
        ) from None
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise ConversionError(f"{path}: no such file") from None
    except pickle.UnpicklingError:
        raise ConversionError(
            f"{path} holds a whole pickled model (torch.save(model)), not a state dict; such "
            "files are not loaded, because unpickling can run code. In the code that trained "
            'it, save the weights: torch.save(model.state_dict(), "model.pt"), and convert '
            "that file (or call convert(model, vocab, labels) from Python)"
        ) from None
    except Exception as e:  # noqa: BLE001 - torch's own errors on a file it cannot read
        raise ConversionError(f"{path} could not be read by torch.load ({e})") from None
    if not isinstance(state, dict) or not all(hasattr(v, "detach") for v in state.values()):
        raise ConversionError(
            f"{path} does not hold a state dict (a dict of tensors): save model.state_dict(); "
            'for a training checkpoint, torch.save(checkpoint["model_state_dict"], "model.pt")'
        )
    return state


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("pt", type=Path, help="the .pt state dict")
    p.add_argument("out", type=Path, help="the .npz to write")
    p.add_argument("--vocab", type=Path, help="JSON array of the tokens, in id order")
    p.add_argument("--labels", type=Path, help="JSON array of class names (classifiers)")
    p.add_argument(
        "--nonlinearity",
        choices=NONLINEARITIES,
        help="the nonlinearity of an nn.RNN (required for RNN state dicts)",
    )
    args = p.parse_args(argv)
    try:
        state = load_state_dict(args.pt)
        vocab = json.loads(args.vocab.read_text(encoding="utf-8")) if args.vocab else None
        labels = json.loads(args.labels.read_text(encoding="utf-8")) if args.labels else None
        arrays = convert(state, vocab, labels, args.nonlinearity)
    except (ConversionError, OSError, json.JSONDecodeError) as e:
        raise SystemExit(f"pt_to_npz: {e}") from None
    with open(args.out, "wb") as f:
        np.savez(f, **arrays)
    print(f"wrote {args.out}: {', '.join(sorted(arrays))}")


if __name__ == "__main__":
    main()
