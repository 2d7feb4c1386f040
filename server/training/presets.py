"""Texts a student can train on without bringing one: "hello", the nursery rhymes, and the
engine's own source code (its .py files, read from the installed package at run time, so it
works from a wheel as from a checkout), each cut to the server's `train_max_text_chars`."""

from __future__ import annotations

from importlib import resources

from engine.tasks import BUILTIN, RHYMES

# The files a student meets first (the cells, with their equations), then the rest in order.
FIRST = ("cells/rnn.py", "cells/lstm.py", "cells/gru.py", "model.py", "train.py")


def engine_files() -> list[tuple[str, str]]:
    """(path under engine/, text) of every .py file of the installed engine package."""
    root = resources.files("engine")
    found: dict[str, str] = {}
    stack = [(root, "")]
    while stack:
        folder, prefix = stack.pop()
        for item in folder.iterdir():
            if item.is_dir() and not item.name.startswith(("_", ".")):
                stack.append((item, f"{prefix}{item.name}/"))
            elif item.name.endswith(".py"):
                found[f"{prefix}{item.name}"] = item.read_text(encoding="utf-8")
    order = [p for p in FIRST if p in found] + sorted(p for p in found if p not in FIRST)
    return [(p, found[p]) for p in order]


def source_code(limit: int) -> str:
    """The engine's source, file after file (each headed by its path), cut at the last whole
    line within `limit` characters."""
    text = "".join(f"# ---- engine/{path} ----\n{body}\n" for path, body in engine_files())
    if len(text) <= limit:
        return text
    cut = text[:limit]
    return cut[: cut.rfind("\n") + 1] or cut


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit]


def presets(limit: int) -> list[dict]:
    """The presets as GET /api/train/presets answers them."""
    return [
        {
            "id": "hello",
            "name": '"hello"',
            "description": "The word hello, eight times: the smallest thing an RNN can learn.",
            "text": clip(BUILTIN["hello"].text, limit),
        },
        {
            "id": "rhymes",
            "name": "Nursery rhymes",
            "description": "Five public-domain nursery rhymes.",
            "text": clip(RHYMES, limit),
        },
        {
            "id": "source",
            "name": "This project's source code",
            "description": "Unrolled's own engine (Python), starting with the RNN, LSTM and "
            "GRU cells.",
            "text": source_code(limit),
        },
    ]
