"""Model files to upload in the tests: a demo file's metadata and arrays, changed and written
back (test_model_files.py, test_model_store.py)."""

from __future__ import annotations

import io
import json

import numpy as np

from engine.storage import META_KEY
from server.core.paths import DEMO_MODELS_DIR

DEMO_IDS = {p.stem for p in DEMO_MODELS_DIR.glob("*.npz")}


def demo_file(name: str = "rnn-hello") -> tuple[dict, dict[str, np.ndarray]]:
    """A demo model file's metadata and arrays, to be changed and written back."""
    with np.load(DEMO_MODELS_DIR / f"{name}.npz", allow_pickle=False) as f:
        arrays = {k: f[k] for k in f.files}
    meta = json.loads(arrays.pop(META_KEY).tobytes())
    return meta, arrays


def model_file(meta: object, arrays: dict[str, np.ndarray]) -> bytes:
    blob = np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8)
    buf = io.BytesIO()
    np.savez(buf, **arrays, **{META_KEY: blob})
    return buf.getvalue()


def poisoned(**changes) -> bytes:
    meta, arrays = demo_file()
    meta.update(changes)
    return model_file(meta, arrays)


def upload(client, data: bytes, **form):
    return client.post("/api/models/import", files={"file": ("model.npz", data)}, data=form)


def user_models(client) -> list[dict]:
    r = client.get("/api/models")
    assert r.status_code == 200, r.text
    return [m for m in r.json() if m["source"] != "demo"]
