"""The projections of GET /api/models/{id}/projection: fitted once per model file and cell,
cached, serialised.

The PCA and its reference states are the engine's (engine/projection.py). A fit costs at most
``projection_max_steps`` forward steps, fewer where ``max_work`` allows fewer for the model (so
one fit never costs more than the largest trace); fits run one at a time per process, off the
event loop, and a model file that changes (its version) is fitted again.
"""

from __future__ import annotations

import threading

import numpy as np
import orjson

from engine.projection import fit_model_projection
from server.core.cache import ByteBudgetCache
from server.core.errors import ApiError
from server.core.settings import Settings
from server.models.registry import Registry
from server.tracing.request import entry_for, step_work


def check_cell(num_layers: int, bidirectional: bool, layer: int, direction: int) -> int:
    """The layer resolved to 0..L-1; a 422 ApiError for a cell the model does not have."""
    if not -num_layers <= layer < num_layers:
        raise ApiError(
            f"layer: this model has {num_layers} layer(s): use 0..{num_layers - 1}, or -1."
        )
    if direction not in (0, 1):
        raise ApiError("direction: use 0 (forward) or 1 (reverse).")
    if direction == 1 and not bidirectional:
        raise ApiError("direction: this model reads forward only; use direction 0.")
    return layer % num_layers


def _rows(a: np.ndarray) -> list:
    return [[float(v) for v in row] for row in np.atleast_2d(a)]


class ProjectionService:
    def __init__(self, settings: Settings, registry: Registry):
        self.settings = settings
        self.registry = registry
        self.cache: ByteBudgetCache[bytes] = ByteBudgetCache(
            settings.projection_cache_mb * 1024 * 1024, len
        )
        self._fit_lock = threading.Lock()

    def get(self, model_id: str, layer: int = -1, direction: int = 0) -> bytes:
        """The projection's JSON (schemas.Projection). Blocking: call it in a thread."""
        entry = entry_for(self.registry, model_id)
        cfg = entry.model.config
        layer = check_cell(cfg.num_layers, cfg.bidirectional, layer, direction)
        key = (entry.id, entry.version, layer, direction)
        body = self.cache.get(key)
        if body is not None:
            return body
        with self._fit_lock:  # one fit at a time; the students who asked with it get the cache
            body = self.cache.get(key)
            if body is None:
                body = self._fit(entry, layer, direction)
                self.cache.put(key, body)
        return body

    def _fit(self, entry, layer: int, direction: int) -> bytes:
        s = self.settings
        max_steps = min(s.projection_max_steps, int(s.max_work // step_work(entry)))
        if max_steps < 1:
            raise ApiError("This model is too large to fit a projection on this server (max_work).")
        proj, ref, points = fit_model_projection(
            entry.model,
            entry.vocab,
            layer,
            direction,
            task_name=entry.task,
            example=entry.stored.example or "",
            max_steps=max_steps,
        )
        N = len(points)
        shown = points
        if N > s.projection_points:
            idx = np.linspace(0, N - 1, s.projection_points).round().astype(int)
            shown = points[np.unique(idx)] if s.projection_points else points[:0]
        body = {
            "model": entry.id,
            "layer": layer,
            "direction": direction,
            "hidden_size": entry.model.config.hidden_size,
            "mean": [float(v) for v in proj.mean],
            "components": _rows(proj.components),
            "explained_variance": [float(v) for v in proj.explained_variance],
            "explained_variance_ratio": [float(v) for v in proj.explained_variance_ratio],
            "reference": {
                "source": ref.source,
                "description": ref.description,
                "sequences": len(ref.sequences),
                "states": proj.n,
            },
            "extent": [
                [float(points[:, j].min()), float(points[:, j].max())]
                for j in range(points.shape[1])
            ],
            "points": [[round(float(v), 6) for v in p] for p in shown],
        }
        return orjson.dumps(body)
