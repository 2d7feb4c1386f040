"""Unrolled's NumPy engine: recurrent cells, models and traces."""

from engine.cells import GRU, LSTM, RNN
from engine.model import ModelConfig, ModelState, SequenceModel
from engine.storage import ModelFileError, load_model, save_model
from engine.tokenize import Vocabulary
from engine.trace import build_trace, step_record

__all__ = [
    "GRU",
    "LSTM",
    "RNN",
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
