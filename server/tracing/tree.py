"""The tree network's trace: a sentence (bracketed, or plain and read right-branching) parsed
once, then engine/tree.py forward and backward through structure, as plain JSON
(docs/contracts.md section 11). Words the vocabulary does not know follow the sequence models'
rule (normalisation, then <unk> or the zero vector), and the trace says which."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from engine.tree_parse import Node, bracketed, parse
from server.core import limits
from server.core.errors import ApiError
from server.core.responses import dumps
from server.core.schemas import TreeTraceRequest
from server.core.settings import Settings
from server.models.registry import Entry, Registry
from server.tracing.request import entry_for
from server.tracing.values import norm, top_predictions, vec


@dataclass
class PreparedTree:
    entry: Entry | None
    request: TreeTraceRequest
    nodes: list[Node]
    default_tree: bool  # the text had no brackets: read right-branching
    label: int | None
    key: tuple

    def without_entry(self) -> PreparedTree:
        return replace(self, entry=None)

    def with_entry(self, registry: Registry) -> PreparedTree:
        entry = registry.get(self.key[0])
        if entry is None or entry.version != self.key[1]:
            raise ApiError("The model changed or was removed meanwhile; trace it again.", 409)
        return replace(self, entry=entry)


def prepare(req: TreeTraceRequest, registry: Registry, s: Settings) -> PreparedTree:
    limits.check(req, s)
    entry = entry_for(registry, req.model, "tree")
    try:
        nodes = parse(req.text)
    except ValueError as e:
        raise ApiError(f"text: {e}.") from None
    words = sum(1 for n in nodes if n.word is not None)
    if words > s.max_tokens:
        raise ApiError(f"text has {words} words; at most {s.max_tokens} are allowed.")
    labels = entry.labels
    label = None
    if req.label is not None:
        if isinstance(req.label, int):
            if not 0 <= req.label < len(labels):
                raise ApiError(f"label: use 0..{len(labels) - 1} or one of {labels}.")
            label = req.label
        elif req.label in labels:
            label = labels.index(req.label)
        else:
            raise ApiError(f"label: this model's classes are {labels}.")
    plain = "(" not in req.text and ")" not in req.text
    return PreparedTree(entry, req, nodes, plain, label, (entry.id, entry.version))


def trace(p: PreparedTree) -> bytes:
    return dumps(trace_body(p))


def trace_body(p: PreparedTree) -> dict:
    entry, model = p.entry, p.entry.model
    labels = entry.labels
    words = [n.word for n in p.nodes if n.word is not None]
    encoded = entry.vocab.lookup(words)
    run = model.forward(p.nodes, encoded.ids)
    predicted_root = int(np.argmax(run.probs[-1]))
    label = predicted_root if p.label is None else p.label
    res = run.backward(run.targets_root(label))
    depth = [0] * len(p.nodes)
    for n in range(len(p.nodes) - 1, -1, -1):  # parents first
        for c in p.nodes[n].children:
            depth[c] = depth[n] + 1
    nodes = []
    for n, node in enumerate(p.nodes):
        chosen = int(np.argmax(run.probs[n]))
        item = {
            "id": n,
            "word": node.word,
            "children": list(node.children),
            "span": list(node.span),
            "depth": depth[n],
            "phrase": " ".join(words[node.span[0] : node.span[1]]),
            "h": vec(run.h[n]),
            "probs": vec(run.probs[n]),
            "top": top_predictions(run.probs[n], labels, len(labels)),
            "predicted": chosen,
            "predicted_label": labels[chosen],
            "target": label if n == len(p.nodes) - 1 else None,
            "loss": float(res.losses[n]) if n == len(p.nodes) - 1 else None,
        }
        if node.word is not None:
            w = node.span[0]
            item.update(
                unknown=bool(encoded.unknown[w]),
                seen_as=encoded.seen[w],
                input_index=None if encoded.ids[w] < 0 else int(encoded.ids[w]),
            )
        nodes.append(item)
    backward = [
        {
            "id": n,
            "dh": vec(res.dh[n]),
            "dh_norm": norm(res.dh[n]),
            "dh_head": vec(res.dh_head[n]),
            "dpre": vec(res.dpre[n]) if p.nodes[n].children else None,
        }
        for n in range(len(p.nodes))
    ]
    return {
        "model": entry.id,
        "kind": "tree",
        "hidden_size": model.config.hidden_size,
        "labels": labels,
        "text": p.request.text,
        "bracketed": bracketed(p.nodes),
        "default_tree": p.default_tree,
        "words": words,
        "unknown": encoded.unknown_steps,
        "normalize": entry.vocab.normalize,
        "nodes": nodes,
        "root": len(p.nodes) - 1,
        "target": label,
        "target_label": labels[label],
        "loss": res.loss,
        "backward": {
            "nodes": backward,
            "params": {k: norm(v) for k, v in res.params.items()},
            "global_norm": float(np.sqrt(sum(float(np.sum(g * g)) for g in res.params.values()))),
        },
    }
