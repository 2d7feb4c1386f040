"""Model files of every kind (engine/storage.py): seq2seq and tree files round-trip, the
existing (kind-less) files load as SequenceModel files unchanged."""

import io
import json
from pathlib import Path

import numpy as np
import pytest

from engine.model import SequenceModel
from engine.seq2seq import Seq2Seq
from engine.seq2seq_config import BOS, EOS, Seq2SeqConfig
from engine.storage import META_KEY, ModelFileError, load_model, save_model
from engine.tokenize import Vocabulary
from engine.tree import TreeConfig, TreeNet

DEMOS = Path(__file__).resolve().parents[2] / "server" / "demo_models"


def seq2seq():
    src = Vocabulary(list("abc"), level="char")
    tgt = Vocabulary([BOS, EOS, *"abc"], level="char")
    cfg = Seq2SeqConfig(
        cell="lstm",
        src_vocab_size=3,
        tgt_vocab_size=5,
        hidden_size=4,
        attention="general",
        input_encoding="embedding",
        embed_size=2,
        seed=3,
    )
    return Seq2Seq(cfg), src, tgt


def test_seq2seq_round_trip():
    model, src, tgt = seq2seq()
    buf = io.BytesIO()
    save_model(buf, model, src, task="reverse", description="d", target_vocab=tgt)
    loaded = load_model(buf.getvalue())
    assert loaded.kind == "seq2seq" and isinstance(loaded.model, Seq2Seq)
    assert loaded.model.config == model.config
    assert loaded.vocab == src and loaded.target_vocab == tgt
    for k, v in model.params.items():
        np.testing.assert_array_equal(loaded.model.params[k], v)
    # the cells read the loaded arrays
    a = model.forward([0, 1, 2], [2, 3]).loss
    assert loaded.model.forward([0, 1, 2], [2, 3]).loss == a


def test_seq2seq_needs_its_target_vocabulary():
    model, src, _ = seq2seq()
    with pytest.raises(ValueError, match="target vocabulary"):
        save_model(io.BytesIO(), model, src)


def test_tree_round_trip():
    model = TreeNet(TreeConfig(vocab_size=3, hidden_size=4, num_classes=2, seed=1))
    vocab = Vocabulary(["good", "not", "bad"], level="word")
    buf = io.BytesIO()
    save_model(buf, model, vocab, extra={"labels": ["negative", "positive"]})
    loaded = load_model(buf.getvalue())
    assert loaded.kind == "tree" and isinstance(loaded.model, TreeNet)
    assert loaded.metadata["labels"] == ["negative", "positive"]
    for k, v in model.params.items():
        np.testing.assert_array_equal(loaded.model.params[k], v)


@pytest.mark.parametrize("path", sorted(DEMOS.glob("*.npz")), ids=lambda p: p.stem)
def test_existing_files_load_as_sequence_models(path):
    loaded = load_model(path)
    if "kind" in loaded.metadata:
        assert loaded.kind in ("seq2seq", "tree")
        return
    assert loaded.kind == "sequence" and isinstance(loaded.model, SequenceModel)


def _rewrite(blob: bytes, change) -> bytes:
    with np.load(io.BytesIO(blob)) as npz:
        arrays = {k: npz[k] for k in npz.files}
    meta = json.loads(arrays[META_KEY].tobytes())
    change(meta)
    arrays[META_KEY] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    out = io.BytesIO()
    np.savez(out, **arrays)
    return out.getvalue()


def test_unknown_kind_and_missing_target_vocab_are_refused():
    model, src, tgt = seq2seq()
    buf = io.BytesIO()
    save_model(buf, model, src, target_vocab=tgt)
    with pytest.raises(ModelFileError, match="unknown model kind"):
        load_model(_rewrite(buf.getvalue(), lambda m: m.update(kind="graph")))
    with pytest.raises(ModelFileError, match="bad config"):
        load_model(_rewrite(buf.getvalue(), lambda m: m.pop("target_vocab")))
    # a seq2seq file relabelled as a sequence model does not validate either
    with pytest.raises(ModelFileError):
        load_model(_rewrite(buf.getvalue(), lambda m: m.pop("kind")))
