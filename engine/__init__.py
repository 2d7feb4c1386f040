"""Unrolled's NumPy engine: recurrent cells, models and traces."""

from engine.cells import GRU, LSTM, RNN

__all__ = ["GRU", "LSTM", "RNN"]

# --- models (helper H2): add `from engine.model import ...` exports below this line ---
from engine.model import ModelConfig, ModelState, SequenceModel  # noqa: E402
from engine.storage import ModelFileError, load_model, save_model  # noqa: E402
from engine.tokenize import Vocabulary  # noqa: E402
from engine.trace import build_trace, step_record  # noqa: E402

__all__ += [
    "ModelConfig",
    "ModelFileError",
    "ModelState",
    "SequenceModel",
    "Vocabulary",
    "build_trace",
    "load_model",
    "save_model",
    "step_record",
]
