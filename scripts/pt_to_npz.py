"""Convert a PyTorch state dict (.pt) into the .npz that POST /api/models/import takes.

    python scripts/pt_to_npz.py model.pt model.npz --vocab vocab.json [--labels labels.json]

The .pt must hold a state dict (a dict of tensors), as `torch.save(model.state_dict(), path)`
writes. It is read with `torch.load(weights_only=True)`, which refuses arbitrary pickled objects.
The output keeps PyTorch's names (weight_ih_l0, ...) and stores `vocab` (and `labels`) as
arrays of strings. Needs torch; the server itself never does.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from engine.cells.state_dict import to_numpy  # noqa: E402


def convert(state_dict: dict, vocab: list[str] | None, labels: list[str] | None) -> dict:
    arrays = {}
    for name, tensor in state_dict.items():
        value = to_numpy(tensor)
        if value.dtype.kind not in "fiu":
            continue  # e.g. BatchNorm's num_batches_tracked is fine to drop; nothing else is
        arrays[name] = value.astype(np.float64)
    if vocab is not None:
        arrays["vocab"] = np.array(vocab, dtype=str)
    if labels is not None:
        arrays["labels"] = np.array(labels, dtype=str)
    return arrays


def main(argv: list[str] | None = None) -> None:
    import torch

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("pt", type=Path, help="the .pt state dict")
    p.add_argument("out", type=Path, help="the .npz to write")
    p.add_argument("--vocab", type=Path, help="JSON array of the tokens, in id order")
    p.add_argument("--labels", type=Path, help="JSON array of class names (classifiers)")
    args = p.parse_args(argv)
    state = torch.load(args.pt, map_location="cpu", weights_only=True)
    if not isinstance(state, dict):
        raise SystemExit("the .pt file does not hold a state dict (save model.state_dict())")
    vocab = json.loads(args.vocab.read_text(encoding="utf-8")) if args.vocab else None
    labels = json.loads(args.labels.read_text(encoding="utf-8")) if args.labels else None
    arrays = convert(state, vocab, labels)
    with open(args.out, "wb") as f:
        np.savez(f, **arrays)
    print(f"wrote {args.out}: {', '.join(sorted(arrays))}")


if __name__ == "__main__":
    main()
