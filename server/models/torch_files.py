"""A `.pt`/`.pth` state dict uploaded as it is (`torch.save(model.state_dict(), "model.pt")`).

Read only where torch is installed, with `torch.load(weights_only=True)` (tensors and plain
containers; any other pickled object is refused, never built), and only in torch's zip format
(the default since PyTorch 1.6): the old format declares its storage sizes inside the pickle,
so a small file could make the loader allocate anything. Without torch, the answer says how to
convert the file to an .npz elsewhere.
"""

from __future__ import annotations

import io
import pickle
import zipfile

import numpy as np

from server.core.errors import ApiError
from server.models.limits import ModelLimits

CONVERT = (
    "convert it to an .npz where PyTorch is installed (pip install torch): "
    "python scripts/pt_to_npz.py model.pt model.npz --vocab vocab.json "
    "(add --nonlinearity relu or tanh for an nn.RNN), then upload model.npz."
)
WHOLE_MODEL = (
    "The .pt file holds more than tensors (for example a whole model saved with "
    "torch.save(model)); such files are never unpickled, because unpickling can run code. "
    'Save the weights instead: torch.save(model.state_dict(), "model.pt").'
)


def is_torch_zip(data: bytes) -> bool:
    """torch.save's zip: every member sits in one folder, with its pickle at <folder>/data.pkl."""
    if not data.startswith(b"PK"):
        return False
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            return any(n.endswith("/data.pkl") or n == "data.pkl" for n in zf.namelist())
    except (zipfile.BadZipFile, OSError, EOFError):
        return False


def is_pickle(data: bytes) -> bool:
    """A raw pickle (protocol 2+), such as torch.save's pre-1.6 format or pickle.dump."""
    return data[:1] == b"\x80"


def refuse_pickle() -> ApiError:
    return ApiError(
        "The file is a Python pickle (the old torch.save format, or pickle.dump), which is "
        "never loaded. Save the state dict with a current PyTorch "
        '(torch.save(model.state_dict(), "model.pt")) and upload that, or ' + CONVERT
    )


def load_state_dict(data: bytes, limits: ModelLimits) -> dict[str, np.ndarray]:
    """A torch zip holding a state dict -> float64 arrays under the same names."""
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        unpacked = sum(i.file_size for i in zf.infolist())
    if unpacked > limits.max_unpacked_bytes:
        raise ApiError(
            f"The archive unpacks to {unpacked} bytes; at most {limits.max_unpacked_bytes}."
        )
    try:
        import torch
    except ImportError:
        raise ApiError(
            "This is a PyTorch .pt file, and this server has no PyTorch to read it: " + CONVERT
        ) from None
    try:
        state = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        raise ApiError(WHOLE_MODEL) from None
    except Exception:  # noqa: BLE001 - a damaged upload can fail anywhere inside torch.load
        raise ApiError(
            "The .pt file could not be read (it is damaged, or not written by torch.save)."
        ) from None
    if not isinstance(state, dict) or not state:
        raise ApiError(
            "The .pt file does not hold a state dict (a dict of tensors): save "
            'model.state_dict(), as torch.save(model.state_dict(), "model.pt") does.'
        )
    if not all(isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state.items()):
        raise ApiError(
            "The .pt file holds a dict whose entries are not all tensors (a training checkpoint?): "
            'save only the model\'s weights, torch.save(model.state_dict(), "model.pt").'
        )
    numbers = sum(v.numel() for v in state.values())
    if numbers > limits.max_parameters:
        raise ApiError(
            f"The file holds {numbers} numbers; this server takes at most "
            f"{limits.max_parameters} (setting import_max_parameters)."
        )
    arrays = {}
    for name, tensor in state.items():
        if tensor.is_complex() or tensor.layout != torch.strided or tensor.is_quantized:
            raise ApiError("The state dict holds a tensor that is not a plain real-valued one.")
        arrays[name] = tensor.detach().to(torch.float64).numpy()
    return arrays
