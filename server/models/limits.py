"""How big a model file may be, checked from what the file says before anything is allocated.

A 3 KB file may claim hidden_size 20000: building that model would allocate gigabytes before its
arrays are found not to match. So sizes are checked first, from the metadata's config and the
`.npy` headers, against the settings (`import_max_*`, docs/server.md).
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.config import ModelConfig
from server.core.errors import ApiError

GATES = {"rnn": 1, "gru": 3, "lstm": 4}  # weight blocks per cell: W_ih is (gates*H, I)


@dataclass(frozen=True)
class ModelLimits:
    """The settings' import_max_* and max_user_models* (server/core/settings.py)."""

    max_unpacked_bytes: int  # what an archive may unpack to: 4 x upload_max_bytes
    max_hidden: int
    max_layers: int
    max_parameters: int
    max_vocab: int
    max_user_models: int
    max_user_bytes: int

    @classmethod
    def from_settings(cls, s) -> ModelLimits:
        return cls(
            max_unpacked_bytes=4 * s.upload_max_bytes,
            max_hidden=s.import_max_hidden,
            max_layers=s.import_max_layers,
            max_parameters=s.import_max_parameters,
            max_vocab=s.import_max_vocab,
            max_user_models=s.max_user_models,
            max_user_bytes=s.max_user_models_mb * 1_000_000,
        )


def parameter_count(cfg: ModelConfig) -> int:
    """How many numbers SequenceModel(cfg).params holds, without building it."""
    H, dirs, G = cfg.hidden_size, cfg.num_directions, GATES[cfg.cell]
    D = H * dirs  # what the head (and the layer above) reads
    count = 0
    for layer in range(cfg.num_layers):
        if layer == 0:
            n_in = cfg.encoded_size + (cfg.output_size if cfg.jordan else 0)
        else:
            n_in = D
        per_direction = G * H * (n_in + H) + 2 * G * H + (3 * H if cfg.peephole else 0)
        count += dirs * per_direction
    if cfg.vocab_size is not None and cfg.input_encoding == "embedding":
        count += cfg.vocab_size * cfg.embed_size
    return count + cfg.output_size * (D + 1)


def check_size(cfg: ModelConfig, limits: ModelLimits) -> None:
    """Refuse a config too big to build under the limits (ApiError 422 saying which limit)."""
    if cfg.hidden_size > limits.max_hidden:
        raise ApiError(
            f"The model's hidden size is {cfg.hidden_size}; this server takes at most "
            f"{limits.max_hidden} (setting import_max_hidden)."
        )
    if cfg.num_layers > limits.max_layers:
        raise ApiError(
            f"The model has {cfg.num_layers} layers; this server takes at most "
            f"{limits.max_layers} (setting import_max_layers)."
        )
    for what, size in (("vocabulary", cfg.vocab_size), ("output layer", cfg.output_size)):
        if size is not None and size > limits.max_vocab:
            raise ApiError(
                f"The model's {what} has {size} entries; this server takes at most "
                f"{limits.max_vocab} (setting import_max_vocab)."
            )
    count = parameter_count(cfg)
    if count > limits.max_parameters:
        raise ApiError(
            f"The model would have {count} parameters; this server takes at most "
            f"{limits.max_parameters} (setting import_max_parameters)."
        )
